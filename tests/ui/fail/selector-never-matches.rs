use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web ["app" = "web", "app" not in ["web", "api"]]: 8080
    }
}

fn main() {}
