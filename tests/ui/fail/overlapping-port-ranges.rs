use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        node_ports: 30000..=31000, 30500..=32767
    }
}

fn main() {}
