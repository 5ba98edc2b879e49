//! Staging only: a canary of the web front end, and the mock of the payment partner that
//! checkout calls instead of the real one.

use zero_trust::zero_trust;

zero_trust! {
    use crate::common::{checkout, ingress_nginx};

    namespace shop_canary {
        web_canary: 8080
    }
    cidr partner_mock = "198.51.100.0/28";

    ingress_nginx -> web_canary:8080;
    web_canary -> checkout:3000;
    checkout -> partner_mock:8443;
}
