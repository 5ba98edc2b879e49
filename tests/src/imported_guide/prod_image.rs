//! Imported: namespace `prod-image`.
//! Written by `cargo xtask import`; review it as any change.
//! Assumed: every namespace carries the label `name` set to its own name, so a selector on `name` names one namespace (zero-trust selects it by `kubernetes.io/metadata.name`).

use zero_trust::zero_trust;

zero_trust! {
    use super::shared::prod_storage;

    namespace prod_image {
        image_service: 5000
    }

    // from prod-image/allow-egress-to-minio (egress)
    /// image-service can access S3-compatible storage (MinIO) on port 9000.
    image_service -> prod_storage:9000;
}
