use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api: 3000;
        auth_service: 8080
    }

    main_api ->
}

fn main() {}
