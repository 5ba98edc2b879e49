use zero_trust::zero_trust;

mod auth {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace prod_auth { auth_service: 8080 }
    }
}

// The block's mistake is the only message: its `use` is not reported as unused.
zero_trust! {
    use crate::auth::auth_service;
    namespace prod_api { main_api: 3000 }
    main_api -> auth_service:8080;
    main_api -> main_api:70000;
}

fn main() {}
