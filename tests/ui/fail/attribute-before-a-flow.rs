use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web: 8080;
        batch
    }

    #[allow(dead_code)]
    batch -> web:8080;
}

fn main() {}
