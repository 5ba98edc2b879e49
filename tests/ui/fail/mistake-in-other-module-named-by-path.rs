// A mistake in one block gives one error, not more in the blocks that name its items.
use zero_trust::zero_trust;

mod other {
    use zero_trust::zero_trust;

    zero_trust! {
        namespace prod_auth {
            auth_service: 0
        }
    }
}

zero_trust! {
    namespace prod_api {
        main_api: 3000
    }

    main_api -> other::auth_service:8080;
    other::auth_service -> main_api:3000;
}

fn main() {}
