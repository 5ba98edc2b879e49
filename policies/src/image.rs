//! prod-image: image-service, which stores images in MinIO.

use zero_trust::zero_trust;

zero_trust! {
    use crate::storage::prod_storage;

    namespace prod_image {
        image_service: 5000
    }

    /// Any pod of prod-storage listening on 9000: MinIO's S3 API.
    image_service -> prod_storage:9000;
}
