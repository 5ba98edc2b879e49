use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web ["tier" not ["batch"]]: 8080
    }
}

fn main() {}
