use zero_trust::zero_trust;

zero_trust! {
    namespace "prod-api" {
        main_api: 3000
    }
}

fn main() {}
