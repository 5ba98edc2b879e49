use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api ["/name" = "main-api"]: 3000
    }
}

fn main() {}
