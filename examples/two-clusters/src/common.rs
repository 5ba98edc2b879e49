//! The shop, with what only one cluster has marked `#[clusters(...)]`: a canary of the web
//! front end in staging, the payment partner's API in prod.

use zero_trust::zero_trust;

zero_trust! {
    clusters staging, prod;

    external namespace ingress_nginx {
        controller ["app.kubernetes.io/name" = "ingress-nginx"]
    }
    external namespace kube_system {
        kube_dns ["k8s-app" = "kube-dns"]: 53/udp, 53/tcp
    }
    namespace shop {
        web: 8080;
        checkout: 3000;
        #[clusters(staging)] web_canary: 8080
    }
    #[clusters(prod)]
    cidr partner_api = "203.0.113.0/24";

    ingress_nginx -> web:8080;
    web -> checkout:3000;
    #[clusters(staging)] ingress_nginx -> web_canary:8080;
    #[clusters(staging)] web_canary -> checkout:3000;
    #[clusters(prod)] checkout -> partner_api:443;
    * -> kube_dns:53/udp, 53/tcp;
}
