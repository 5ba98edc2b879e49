use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        dns: 53/UDP
    }
}

fn main() {}
