use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api as "prod_api" {
        main_api: 3000
    }
}

fn main() {}
