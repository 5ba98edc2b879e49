use zero_trust::zero_trust;

zero_trust! {
    cidr private = "10.0.0.0/8" except "fd00::/8";
}

fn main() {}
