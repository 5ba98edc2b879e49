use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api { main_api: 3000 }
    extenal namespace kube_system { kube_dns ["k8s-app" = "kube-dns"]: 53/udp }
}

fn main() {}
