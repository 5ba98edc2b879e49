use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web ["tier" in ["web", "web"]]: 8080
    }
}

fn main() {}
