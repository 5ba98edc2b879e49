use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api: 80..=80
    }
}

fn main() {}
