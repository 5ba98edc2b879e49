use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api: 3000
    }
    namespace api as "prod-api" {
        worker: 9000
    }
}

fn main() {}
