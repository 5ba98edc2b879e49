use zero_trust::zero_trust;

zero_trust! {
    cidr public_internet = "0.0.0.0/0" except "10.1.0.0/8";
}

fn main() {}
