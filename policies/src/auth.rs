//! prod-auth: auth-service, reached only by main-api; it initiates nothing but DNS.

use zero_trust::zero_trust;

zero_trust! {
    namespace prod_auth {
        auth_service: 8080
    }
}
