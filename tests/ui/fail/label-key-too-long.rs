use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api ["a-label-key-whose-name-part-is-far-too-long-for-kubernetes-to-take" = "x"]: 3000
    }
}

fn main() {}
