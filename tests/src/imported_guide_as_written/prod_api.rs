//! Imported: namespace `prod-api`.
//! Written by `cargo xtask import`; review it as any change.

use zero_trust::zero_trust;

zero_trust! {
    use super::shared::{ingress_nginx_namespaces, internet, prod_auth_namespaces_auth_service, prod_image_namespaces_image_service};

    namespace prod_api {
        main_api: 3000
    }

    // from prod-api/allow-egress-to-auth-service (egress)
    /// main-api can call auth-service on port 8080.
    main_api -> prod_auth_namespaces_auth_service:8080;

    // from prod-api/allow-egress-to-image-service (egress)
    /// main-api can call image-service on port 5000.
    main_api -> prod_image_namespaces_image_service:5000;

    // from prod-api/allow-external-apis (egress)
    main_api -> internet:80, 443;

    // from prod-api/allow-ingress-from-nginx (ingress)
    /// Only NGINX Ingress Controller can reach main-api on port 3000.
    ingress_nginx_namespaces -> main_api:3000;
}
