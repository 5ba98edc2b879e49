use zero_trust::zero_trust;

zero_trust! {
    namespace shop { web: 8080 }
    external namespaces payments ["team" = "payments"] {}
    external namespaces monitoring ["team" = "monitoring"] {}
    payments -> monitoring:8080;
}

fn main() {}
