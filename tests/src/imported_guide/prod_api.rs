//! Imported: namespace `prod-api`.
//! Written by `cargo xtask import`; review it as any change.
//! Assumed: every namespace carries the label `name` set to its own name, so a selector on `name` names one namespace (zero-trust selects it by `kubernetes.io/metadata.name`).

use zero_trust::zero_trust;

zero_trust! {
    use super::prod_auth::auth_service;
    use super::prod_image::image_service;
    use super::shared::{ingress_nginx, internet};

    namespace prod_api {
        main_api: 3000
    }

    // from prod-api/allow-egress-to-auth-service (egress), prod-auth/allow-ingress-from-main-api (ingress)
    /// Only main-api pods can reach auth-service.
    /// main-api can call auth-service on port 8080.
    main_api -> auth_service:8080;

    // from prod-api/allow-egress-to-image-service (egress), prod-image/allow-ingress-from-main-api (ingress)
    /// Only main-api pods can reach image-service.
    /// main-api can call image-service on port 5000.
    main_api -> image_service:5000;

    // from prod-api/allow-external-apis (egress)
    main_api -> internet:80, 443;

    // from prod-api/allow-ingress-from-nginx (ingress)
    /// Only NGINX Ingress Controller can reach main-api on port 3000.
    ingress_nginx -> main_api:3000;
}
