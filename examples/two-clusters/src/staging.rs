//! Staging's own block: the mock of the payment partner that checkout calls there.

use zero_trust::zero_trust;

zero_trust! {
    use crate::common::checkout;

    cidr partner_mock = "198.51.100.0/28";

    checkout -> partner_mock:8443;
}
