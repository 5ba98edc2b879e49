//! Lowering a cluster to `networking.k8s.io/v1` NetworkPolicy objects.
//!
//! Every flow becomes a rule on each managed side: egress at the source, ingress at the
//! destination. Per managed namespace:
//! - `default-deny-all`: selects every pod, both policy types, no rules;
//! - `<workload>.ingress` / `<workload>.egress`: the workload's peers, one rule per flow;
//! - `all-pods.ingress` / `all-pods.egress`: flows to or from the whole namespace or `*`.
//!
//! A workload's own policy also carries the namespace-wide and `*` flows that reach its
//! pods, so it alone allows everything its pods may do in that direction. That is what
//! makes a gap-free rollout possible: any policy isolates the pods it selects, so the first
//! one a rollout applies to a pod must already allow all of the pod's flows
//! (see [`crate::rollout`]). A temporary allow-all policy could do that for a first rollout,
//! but not for an update that moves a flow between a workload and its whole namespace: the
//! copies make that safe in one rollout too (see the rollout tests).
//!
//! Names are stable (a flow changes the rules of one policy at each end) and say what they
//! hold, so `kubectl describe networkpolicy main-api.egress` answers "whom may it call?".

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use zero_trust_rules::{
    ALL_PODS, DEFAULT_DENY_ALL, MANAGED_BY_LABEL, MANAGED_BY_VALUE, NAMESPACE_NAME_LABEL,
    PortRange, REASONS_ANNOTATION,
};

use crate::cluster::Cluster;
use crate::model::{Endpoint, Flow, Namespace, PortName, Selector, every_port};

/// The policies of one managed namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespacePolicies {
    pub namespace: &'static str,
    /// Sorted by name.
    pub allow: Vec<NetworkPolicy>,
    pub default_deny: NetworkPolicy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    fn policy_type(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// Which pods of a namespace a policy selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    AllPods,
    Workload {
        name: &'static str,
        selector: Selector,
    },
}

/// A rule before lowering: the flow's other end and its ports, and the flow.
#[derive(Clone, Copy)]
struct PendingRule {
    peer: Endpoint,
    ports: &'static [PortRange],
    port_names: &'static [PortName],
    flow: Flow,
}

