//! A shop with two clusters that differ where they must: prod calls the payment partner's
//! addresses, staging calls a mock of it and runs a canary of the web front end. What one
//! cluster alone has is marked `#[clusters(...)]` in `common.rs`, or is in that cluster's
//! own block (`staging.rs`).
//! `cargo xtask emit` writes `examples/two-clusters/k8s/staging/` and `.../prod/` from it.

pub mod common;
pub mod staging;

use zero_trust::{Cluster, ClusterError, ClusterTarget, Policy};

/// The blocks every cluster holds.
pub const PARTS: &[&Policy] = &[&common::POLICY];

/// The clusters, in rollout order: staging before prod. Each may be applied only through
/// the kube contexts listed here, and holds `PARTS` (but what `#[clusters(...)]` limits to
/// other clusters) and its own parts.
pub const CLUSTERS: &[ClusterTarget] = &[
    ClusterTarget {
        name: "staging",
        contexts: &["kind-staging"],
        own_parts: &[&staging::POLICY],
    },
    ClusterTarget {
        name: "prod",
        contexts: &["gke-prod-eu", "gke-prod-us"],
        own_parts: &[],
    },
];

/// The value of `zero-trust.dev/policy-source` on every object this source writes.
pub const SOURCE: &str = "two-clusters-example";

pub fn clusters() -> Result<Vec<Cluster>, Vec<ClusterError>> {
    zero_trust::assemble_clusters(PARTS, CLUSTERS, SOURCE)
}
