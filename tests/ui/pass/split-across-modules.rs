// Blocks in several modules name each other's items by path, by `use` and by glob `use`.
use zero_trust::zero_trust;

mod platform {
    use zero_trust::zero_trust;

    zero_trust! {
        external namespace kube_system {
            kube_dns ["k8s-app" = "kube-dns"]: 53/udp, 53/tcp
        }
        cidr public_internet = "0.0.0.0/0" except "10.0.0.0/8";
    }
}

mod auth {
    use zero_trust::zero_trust;

    zero_trust! {
        namespace prod_auth {
            auth_service: 8080
        }
    }
}

mod storage {
    use zero_trust::zero_trust;

    zero_trust! {
        namespace prod_storage {
            minio: 9000
        }
    }
}

zero_trust! {
    use crate::auth::auth_service;
    use crate::platform::{kube_dns, public_internet as internet};
    use crate::storage::*;

    namespace prod_api {
        main_api: 3000
    }

    main_api -> auth_service:8080;
    main_api -> kube_dns:53/udp;
    main_api -> internet:443;
    main_api -> minio:9000;
    main_api -> prod_storage:9000;
    main_api -> crate::auth::prod_auth:8080;
    platform::kube_system -> main_api:3000;
}

fn main() {
    assert_eq!(POLICY.flows.len(), 7);
    assert_eq!(auth::POLICY.workloads.len(), 1);
}
