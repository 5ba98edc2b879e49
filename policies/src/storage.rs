//! prod-storage: MinIO, S3-compatible object storage.

use zero_trust::zero_trust;

zero_trust! {
    namespace prod_storage {
        minio: 9000
    }
}
