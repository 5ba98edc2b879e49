//! The shop as every cluster runs it.

use zero_trust::zero_trust;

zero_trust! {
    external namespace ingress_nginx {
        controller ["app.kubernetes.io/name" = "ingress-nginx"]
    }
    external namespace kube_system {
        kube_dns ["k8s-app" = "kube-dns"]: 53/udp, 53/tcp
    }
    namespace shop {
        web: 8080;
        checkout: 3000
    }

    ingress_nginx -> web:8080;
    web -> checkout:3000;
    * -> kube_dns:53/udp, 53/tcp;
}
