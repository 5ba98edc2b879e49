use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api;
}

fn main() {}
