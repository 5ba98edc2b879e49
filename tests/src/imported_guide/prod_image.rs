//! Imported: namespace `prod-image`.
//! Written by `cargo xtask import`; review it as any change.
//! Assumed: every namespace carries the label `name` set to its own name, so a selector on `name` names one namespace (zero-trust selects it by `kubernetes.io/metadata.name`).
//! 1 rule(s) of the input could not be written; `cargo xtask import` lists them.

use zero_trust::zero_trust;

zero_trust! {
    namespace prod_image {
        image_service: 5000
    }
}
