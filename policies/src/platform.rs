//! Shared platform pieces owned by the platform team: the ingress controller, cluster DNS,
//! and the internet (IPv4 and IPv6) without private ranges.

use zero_trust::zero_trust;

zero_trust! {
    external namespace ingress_nginx {
        controller ["app.kubernetes.io/name" = "ingress-nginx"]
    }
    external namespace kube_system {
        kube_dns ["k8s-app" = "kube-dns"]: 53/udp, 53/tcp
    }
    /// The internet of both families, without the private ranges.
    cidr public_internet = "0.0.0.0/0" except "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16";
        "::/0" except "fc00::/7";

    /// Every managed pod may resolve names.
    * -> kube_dns:53/udp, 53/tcp;
}
