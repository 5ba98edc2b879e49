use zero_trust::zero_trust;

zero_trust! {
    namespace shop { web: 8080 }
    external namespaces payments {}
    payments -> web:8080;
}

fn main() {}
