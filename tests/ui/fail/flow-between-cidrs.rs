use zero_trust::zero_trust;

zero_trust! {
    cidr office = "192.0.2.0/24";
    cidr public_internet = "0.0.0.0/0";

    office -> public_internet:443;
}

fn main() {}
