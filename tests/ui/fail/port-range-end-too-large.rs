use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        node_ports: 30000..=70000
    }
}

fn main() {}
