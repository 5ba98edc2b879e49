use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api as "": 3000
    }
}

fn main() {}