/// Lowers every flow of the cluster; the output is sorted and does not depend on the
/// order of flows or files.
pub fn lower_to_network_policies(cluster: &Cluster) -> Vec<NamespacePolicies> {
    let managed: Vec<&'static str> = cluster.managed_namespaces().map(|n| n.name).collect();
    let mut pending: BTreeMap<(&'static str, Target, Direction), Vec<PendingRule>> =
        BTreeMap::new();
    for flow in &cluster.flows {
        for (namespace, target) in targets(&flow.from, &managed) {
            let rule = PendingRule {
                peer: flow.to,
                ports: flow.ports,
                port_names: flow.port_names,
                flow: *flow,
            };
            pending
                .entry((namespace, target, Direction::Egress))
                .or_default()
                .push(rule);
        }
        for (namespace, target) in targets(&flow.to, &managed) {
            let rule = PendingRule {
                peer: flow.from,
                ports: flow.ports,
                port_names: flow.port_names,
                flow: *flow,
            };
            pending
                .entry((namespace, target, Direction::Ingress))
                .or_default()
                .push(rule);
        }
    }

    let namespace_wide: BTreeMap<(&'static str, Direction), Vec<PendingRule>> = pending
        .iter()
        .filter(|((_, target, _), _)| *target == Target::AllPods)
        .map(|((namespace, _, direction), rules)| ((*namespace, *direction), rules.clone()))
        .collect();
    let mut by_namespace: BTreeMap<&'static str, Vec<NetworkPolicy>> =
        managed.iter().map(|name| (*name, Vec::new())).collect();
    for ((namespace, target, direction), mut rules) in pending {
        if target != Target::AllPods
            && let Some(wide) = namespace_wide.get(&(namespace, direction))
        {
            rules.extend_from_slice(wide);
        }
        let reasons = reasons(&rules);
        rules.sort_by_key(|rule| (rule.peer.key(), rule.ports, rule.port_names));
        rules.dedup_by_key(|rule| (rule.peer.key(), rule.ports, rule.port_names));
        let mut policy = allow_policy(namespace, target, direction, &rules, &managed, cluster);
        if let Some(reasons) = reasons {
            policy.metadata.annotations = Some([(REASONS_ANNOTATION.to_owned(), reasons)].into());
        }
        by_namespace.entry(namespace).or_default().push(policy);
    }
    by_namespace
        .into_iter()
        .map(|(namespace, mut allow)| {
            allow.sort_by_key(rollout_rank);
            NamespacePolicies {
                namespace,
                allow,
                default_deny: default_deny_all(namespace, cluster),
            }
        })
        .collect()
}

/// The reasons of the flows a policy holds, one line each (`main_api -> auth_service:8080:
/// why`), sorted; `None` when no flow has one. Kept in an annotation, which
/// `kubectl describe networkpolicy` shows and which changes nothing the policy allows.
fn reasons(rules: &[PendingRule]) -> Option<String> {
    let mut lines: Vec<String> = rules
        .iter()
        .filter(|rule| !rule.flow.reason.is_empty())
        .map(|rule| format!("{}: {}", rule.flow, rule.flow.reason))
        .collect();
    lines.sort();
    lines.dedup();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The order a namespace's allow-policies are written and applied in: each workload's own
/// policies (complete for its pods) before `all-pods.*` (complete for the other pods), by
/// name within each group. `default-deny-all` comes after both, in its own file.
fn rollout_rank(policy: &NetworkPolicy) -> (bool, Option<String>) {
    let name = policy.metadata.name.clone();
    let namespace_wide = name
        .as_deref()
        .and_then(|n| n.split_once('.'))
        .is_some_and(|(target, _)| target == ALL_PODS);
    (namespace_wide, name)
}

/// The managed pods an end stands for, as (namespace, target) pairs.
fn targets(end: &Endpoint, managed: &[&'static str]) -> Vec<(&'static str, Target)> {
    match end {
        Endpoint::Workload(w) if w.namespace.managed => {
            vec![(
                w.namespace.name,
                Target::Workload {
                    name: w.name,
                    selector: w.pod_selector(),
                },
            )]
        }
        Endpoint::Namespace(n) if n.managed => vec![(n.name, Target::AllPods)],
        Endpoint::AllManaged => managed
            .iter()
            .map(|name| (*name, Target::AllPods))
            .collect(),
        Endpoint::Workload(_) | Endpoint::Namespace(_) | Endpoint::Cidr(_) => Vec::new(),
    }
}

fn allow_policy(
    namespace: &'static str,
    target: Target,
    direction: Direction,
    rules: &[PendingRule],
    managed: &[&'static str],
    cluster: &Cluster,
) -> NetworkPolicy {
    let (name, pod_selector) = match target {
        Target::AllPods => (ALL_PODS, LabelSelector::default()),
        Target::Workload { name, selector } => (name, label_selector(&selector)),
    };
    let peer_of = |rule: &PendingRule| peers(&rule.peer, managed);
    let mut spec = NetworkPolicySpec {
        pod_selector: Some(pod_selector),
        policy_types: Some(vec![direction.policy_type().to_owned()]),
        ..NetworkPolicySpec::default()
    };
    match direction {
        Direction::Ingress => {
            spec.ingress = Some(
                rules
                    .iter()
                    .map(|rule| NetworkPolicyIngressRule {
                        from: Some(peer_of(rule)),
                        ports: ports(rule.ports, rule.port_names),
                    })
                    .collect(),
            )
        }
        Direction::Egress => {
            spec.egress = Some(
                rules
                    .iter()
                    .map(|rule| NetworkPolicyEgressRule {
                        to: Some(peer_of(rule)),
                        ports: ports(rule.ports, rule.port_names),
                    })
                    .collect(),
            )
        }
    }
    NetworkPolicy {
        metadata: metadata(namespace, format!("{name}.{}", direction.suffix()), cluster),
        spec: Some(spec),
    }
}

/// `default-deny-all`: the empty pod selector selects every pod of the namespace, and
/// naming both policy types with no rules isolates them in both directions.
/// <https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-deny-all-ingress-and-all-egress-traffic>
fn default_deny_all(namespace: &'static str, cluster: &Cluster) -> NetworkPolicy {
    NetworkPolicy {
        metadata: metadata(namespace, DEFAULT_DENY_ALL.to_owned(), cluster),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
            ..NetworkPolicySpec::default()
        }),
    }
}

fn metadata(namespace: &str, name: String, cluster: &Cluster) -> ObjectMeta {
    let identity = cluster
        .identity_labels()
        .map(|(key, value)| (key.to_owned(), value.to_owned()));
    ObjectMeta {
        name: Some(name),
        namespace: Some(namespace.to_owned()),
        labels: Some(
            [(MANAGED_BY_LABEL.to_owned(), MANAGED_BY_VALUE.to_owned())]
                .into_iter()
                .chain(identity)
                .collect(),
        ),
        ..ObjectMeta::default()
    }
}

/// The peer that stands for the other end of a flow.
///
/// A namespace selector and a pod selector in one peer item are ANDed: the pods that match
/// the pod selector in the namespaces that match the namespace selector. Two items would be
/// ORed, so a workload is always one item.
/// <https://kubernetes.io/docs/concepts/services-networking/network-policies/#behavior-of-to-and-from-selectors>
///
/// A CIDR of several blocks is one `ipBlock` peer per block in the same rule: the peers of
/// a rule are ORed, so the rule allows any of the blocks.
fn peers(end: &Endpoint, managed: &[&'static str]) -> Vec<NetworkPolicyPeer> {
    let peer = match end {
        Endpoint::Workload(w) => NetworkPolicyPeer {
            namespace_selector: Some(namespace_selector(w.namespace)),
            pod_selector: Some(label_selector(&w.pod_selector())),
            ip_block: None,
        },
        Endpoint::Namespace(n) => NetworkPolicyPeer {
            namespace_selector: Some(namespace_selector(n)),
            ..NetworkPolicyPeer::default()
        },
        Endpoint::Cidr(c) => {
            return c
                .blocks
                .iter()
                .map(|block| NetworkPolicyPeer {
                    ip_block: Some(IPBlock {
                        cidr: block.cidr.to_owned(),
                        except: (!block.except.is_empty())
                            .then(|| block.except.iter().map(|e| (*e).to_owned()).collect()),
                    }),
                    ..NetworkPolicyPeer::default()
                })
                .collect();
        }
        Endpoint::AllManaged => NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: NAMESPACE_NAME_LABEL.to_owned(),
                    operator: "In".to_owned(),
                    values: Some(managed.iter().map(|n| (*n).to_owned()).collect()),
                }]),
                match_labels: None,
            }),
            ..NetworkPolicyPeer::default()
        },
    };
    vec![peer]
}

