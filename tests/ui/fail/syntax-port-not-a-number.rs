use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api: http
    }
}

fn main() {}
