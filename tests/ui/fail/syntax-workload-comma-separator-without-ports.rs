use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api,
        auth_service: 8080
    }
}

fn main() {}