/// A namespace declared by name is selected by `kubernetes.io/metadata.name`, which
/// Kubernetes sets and keeps equal to the name, so no labelling step can be forgotten. One
/// declared by labels (`external namespaces`) is selected by them, and `[]` by `{}`, which
/// selects every namespace.
fn namespace_selector(namespace: &Namespace) -> LabelSelector {
    match &namespace.selector {
        None => match_labels([(NAMESPACE_NAME_LABEL, namespace.name)]),
        Some(selector) => label_selector(selector),
    }
}

/// A selector: `matchLabels` and `matchExpressions`, which Kubernetes ANDs; either is left
/// out when empty, so an empty one is `{}`. `values` is written only for `In` and `NotIn`,
/// as the API server requires ("must be non-empty" for those, "must be empty" for `Exists`
/// and `DoesNotExist`: `ValidateLabelSelectorRequirement`).
/// <https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/label-selector/>
fn label_selector(selector: &Selector) -> LabelSelector {
    let (labels, expressions) = (selector.labels, selector.expressions);
    let mut selector = match labels {
        [] => LabelSelector::default(),
        labels => match_labels(labels.iter().map(|l| (l.key, l.value))),
    };
    selector.match_expressions = (!expressions.is_empty()).then(|| {
        expressions
            .iter()
            .map(|e| LabelSelectorRequirement {
                key: e.key.to_owned(),
                operator: e.operator.as_k8s().to_owned(),
                values: (!e.values.is_empty())
                    .then(|| e.values.iter().map(|v| (*v).to_owned()).collect()),
            })
            .collect()
    });
    selector
}

fn match_labels<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> LabelSelector {
    LabelSelector {
        match_labels: Some(
            labels
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        ),
        match_expressions: None,
    }
}

/// Ports with an explicit protocol (TCP is the API's default, but explicit reads better);
/// a range is `port` with `endPort`. Sorted, so reordering a flow's ports changes nothing.
/// <https://kubernetes.io/docs/concepts/services-networking/network-policies/#targeting-a-range-of-ports>
///
/// `any/tcp` is a port with a protocol and no number, which "matches all port names and
/// numbers" of it; `any` leaves out `ports`, so that the rule "matches all ports"
/// (`NetworkPolicyPort.port` and `NetworkPolicyIngressRule.ports` in the API reference).
///
/// A port name is written as the name (`port: dns`), which the network plugin resolves
/// on each destination pod's container ports, after the numbers.
fn ports(ports: &[PortRange], names: &[PortName]) -> Option<Vec<NetworkPolicyPort>> {
    if every_port(ports) {
        return None;
    }
    let mut ports = ports.to_vec();
    ports.sort();
    let mut names = names.to_vec();
    names.sort();
    let numbers = ports.iter().map(|port| NetworkPolicyPort {
        protocol: Some(port.protocol.as_k8s().to_owned()),
        port: (!port.is_every()).then_some(IntOrString::Int(i32::from(port.first))),
        end_port: (!port.is_single() && !port.is_every()).then_some(i32::from(port.last)),
    });
    let names = names.iter().map(|name| NetworkPolicyPort {
        protocol: Some(name.protocol.as_k8s().to_owned()),
        port: Some(IntOrString::String(name.name.to_owned())),
        end_port: None,
    });
    Some(numbers.chain(names).collect())
}
