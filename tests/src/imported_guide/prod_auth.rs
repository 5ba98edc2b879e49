//! Imported: namespace `prod-auth`.
//! Written by `cargo xtask import`; review it as any change.
//! Assumed: every namespace carries the label `name` set to its own name, so a selector on `name` names one namespace (zero-trust selects it by `kubernetes.io/metadata.name`).

use zero_trust::zero_trust;

zero_trust! {
    namespace prod_auth {
        auth_service: 8080
    }
}
