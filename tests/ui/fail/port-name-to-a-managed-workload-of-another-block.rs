use zero_trust::zero_trust;

mod other {
    use zero_trust::zero_trust;

    zero_trust! {
        namespace prod_auth {
            auth_service: http = 8080
        }
    }
}

zero_trust! {
    namespace prod_api {
        main_api: 3000
    }

    main_api -> other::auth_service:http;
}

fn main() {}
