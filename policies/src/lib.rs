//! The cluster of the network-policy guide, one file per team: what reviewers read.
//!
//! Each file is a `zero_trust!` block; this file assembles them into the cluster that
//! `cargo xtask emit` writes to `k8s/`.

pub mod advanced;
pub mod api;
pub mod auth;
pub mod image;
pub mod platform;
pub mod storage;

use zero_trust::{Cluster, ClusterError, ClusterTarget, Policy};

/// Every block of the cluster. A flow that reaches a workload of a block missing here is
/// an error at `cargo xtask emit`.
pub const PARTS: &[&Policy] = &[
    &platform::POLICY,
    &api::POLICY,
    &auth::POLICY,
    &image::POLICY,
    &storage::POLICY,
    &advanced::POLICY,
];

/// The value of `zero-trust.dev/policy-source` on every object this repository writes:
/// `apply.sh` prunes only objects carrying it, so another repository's policies are safe.
pub const SOURCE: &str = "network-policy-guide";

/// The Kubernetes clusters these policies are emitted for, each to `k8s/<name>/`, in
/// rollout order. None: the guide's one cluster is emitted to `k8s/` itself (see
/// `examples/two-clusters/` for a staging and a prod that differ).
pub const CLUSTERS: &[ClusterTarget] = &[];

pub fn cluster() -> Result<Cluster, Vec<ClusterError>> {
    Cluster::assemble(PARTS)?.with_source(SOURCE)
}

/// What `cargo xtask emit` writes: one cluster per declared one, or the one of `PARTS`.
pub fn clusters() -> Result<Vec<Cluster>, Vec<ClusterError>> {
    zero_trust::assemble_clusters(PARTS, CLUSTERS, SOURCE)
}
