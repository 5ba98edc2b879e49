use zero_trust::zero_trust;

zero_trust! {
    namespace office {
        printer: 631
    }
    cidr office = "192.0.2.0/24";
}

fn main() {}
