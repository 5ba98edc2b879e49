use zero_trust::zero_trust;

zero_trust! {
    namespace shop { web: 8080 }
    namespaces payments ["team" = "payments"] {}
    payments -> web:8080;
}

fn main() {}
