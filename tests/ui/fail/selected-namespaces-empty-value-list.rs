use zero_trust::zero_trust;

zero_trust! {
    namespace shop { web: 8080 }
    external namespaces teams ["team" in []] {}
    teams -> web:8080;
}

fn main() {}
