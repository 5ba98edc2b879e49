use zero_trust::zero_trust;

mod platform {
    use zero_trust::zero_trust;

    zero_trust! {
        external namespace kube_system {
            kube_dns ["k8s-app" = "kube-dns"]: 53/udp
        }
    }
}

zero_trust! {
    cidr office = "192.0.2.0/24";

    office -> platform::kube_dns:53/udp;
}

fn main() {}
