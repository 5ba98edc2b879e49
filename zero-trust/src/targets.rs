//! The Kubernetes clusters a policy source is emitted for, declared once in the assembly
//! next to `PARTS`: each gets its own `k8s/<name>/`, assembled, proven and rolled out on its
//! own, and its scripts refuse every kube context not declared for it.

use std::collections::BTreeMap;

use crate::cluster::{Cluster, ClusterError};
use crate::model::Policy;

/// One cluster of a source, as the assembly declares it:
///
/// ```ignore
/// pub const CLUSTERS: &[ClusterTarget] = &[
///     ClusterTarget { name: "staging", contexts: &["kind-staging"], own_parts: &[&canary::POLICY] },
///     ClusterTarget { name: "prod", contexts: &["gke-prod"], own_parts: &[&partner::POLICY] },
/// ];
/// ```
///
/// The order is the rollout order of `k8s/apply.sh`: staging before prod.
#[derive(Debug, Clone, Copy)]
pub struct ClusterTarget {
    /// The folder `k8s/<name>/` and the value of the `zero-trust.dev/cluster` label.
    pub name: &'static str,
    /// The kube contexts that may receive this cluster's policies; its `apply.sh` refuses
    /// any other before calling the cluster. A context belongs to one cluster.
    pub contexts: &'static [&'static str],
    /// The blocks only this cluster holds, beside the common `PARTS` (a mock of a partner
    /// API in staging, the partner's CIDR in prod).
    pub own_parts: &'static [&'static Policy],
}

/// The clusters of a source, in the declared order: one per declared cluster, each
/// assembled from `parts` and its own parts; with no cluster declared, the one cluster of
/// `parts` (emitted to `k8s/` itself). Every problem is reported at once; an error of every
/// cluster alike is reported once, without a cluster's name.
pub fn assemble_clusters(
    parts: &[&'static Policy],
    clusters: &'static [ClusterTarget],
    source: &'static str,
) -> Result<Vec<Cluster>, Vec<ClusterError>> {
    if clusters.is_empty() {
        return Ok(vec![Cluster::assemble(parts)?.with_source(source)?]);
    }
    let mut errors = check_declarations(clusters);
    let mut assembled = Vec::new();
    let mut failed: Vec<(&'static str, Vec<ClusterError>)> = Vec::new();
    for target in clusters {
        let all_parts: Vec<&'static Policy> =
            parts.iter().chain(target.own_parts).copied().collect();
        match Cluster::assemble(&all_parts).and_then(|cluster| cluster.with_source(source)) {
            Ok(cluster) => assembled.push(Cluster {
                target: Some(target),
                ..cluster
            }),
            Err(cluster_errors) => failed.push((target.name, cluster_errors)),
        }
    }
    errors.extend(by_cluster(&failed, clusters.len()));
    if errors.is_empty() {
        Ok(assembled)
    } else {
        Err(errors)
    }
}

/// Names valid as a folder and a label value, each cluster once, each with a context, and
/// each context in one cluster (so a context can never receive two clusters' policies).
fn check_declarations(clusters: &'static [ClusterTarget]) -> Vec<ClusterError> {
    let mut errors = Vec::new();
    let mut names = BTreeMap::new();
    let mut contexts: BTreeMap<&str, &str> = BTreeMap::new();
    for target in clusters {
        // A DNS-1123 label is a valid label value and a plain folder name (no `/`, `.`, `..`).
        if let Err(reason) = zero_trust_rules::check_dns1123_label(target.name) {
            errors.push(ClusterError::InvalidClusterName {
                name: target.name,
                reason,
            });
        }
        if names.insert(target.name, ()).is_some() {
            errors.push(ClusterError::ClusterTwice { name: target.name });
        }
        if target.contexts.is_empty() {
            errors.push(ClusterError::NoContexts {
                cluster: target.name,
            });
        }
        for &context in target.contexts {
            if let Some(first) = contexts.insert(context, target.name) {
                errors.push(ClusterError::ContextTwice {
                    context,
                    first,
                    second: target.name,
                });
            }
        }
    }
    errors
}

/// The assembly errors of the clusters that failed: once, as they are, where every one of
/// the `count` clusters has it; otherwise once per cluster, naming it.
fn by_cluster(failed: &[(&'static str, Vec<ClusterError>)], count: usize) -> Vec<ClusterError> {
    let mut errors = Vec::new();
    for (i, (cluster, cluster_errors)) in failed.iter().enumerate() {
        for error in cluster_errors {
            let everywhere =
                failed.len() == count && failed.iter().all(|(_, other)| other.contains(error));
            if !everywhere {
                errors.push(ClusterError::InCluster {
                    cluster,
                    error: Box::new(error.clone()),
                });
            } else if i == 0 {
                errors.push(error.clone());
            }
        }
    }
    errors
}
