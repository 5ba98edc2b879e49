use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        node_ports: 32767..=30000
    }
}

fn main() {}
