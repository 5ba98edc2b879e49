use zero_trust::zero_trust;

zero_trust! {
    namespace shop { web }
    external namespace kube_system { kube_dns ["k8s-app" = "kube-dns"] }

    web -> kube_dns:dns_over_https_v2/udp;
}

fn main() {}
