use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web: http = 8080..=8090
    }
}

fn main() {}
