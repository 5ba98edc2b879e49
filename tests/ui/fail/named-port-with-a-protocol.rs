use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web: dns = 53/udp;
        lb
    }

    lb -> web:dns/udp;
}

fn main() {}
