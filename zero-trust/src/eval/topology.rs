//! What the evaluator is given: namespaces, pods (or one representative pod per workload)
//! and NetworkPolicies, each remembering the file it came from.

use std::fmt;
use std::path::PathBuf;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use zero_trust_rules::{NAMESPACE_NAME_LABEL, Protocol};

use super::selector::Labels;

/// Where an object was read: the file, the 0-based document of a multi-document stream,
/// the item of a `kind: List`, and the line its document starts on when known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provenance {
    pub file: PathBuf,
    pub document: usize,
    pub item: Option<usize>,
    pub line: Option<usize>,
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, document {}", self.file.display(), self.document + 1)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(item) = self.item {
            write!(f, ", item {item}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceInfo {
    pub name: String,
    /// As declared; [`NamespaceInfo::effective_labels`] adds the implied name label.
    pub labels: Labels,
}

impl NamespaceInfo {
    pub fn named(name: &str) -> NamespaceInfo {
        NamespaceInfo {
            name: name.to_owned(),
            labels: Labels::new(),
        }
    }

    /// The labels selectors see. The API server sets `kubernetes.io/metadata.name` to the
    /// name on every namespace, overriding any value written
    /// (<https://kubernetes.io/docs/concepts/services-networking/network-policies/#targeting-a-namespace-by-its-name>).
    pub fn effective_labels(&self) -> Labels {
        let mut labels = self.labels.clone();
        labels.insert(NAMESPACE_NAME_LABEL.to_owned(), self.name.clone());
        labels
    }
}

/// A container port with a name, which a NetworkPolicy port may name instead of a number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NamedPort {
    pub name: String,
    pub protocol: Protocol,
    pub port: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    /// `Pod`, or the workload kind (`Deployment`, `StatefulSet`, `DaemonSet`) whose pod
    /// template this pod stands for.
    pub kind: String,
    pub labels: Labels,
    pub named_ports: Vec<NamedPort>,
}

impl PodInfo {
    pub fn new(namespace: &str, name: &str, labels: &[(&str, &str)]) -> PodInfo {
        PodInfo {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            kind: "Pod".to_owned(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            named_ports: Vec::new(),
        }
    }

    pub fn with_port(mut self, name: &str, protocol: Protocol, port: u16) -> PodInfo {
        self.named_ports.push(NamedPort {
            name: name.to_owned(),
            protocol,
            port,
        });
        self
    }

    /// `prod/api` for a pod, `prod/deployment/api` for a workload's representative pod.
    pub fn display_name(&self) -> String {
        if self.kind == "Pod" {
            format!("{}/{}", self.namespace, self.name)
        } else {
            format!(
                "{}/{}/{}",
                self.namespace,
                self.kind.to_ascii_lowercase(),
                self.name
            )
        }
    }
}

/// The cluster the policies are evaluated against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topology {
    pub namespaces: Vec<NamespaceInfo>,
    pub pods: Vec<PodInfo>,
}

/// A NetworkPolicy and where it was read.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedPolicy {
    pub policy: NetworkPolicy,
    pub source: Provenance,
}

impl LoadedPolicy {
    /// `namespace/name`, the namespace defaulting as `kubectl apply` does.
    pub fn display_name(&self) -> String {
        format!(
            "{}/{}",
            policy_namespace(&self.policy),
            self.policy.metadata.name.as_deref().unwrap_or("")
        )
    }
}

/// A policy without `metadata.namespace` lands in `default` when applied without `-n`.
pub fn policy_namespace(policy: &NetworkPolicy) -> &str {
    policy.metadata.namespace.as_deref().unwrap_or("default")
}

/// What the readers know of a topology pod beyond what selectors see: where it was read,
/// every port its containers declare, and the object that controls it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodSource {
    pub source: Provenance,
    /// Every `containerPort` of its containers (named or not), protocol defaulted to TCP.
    pub container_ports: Vec<(Protocol, u16)>,
    /// `kind/name` of its controlling owner (`ownerReferences` with `controller: true`),
    /// e.g. the ReplicaSet of a Deployment's pod.
    pub controller: Option<(String, String)>,
}

/// How many skipped objects [`Inputs::skipped`] lists.
pub const SKIPPED_LISTED: usize = 1000;

/// An object of a kind that carries neither pods nor policies (Service, ConfigMap, ...):
/// skipped, but remembered so `--verbose` can list it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub kind: String,
    pub name: String,
    pub source: Provenance,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}` ({})", self.kind, self.name, self.source)
    }
}

/// Everything loaded from files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inputs {
    pub policies: Vec<LoadedPolicy>,
    pub topology: Topology,
    /// Per pod of `topology.pods`, same index: where it came from.
    pub pod_sources: Vec<PodSource>,
    /// The `Namespace` objects read, by name: a namespace the topology holds only because
    /// a pod or policy lives there has no entry.
    pub namespace_sources: std::collections::BTreeMap<String, Provenance>,
    /// The first [`SKIPPED_LISTED`] of them: a stream of a million ConfigMaps must not
    /// cost a record each.
    pub skipped: Vec<Skipped>,
    /// How many objects were skipped in all.
    pub skipped_count: usize,
    /// `(namespace, name)` of each policy read -> its index in `policies`: two policies
    /// with one name are an error, found without a scan per policy.
    pub(crate) policy_index: std::collections::HashMap<(String, String), usize>,
    /// `(kind, namespace, name)` of each pod read: likewise for pods, which a live cluster
    /// lists by the ten thousand.
    pub(crate) pod_index: std::collections::HashSet<(String, String, String)>,
}
