use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web
    }
    // Declared with ports, so flows to it are checked like a managed workload's.
    external namespace kube_system {
        kube_dns ["k8s-app" = "kube-dns"]: 53/udp, 53/tcp
    }

    web -> kube_dns:5353/udp;
}

fn main() {}
