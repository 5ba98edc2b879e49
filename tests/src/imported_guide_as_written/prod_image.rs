//! Imported: namespace `prod-image`.
//! Written by `cargo xtask import`; review it as any change.

use zero_trust::zero_trust;

zero_trust! {
    use super::shared::{prod_api_namespaces_main_api, prod_storage_namespaces};

    namespace prod_image {
        image_service: 5000
    }

    // from prod-image/allow-ingress-from-main-api (ingress)
    /// Only main-api pods can reach image-service.
    prod_api_namespaces_main_api -> image_service:5000;

    // from prod-image/allow-egress-to-minio (egress)
    /// image-service can access S3-compatible storage (MinIO) on port 9000.
    image_service -> prod_storage_namespaces:9000;
}
