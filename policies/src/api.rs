//! prod-api: main-api, the entry point behind the ingress controller.

use zero_trust::zero_trust;

zero_trust! {
    use crate::auth::auth_service;
    use crate::platform::{ingress_nginx, public_internet};

    namespace prod_api {
        main_api: 3000
    }

    /// Any pod of the ingress-nginx namespace may reach the API.
    ingress_nginx -> main_api:3000;
    main_api -> auth_service:8080;
    main_api -> crate::image::image_service:5000;
    /// Third-party APIs over HTTPS and HTTP, but no private address.
    main_api -> public_internet:443, 80;
}
