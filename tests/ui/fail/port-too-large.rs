use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api: 65536
    }
}

fn main() {}
