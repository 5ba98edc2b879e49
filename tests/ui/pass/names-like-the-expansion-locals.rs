// Workloads named like the bindings and items inside the expansion: a `let` cannot
// shadow a const, so the expansion's own names must not be these.
use zero_trust::zero_trust;

zero_trust! {
    namespace rows {
        i: 1;
        from: 2;
        to: 3;
        ports: 4;
        flows: 5;
        ROWS as "rows-upper": 6;
        FLOWS as "flows-upper": 7
    }

    from -> to:3;
    i -> ports:4;
    flows -> ROWS:6;
    to -> FLOWS:7;
}

fn main() {
    assert_eq!(POLICY.flows.len(), 4);
    assert_eq!(POLICY.workloads.len(), 7);
}
