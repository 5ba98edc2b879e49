use zero_trust::zero_trust;

mod other {
    use zero_trust::zero_trust;

    zero_trust! {
        namespace prod_auth {
            auth_service: 8080
        }
    }
}

zero_trust! {
    use crate::other::billing;

    namespace prod_api {
        main_api: 3000
    }

    main_api -> billing:8080;
}

fn main() {}
