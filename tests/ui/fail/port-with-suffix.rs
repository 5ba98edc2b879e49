use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api: 3000u16
    }
}

fn main() {}
