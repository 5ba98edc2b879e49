use zero_trust::zero_trust;

zero_trust! {
    external namespace ingress_nginx {
        controller ["app.kubernetes.io/name" = "ingress-nginx"]
    }
    external namespace kube_system {
        kube_dns ["k8s-app" = "kube-dns"]: 53/udp
    }

    ingress_nginx -> kube_system:53/udp;
}

fn main() {}
