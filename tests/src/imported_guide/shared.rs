//! Imported: what several namespaces share: namespaces zero-trust does not manage, CIDRs, and flows from every managed namespace.
//! Written by `cargo xtask import`; review it as any change.
//! Assumed: every namespace carries the label `name` set to its own name, so a selector on `name` names one namespace (zero-trust selects it by `kubernetes.io/metadata.name`).

use zero_trust::zero_trust;

zero_trust! {
    external namespace ingress_nginx {}
    external namespace kube_system {
        kube_dns ["k8s-app" = "kube-dns"]: 53, 53/udp
    }
    external namespace prod_storage {}
    cidr internet = "0.0.0.0/0" except "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16";

    // from prod-api/allow-dns-egress (egress), prod-auth/allow-dns-egress (egress), prod-image/allow-dns-egress (egress)
    /// Required for service discovery and DNS resolution.
    * -> kube_dns:53, 53/udp;
}
