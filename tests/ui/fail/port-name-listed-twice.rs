use zero_trust::zero_trust;

zero_trust! {
    namespace shop { web }
    external namespace kube_system { kube_dns ["k8s-app" = "kube-dns"] }

    web -> kube_dns:dns/udp, dns/udp;
}

fn main() {}
