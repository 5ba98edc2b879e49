//! The imported cluster: every block below, assembled. To emit it, add
//! `pub mod <this folder>;` to `policies/src/lib.rs` and use this `PARTS` there.
//! Written by `cargo xtask import`; review it as any change.

pub mod prod_api;
pub mod prod_auth;
pub mod prod_image;
pub mod shared;

/// Every block of the imported cluster.
pub const PARTS: &[&zero_trust::Policy] = &[
    &prod_api::POLICY,
    &prod_auth::POLICY,
    &prod_image::POLICY,
    &shared::POLICY,
];
