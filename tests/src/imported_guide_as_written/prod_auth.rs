//! Imported: namespace `prod-auth`.
//! Written by `cargo xtask import`; review it as any change.

use zero_trust::zero_trust;

zero_trust! {
    use super::shared::prod_api_namespaces_main_api;

    namespace prod_auth {
        auth_service: 8080
    }

    // from prod-auth/allow-ingress-from-main-api (ingress)
    /// Only main-api pods can reach auth-service.
    prod_api_namespaces_main_api -> auth_service:8080;
}
