//! The Kubernetes clusters a policy source is emitted for, declared once in the assembly
//! next to `PARTS`: each gets its own `k8s/<name>/`, assembled, proven and rolled out on its
//! own, and its scripts refuse every kube context not declared for it.

use std::collections::BTreeMap;

use crate::cluster::{Cluster, ClusterError};
use crate::model::{CidrBlock, Namespace, Policy, Workload};

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
    /// The kube contexts that may receive this cluster's policies; its `apply.sh` and
    /// `verify.sh` refuse any other before calling the cluster. A context belongs to one
    /// cluster.
    pub contexts: &'static [&'static str],
    /// The blocks only this cluster holds, beside the common `PARTS` (a mock of a partner
    /// API in staging, the partner's CIDR in prod).
    pub own_parts: &'static [&'static Policy],
}

/// `#[clusters(prod)]` on a declaration or flow of a block: in these clusters only.
#[derive(Debug, Clone, Copy)]
pub struct ClusterLimit {
    pub item: Limited,
    pub clusters: &'static [&'static str],
}

/// What a [`ClusterLimit`] limits.
#[derive(Debug, Clone, Copy)]
pub enum Limited {
    /// With its workloads.
    Namespace(&'static Namespace),
    Workload(&'static Workload),
    Cidr(&'static CidrBlock),
    /// The flow at this index of the block's `flows`.
    Flow(usize),
}

/// Whether `cluster` holds `item` of `part`: it is limited to clusters among which is this
/// one, or not limited at all. Without a declared cluster, everything is held. A workload
/// of a limited namespace is limited with it.
pub(crate) fn holds(part: &Policy, item: &Limited, cluster: Option<&str>) -> bool {
    let Some(cluster) = cluster else {
        return true;
    };
    let namespace_held = match item {
        Limited::Workload(workload) => {
            holds(part, &Limited::Namespace(workload.namespace), Some(cluster))
        }
        _ => true,
    };
    namespace_held
        && part
            .limits
            .iter()
            .filter(|limit| same_item(&limit.item, item))
            .all(|limit| limit.clusters.contains(&cluster))
}

/// By name, not address: a `const` named twice need not be one object in memory.
fn same_item(a: &Limited, b: &Limited) -> bool {
    match (a, b) {
        (Limited::Namespace(a), Limited::Namespace(b)) => a.name == b.name,
        (Limited::Workload(a), Limited::Workload(b)) => {
            (a.namespace.name, a.name) == (b.namespace.name, b.name)
        }
        (Limited::Cidr(a), Limited::Cidr(b)) => a.endpoint().key() == b.endpoint().key(),
        (Limited::Flow(a), Limited::Flow(b)) => a == b,
        _ => false,
    }
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
    let mut errors = unknown_cluster_names(parts, clusters);
    if clusters.is_empty() {
        if !errors.is_empty() {
            return Err(errors);
        }
        return Ok(vec![Cluster::assemble(parts)?.with_source(source)?]);
    }
    errors.extend(check_declarations(clusters));
    let mut assembled = Vec::new();
    let mut failed: Vec<(&'static str, Vec<ClusterError>)> = Vec::new();
    for target in clusters {
        let all_parts: Vec<&'static Policy> =
            parts.iter().chain(target.own_parts).copied().collect();
        match Cluster::assemble_for(&all_parts, Some(target.name))
            .and_then(|cluster| cluster.with_source(source))
        {
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

/// The cluster names a block's `clusters` line gives that the assembly does not declare
/// (so its `#[clusters(...)]` could never match, or would silently hold nothing).
fn unknown_cluster_names(
    parts: &[&'static Policy],
    clusters: &'static [ClusterTarget],
) -> Vec<ClusterError> {
    let own_parts = clusters.iter().flat_map(|c| c.own_parts.iter());
    let mut errors = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for part in parts.iter().chain(own_parts) {
        for &name in part.clusters {
            if !clusters.iter().any(|c| c.name == name) && seen.insert((part.file, name)) {
                errors.push(ClusterError::UnknownCluster {
                    name,
                    file: part.file,
                    declared: clusters.iter().map(|c| c.name).collect(),
                });
            }
        }
    }
    errors
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
