use zero_trust::zero_trust;

zero_trust! {}

fn main() {
    assert!(POLICY.flows.is_empty());
}
