use zero_trust::zero_trust;

zero_trust! {
    cidr office = 192.0.2.0/24;
}

fn main() {}
