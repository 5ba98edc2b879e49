use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        all_pods: 3000
    }
}

fn main() {}
