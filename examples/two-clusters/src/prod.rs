//! Prod only: checkout calls the payment partner's API.

use zero_trust::zero_trust;

zero_trust! {
    use crate::common::checkout;

    cidr partner_api = "203.0.113.0/24";

    checkout -> partner_api:443;
}
