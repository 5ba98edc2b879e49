use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api ["app" = "a-label-value-that-is-far-too-long-for-kubernetes-to-accept-it-x"]: 3000
    }
}

fn main() {}
