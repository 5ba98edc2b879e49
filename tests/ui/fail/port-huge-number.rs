use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api: 99999999999999999999999
    }
}

fn main() {}
