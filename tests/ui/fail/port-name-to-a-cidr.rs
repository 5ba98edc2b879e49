use zero_trust::zero_trust;

zero_trust! {
    namespace shop { web }
    cidr partner_net = "203.0.113.0/24";

    web -> partner_net:https;
}

fn main() {}
