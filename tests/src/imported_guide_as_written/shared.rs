//! Imported: what several namespaces share: namespaces zero-trust does not manage, CIDRs, and flows from every managed namespace.
//! Written by `cargo xtask import`; review it as any change.

use zero_trust::zero_trust;

zero_trust! {
    external namespaces ingress_nginx_namespaces ["name" = "ingress-nginx"] {}
    external namespaces prod_api_namespaces ["name" = "prod-api"] {
        prod_api_namespaces_main_api as "main-api"
    }
    external namespaces prod_auth_namespaces ["name" = "prod-auth"] {
        prod_auth_namespaces_auth_service as "auth-service": 8080
    }
    external namespaces prod_image_namespaces ["name" = "prod-image"] {
        prod_image_namespaces_image_service as "image-service": 5000
    }
    external namespaces prod_storage_namespaces ["name" = "prod-storage"] {}
    external namespace kube_system {
        kube_dns ["k8s-app" = "kube-dns"]: 53, 53/udp
    }
    cidr internet = "0.0.0.0/0" except "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16";

    // from prod-api/allow-dns-egress (egress), prod-auth/allow-dns-egress (egress), prod-image/allow-dns-egress (egress)
    /// Required for service discovery and DNS resolution.
    * -> kube_dns:53, 53/udp;
}
