//! Assembling a cluster from the `POLICY` of each `zero_trust!` block, and the checks
//! that only the whole can answer: names declared in two blocks, and flows that reach a
//! workload, namespace or CIDR that no block of the cluster declares.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use zero_trust_rules::{CLUSTER_LABEL, POLICY_SOURCE_LABEL};

use crate::model::{CidrBlock, Endpoint, EndpointKey, Flow, Namespace, Policy, Workload};
use crate::targets::{ClusterTarget, Limited, holds};

/// Every declaration and flow of a cluster, checked and in a deterministic order.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// By Kubernetes name.
    pub namespaces: BTreeMap<&'static str, &'static Namespace>,
    /// By (namespace, name).
    pub workloads: BTreeMap<(&'static str, &'static str), &'static Workload>,
    pub cidrs: Vec<&'static CidrBlock>,
    /// In the order of the parts and of their lines.
    pub flows: Vec<Flow>,
    /// Who wrote the objects: the value of `zero-trust.dev/policy-source` on each of them,
    /// which `apply.sh` prunes by. [`DEFAULT_SOURCE`] unless [`Cluster::with_source`] says.
    pub source: &'static str,
    /// The declared cluster this is the assembly for (`k8s/<name>/`), or `None` where the
    /// source declares no cluster and emits one `k8s/`.
    pub target: Option<&'static ClusterTarget>,
}

/// The policy source of a cluster that names none.
pub const DEFAULT_SOURCE: &str = "default";

/// What makes a set of parts no cluster; each says what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterError {
    DeclaredTwice {
        what: String,
        first: &'static str,
        second: &'static str,
    },
    NotInCluster {
        end: String,
        flow: String,
        file: &'static str,
    },
    FlowTwice {
        flow: String,
        first: &'static str,
        second: &'static str,
    },
    InvalidSource {
        source: &'static str,
        reason: String,
    },
    /// A problem of one declared cluster's assembly only.
    InCluster {
        cluster: &'static str,
        error: Box<ClusterError>,
    },
    InvalidClusterName {
        name: &'static str,
        reason: String,
    },
    ClusterTwice {
        name: &'static str,
    },
    NoContexts {
        cluster: &'static str,
    },
    ContextTwice {
        context: &'static str,
        first: &'static str,
        second: &'static str,
    },
    UnknownCluster {
        name: &'static str,
        file: &'static str,
        declared: Vec<&'static str>,
    },
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::DeclaredTwice {
                what,
                first,
                second,
            } => write!(
                f,
                "{what} is declared in both {first} and {second}; declare it in one block and name it by path from the other"
            ),
            ClusterError::NotInCluster { end, flow, file } => write!(
                f,
                "flow `{flow}` in {file} reaches {end}, which is not part of the cluster; add the block that declares it to the cluster's parts"
            ),
            ClusterError::FlowTwice {
                flow,
                first,
                second,
            } => write!(
                f,
                "flow `{flow}` is written in both {first} and {second}; keep one"
            ),
            ClusterError::InvalidSource { source, reason } => write!(
                f,
                "policy source `{source}` is not a valid label value ({reason}); name the source with letters, digits, `-`, `_` and `.`"
            ),
            ClusterError::InCluster { cluster, error } => {
                write!(f, "in cluster `{cluster}`: {error}")
            }
            ClusterError::InvalidClusterName { name, reason } => write!(
                f,
                "cluster name `{name}` cannot name a folder of k8s/ and label objects ({reason}); use lowercase letters, digits and `-`"
            ),
            ClusterError::ClusterTwice { name } => {
                write!(
                    f,
                    "cluster `{name}` is declared twice; declare each cluster once"
                )
            }
            ClusterError::NoContexts { cluster } => write!(
                f,
                "cluster `{cluster}` declares no kube context, so nothing could apply it; list the contexts that may receive it"
            ),
            ClusterError::ContextTwice {
                context,
                first,
                second,
            } => write!(
                f,
                "kube context `{context}` is declared for both cluster `{first}` and cluster `{second}`; a context reaches one cluster, so declare it for one"
            ),
            ClusterError::UnknownCluster {
                name,
                file,
                declared,
            } if declared.is_empty() => write!(
                f,
                "{file} names cluster `{name}`, but the assembly declares no cluster; declare the clusters next to PARTS, or take the `clusters` line and `#[clusters(...)]` out of the block"
            ),
            ClusterError::UnknownCluster {
                name,
                file,
                declared,
            } => write!(
                f,
                "{file} names cluster `{name}`, which the assembly does not declare; declared: {}",
                declared.join(", ")
            ),
        }
    }
}

impl std::error::Error for ClusterError {}

