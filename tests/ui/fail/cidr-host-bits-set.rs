use zero_trust::zero_trust;

zero_trust! {
    cidr office = "10.1.2.3/8";
}

fn main() {}
