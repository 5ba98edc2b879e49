use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web ["tier" in ["web", "api"], "tier" not in ["batch"]]: 8080
    }
}

fn main() {}