impl Cluster {
    /// Assembles the parts, reporting every problem at once.
    pub fn assemble(parts: &[&'static Policy]) -> Result<Cluster, Vec<ClusterError>> {
        Cluster::assemble_for(parts, None)
    }

    /// Assembles what the parts hold in the declared cluster `cluster`: every declaration
    /// and flow but those `#[clusters(...)]` limits to other clusters.
    pub(crate) fn assemble_for(
        parts: &[&'static Policy],
        cluster: Option<&str>,
    ) -> Result<Cluster, Vec<ClusterError>> {
        let mut errors = Vec::new();
        let mut namespaces = BTreeMap::new();
        let mut namespace_files: BTreeMap<&str, &'static str> = BTreeMap::new();
        let mut workloads = BTreeMap::new();
        let mut workload_files: BTreeMap<(&str, &str), &'static str> = BTreeMap::new();
        let mut cidrs = Vec::new();
        let mut cidr_files: BTreeMap<EndpointKey, &'static str> = BTreeMap::new();

        for part in parts {
            let holds = |item: Limited| holds(part, &item, cluster);
            for &namespace in part.namespaces {
                if !holds(Limited::Namespace(namespace)) {
                    continue;
                }
                match namespace_files.insert(namespace.name, part.file) {
                    Some(first) => errors.push(ClusterError::DeclaredTwice {
                        what: format!("namespace `{}`", namespace.name),
                        first,
                        second: part.file,
                    }),
                    None => {
                        namespaces.insert(namespace.name, namespace);
                    }
                }
            }
            for &workload in part.workloads {
                if !holds(Limited::Workload(workload)) {
                    continue;
                }
                let key = (workload.namespace.name, workload.name);
                match workload_files.insert(key, part.file) {
                    Some(first) => errors.push(ClusterError::DeclaredTwice {
                        what: format!("workload `{}/{}`", key.0, key.1),
                        first,
                        second: part.file,
                    }),
                    None => {
                        workloads.insert(key, workload);
                    }
                }
            }
            for &cidr in part.cidrs {
                if !holds(Limited::Cidr(cidr)) {
                    continue;
                }
                if cidr_files
                    .insert(cidr.endpoint().key(), part.file)
                    .is_none()
                {
                    cidrs.push(cidr);
                }
            }
        }

        let declared = |end: &Endpoint| match end {
            Endpoint::Workload(w) => workloads.contains_key(&(w.namespace.name, w.name)),
            Endpoint::Namespace(n) => namespaces.contains_key(n.name),
            Endpoint::Cidr(c) => cidr_files.contains_key(&c.endpoint().key()),
            Endpoint::AllManaged => true,
        };
        let mut flows = Vec::new();
        let mut flow_files: BTreeMap<(EndpointKey, EndpointKey), &'static str> = BTreeMap::new();
        for part in parts {
            for (index, flow) in part.flows.iter().enumerate() {
                if !holds(part, &Limited::Flow(index), cluster) {
                    continue;
                }
                let mut complete = true;
                for end in [&flow.from, &flow.to] {
                    if !declared(end) {
                        complete = false;
                        errors.push(ClusterError::NotInCluster {
                            end: describe(end),
                            flow: flow.to_string(),
                            file: part.file,
                        });
                    }
                }
                match flow_files.insert((flow.from.key(), flow.to.key()), part.file) {
                    Some(first) => errors.push(ClusterError::FlowTwice {
                        flow: flow.to_string(),
                        first,
                        second: part.file,
                    }),
                    None if complete => flows.push(*flow),
                    None => {}
                }
            }
        }

        if errors.is_empty() {
            Ok(Cluster {
                namespaces,
                workloads,
                cidrs,
                flows,
                source: DEFAULT_SOURCE,
                target: None,
            })
        } else {
            Err(errors)
        }
    }

    /// Names the policy source, so that its objects can be told from those of another
    /// repository using zero-trust on the same cluster.
    pub fn with_source(self, source: &'static str) -> Result<Cluster, Vec<ClusterError>> {
        match zero_trust_rules::check_label_value(source) {
            Ok(()) if !source.is_empty() => Ok(Cluster { source, ..self }),
            Ok(()) => Err(vec![ClusterError::InvalidSource {
                source,
                reason: "it is empty".to_owned(),
            }]),
            Err(reason) => Err(vec![ClusterError::InvalidSource { source, reason }]),
        }
    }

    /// The labels that tell this source's objects, and this cluster's, from any other's:
    /// what prune selects on beside `app.kubernetes.io/managed-by`.
    pub fn identity_labels(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        let cluster = self.target.map(|target| (CLUSTER_LABEL, target.name));
        std::iter::once((POLICY_SOURCE_LABEL, self.source)).chain(cluster)
    }

    pub fn managed_namespaces(&self) -> impl Iterator<Item = &'static Namespace> + '_ {
        self.namespaces.values().copied().filter(|n| n.managed)
    }

    /// Names of the managed namespaces, sorted: what `*` stands for.
    pub fn managed_namespace_names(&self) -> BTreeSet<&'static str> {
        self.managed_namespaces().map(|n| n.name).collect()
    }
}

fn describe(end: &Endpoint) -> String {
    match end {
        Endpoint::Workload(w) => {
            format!("workload `{}` (`{}/{}`)", w.ident, w.namespace.name, w.name)
        }
        Endpoint::Namespace(n) => format!("namespace `{}`", n.name),
        Endpoint::Cidr(c) => format!("cidr `{}` ({})", c.ident, c.describe()),
        Endpoint::AllManaged => "`*`".to_owned(),
    }
}
