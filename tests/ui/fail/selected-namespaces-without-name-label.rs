use zero_trust::zero_trust;

zero_trust! {
    namespace shop { web: 8080 }
    external namespaces nowhere [!"kubernetes.io/metadata.name"] {}
    nowhere -> web:8080;
}

fn main() {}
