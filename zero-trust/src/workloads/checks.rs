//! The checks of the policies against the pod templates of the real workloads, each a flat
//! rule with its message: what is wrong, where, and how to fix it.
//!
//! A selector that is valid but wrong (`"k8s-app" = "kube-dn"`) compiles and is proven,
//! and the pods it was meant for are denied in production: only the manifests know which
//! pods exist. Each rule below is one of the guide's troubleshooting causes.

use std::collections::BTreeMap;

use zero_trust_rules::{NAMESPACE_NAME_LABEL, PortRange};

use super::{Finding, Severity, Template, Workloads};
use crate::cluster::Cluster;
use crate::eval::policy::{NamespaceScope, Peer, Peers, PortMatch, Ports, compile};
use crate::eval::{Direction, LoadedPolicy, NamespaceInfo, PodInfo};
use crate::model::{Endpoint, Workload};

/// Where the pods were read from, which decides what an absent namespace means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Manifests: they may hold only some namespaces (one chart's output).
    Manifests,
    /// A live cluster (`kubectl get -A`): it lists every namespace and its labels.
    Cluster,
}

/// Every finding of every rule, errors first.
pub fn check(cluster: &Cluster, workloads: &Workloads, mode: Mode) -> Vec<Finding> {
    let mut findings = Vec::new();
    namespaces_exist(cluster, workloads, mode, &mut findings);
    selectors_match_templates(cluster, workloads, &mut findings);
    templates_are_selected(cluster, workloads, &mut findings);
    flow_ports_are_declared(cluster, workloads, &mut findings);
    no_other_policies(workloads, &mut findings);
    findings.sort_by_key(|f| f.severity);
    findings
}

fn error(findings: &mut Vec<Finding>, message: String) {
    findings.push(Finding {
        severity: Severity::Error,
        message,
    });
}

fn warning(findings: &mut Vec<Finding>, message: String) {
    findings.push(Finding {
        severity: Severity::Warning,
        message,
    });
}

/// Whether the workload's pod selector selects the template; its namespace is the
/// caller's to match ([`Workloads::templates_of`]).
fn selects(workload: &Workload, template: &Template) -> bool {
    workload.selects(|key| template.pod.labels.get(key).map(String::as_str))
}

/// The first [`LISTED`] of `items` joined with `separator`, then how many more: a namespace
/// of thousands of pods must not make a message of thousands of lines.
fn listed(items: &[String], separator: &str) -> String {
    let mut text = items[..items.len().min(LISTED)].join(separator);
    if items.len() > LISTED {
        text.push_str(&format!(" and {} more", items.len() - LISTED));
    }
    text
}

/// How many templates a message names.
const LISTED: usize = 10;

fn selector_text(workload: &Workload) -> String {
    let labels: Vec<String> = workload
        .selector
        .iter()
        .map(|l| format!("{}: {}", l.key, l.value))
        .collect();
    labels.join(", ")
}

/// Rule: every namespace of the policies exists (a warning: the policies written there
/// select nothing). In a live cluster, each must also carry `kubernetes.io/metadata.name`,
/// which the policies select namespaces by and which Kubernetes sets only from 1.21 on (an
/// error: every flow to or from the namespace would be denied).
fn namespaces_exist(
    cluster: &Cluster,
    workloads: &Workloads,
    mode: Mode,
    findings: &mut Vec<Finding>,
) {
    let inputs = &workloads.inputs;
    for (&name, namespace) in &cluster.namespaces {
        if namespace.selector.is_some() {
            if workloads.namespaces_of(namespace).is_empty() {
                let where_ = match mode {
                    Mode::Cluster => "the cluster",
                    Mode::Manifests => "the manifests",
                };
                warning(
                    findings,
                    format!(
                        "no namespace of {where_} matches {}, so its flows reach no pod yet; \
                         label the namespaces it stands for, or fix its selector in policies/",
                        namespace.describe()
                    ),
                );
            }
            continue;
        }
        let declared = inputs.namespace_sources.contains_key(name);
        let has_pods = workloads.templates_in(name).next().is_some();
        let exists = match mode {
            Mode::Cluster => declared,
            Mode::Manifests => declared || has_pods,
        };
        if !exists {
            let (where_, fix) = match mode {
                Mode::Cluster => (
                    "the cluster",
                    format!("create it (`kubectl create namespace {name}`) or fix its name in policies/"),
                ),
                Mode::Manifests => (
                    "the manifests",
                    "add its Namespace and workloads to the manifests, or fix its name in policies/"
                        .to_owned(),
                ),
            };
            warning(
                findings,
                format!(
                    "namespace `{name}` of the policies is not in {where_}, so no pod of it \
                     could be checked; {fix}"
                ),
            );
            continue;
        }
        let labels = inputs
            .topology
            .namespaces
            .iter()
            .find(|n| n.name == name)
            .map(|n| &n.labels);
        let labelled = labels.is_some_and(|l| l.get(NAMESPACE_NAME_LABEL).is_some());
        if mode == Mode::Cluster && !labelled {
            error(
                findings,
                format!(
                    "namespace `{name}` has no label `{NAMESPACE_NAME_LABEL}` (Kubernetes sets it \
                     from 1.21 on), which the policies select namespaces by: every flow to or \
                     from it would be denied; run `kubectl label namespace {name} \
                     {NAMESPACE_NAME_LABEL}={name}`"
                ),
            );
        }
    }
}

/// Rule: every workload's selector matches a pod template of its namespace (an error,
/// with the labels the pods there carry and the closest of them). A namespace with no
/// template at all is reported once by [`namespaces_exist`] or as not checked.
fn selectors_match_templates(
    cluster: &Cluster,
    workloads: &Workloads,
    findings: &mut Vec<Finding>,
) {
    let mut unchecked: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for workload in cluster.workloads.values() {
        let namespace = workload.namespace.name;
        let templates: Vec<Template> = workloads.templates_of(workload.namespace);
        if templates.is_empty() {
            unchecked.entry(namespace).or_default().push(workload.name);
            continue;
        }
        if templates.iter().any(|t| selects(workload, t)) {
            continue;
        }
        let carried: Vec<String> = templates
            .iter()
            .map(|t| {
                let labels: Vec<String> = t
                    .pod
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                format!("{} carries {}", t, labels.join(", "))
            })
            .collect();
        let suggestion = closest_labels(workload, &templates)
            .map(|labels| format!("; did you mean `{labels}`?"))
            .unwrap_or_default();
        error(
            findings,
            format!(
                "workload `{}` ({namespace}/{}) selects `{}`, which matches no pod template in \
                 {namespace}; there, {}; fix the selector where `{}` is declared in policies/, \
                 or the labels of the template{suggestion}",
                workload.ident,
                workload.name,
                selector_text(workload),
                listed(&carried, "; "),
                workload.ident,
            ),
        );
    }
    for (namespace, names) in unchecked {
        // An absent namespace has its own warning; one without pods gets this one.
        if workloads.inputs.namespace_sources.contains_key(namespace) {
            warning(
                findings,
                format!(
                    "namespace `{namespace}` has no pod template, so workloads {} could not be \
                     checked; add their manifests",
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
}

/// The template labels closest to the workload's selector: for the template that differs
/// least, its label nearest (by edit distance over `key: value`) to each selector label it
/// lacks. `None` when nothing is near enough to be a typo or a rename.
fn closest_labels(workload: &Workload, templates: &[Template]) -> Option<String> {
    let mut best: Option<(usize, Vec<String>)> = None;
    for template in templates {
        let mut total = 0;
        let mut replaced = Vec::new();
        for label in workload.selector {
            let wanted = format!("{}: {}", label.key, label.value);
            if template.pod.labels.get(label.key).map(String::as_str) == Some(label.value) {
                continue;
            }
            let nearest = template
                .pod
                .labels
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .map(|have| (strsim::levenshtein(&wanted, &have), have))
                .min();
            let Some((distance, have)) = nearest else {
                total = usize::MAX;
                break;
            };
            if distance > wanted.chars().count() / 2 {
                total = usize::MAX;
                break;
            }
            total += distance;
            replaced.push(have);
        }
        if total != usize::MAX && best.as_ref().is_none_or(|(d, _)| total < *d) {
            best = Some((total, replaced));
        }
    }
    best.map(|(_, labels)| labels.join(", "))
}

/// Rules: in a managed namespace, every template is selected by a workload (a warning: its
/// pods get only what the whole namespace gets), and by at most one (a warning: its pods
/// get the union of both workloads' flows).
fn templates_are_selected(cluster: &Cluster, workloads: &Workloads, findings: &mut Vec<Finding>) {
    let managed = cluster.managed_namespace_names();
    let mut by_namespace: BTreeMap<&str, Vec<&Workload>> = BTreeMap::new();
    for workload in cluster.workloads.values() {
        by_namespace
            .entry(workload.namespace.name)
            .or_default()
            .push(workload);
    }
    // Per managed namespace, in order: the templates no workload selects.
    let mut unselected: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for template in workloads.templates() {
        let namespace = template.pod.namespace.as_str();
        let selecting: Vec<&Workload> = by_namespace
            .get(namespace)
            .into_iter()
            .flatten()
            .copied()
            .filter(|w| selects(w, &template))
            .collect();
        match selecting.as_slice() {
            [] if managed.contains(namespace) => {
                unselected
                    .entry(namespace)
                    .or_default()
                    .push(template.to_string());
            }
            [] | [_] => {}
            [first, rest @ ..] => {
                let others: Vec<String> = rest.iter().map(|w| format!("`{}`", w.ident)).collect();
                warning(
                    findings,
                    format!(
                        "pod template {template} is selected by workloads `{}` and {}: its pods \
                         get the union of their flows; make the selectors tell them apart if \
                         that is not meant",
                        first.ident,
                        others.join(" and ")
                    ),
                );
            }
        }
    }
    for (namespace, templates) in unselected {
        let names = listed(&templates, ", ");
        let (subject, verb, their, each) = match templates.len() {
            1 => ("pod template", "is", "its", "it"),
            _ => ("pod templates", "are", "their", "each"),
        };
        warning(
            findings,
            format!(
                "{subject} {names} in managed namespace {namespace} {verb} selected by no \
                 workload: {their} pods get default deny and only the flows of the whole \
                 namespace; declare {each} in policies/ (by its labels) or remove it"
            ),
        );
    }
}

/// Rule: the manifests hold no NetworkPolicy of their own (a warning: policies are
/// additive, so one that a chart ships allows more than `k8s/`, outside the proof).
fn no_other_policies(workloads: &Workloads, findings: &mut Vec<Finding>) {
    for loaded in &workloads.inputs.policies {
        warning(
            findings,
            format!(
                "the manifests hold NetworkPolicy `{}` ({}): policies are additive, so it \
                 allows more than k8s/, and the proof does not cover it; write its flows in \
                 policies/ and remove it (for a Helm chart, usually `networkPolicy.enabled: \
                 false`)",
                loaded.display_name(),
                loaded.source
            ),
        );
    }
}

/// Rule: a flow's port is a `containerPort` of the pods it reaches (a warning, since
/// containerPorts are optional in Kubernetes: the traffic may still work). Checked once per
/// target and port. A flow on every port of a protocol (`any`, `any/udp`) names no port a
/// container could declare, so it is not checked.
fn flow_ports_are_declared(cluster: &Cluster, workloads: &Workloads, findings: &mut Vec<Finding>) {
    let mut seen = std::collections::BTreeSet::new();
    for flow in &cluster.flows {
        let ranges: Vec<&PortRange> = flow
            .ports
            .iter()
            .filter(|range| !range.is_every() && seen.insert((flow.to.key(), **range)))
            .collect();
        if ranges.is_empty() {
            continue;
        }
        let targets: Vec<Template> = match flow.to {
            Endpoint::Workload(w) => workloads
                .templates_of(w.namespace)
                .into_iter()
                .filter(|t| selects(w, t))
                .collect(),
            Endpoint::Namespace(n) => workloads.templates_of(n),
            Endpoint::Cidr(_) | Endpoint::AllManaged => continue,
        };
        if targets.is_empty() {
            continue;
        }
        for range in ranges {
            let declares = |t: &Template| {
                t.source.container_ports.iter().any(|&(protocol, port)| {
                    protocol == range.protocol && range.covers(&PortRange::single(protocol, port))
                })
            };
            if targets.iter().any(declares) {
                continue;
            }
            let declared: Vec<String> = targets
                .iter()
                .map(|t| {
                    let ports: Vec<String> = t
                        .source
                        .container_ports
                        .iter()
                        .map(|&(protocol, port)| PortRange::single(protocol, port).to_string())
                        .collect();
                    let ports = if ports.is_empty() {
                        "none".to_owned()
                    } else {
                        ports.join(", ")
                    };
                    format!("{} declares {ports}", t)
                })
                .collect();
            warning(
                findings,
                format!(
                    "flow `{flow}`: no container of the pods it reaches declares {range} \
                     (containerPort); {}; fix the port of the flow, or declare it in the \
                     manifest (containerPorts are optional, so the traffic may still work)",
                    listed(&declared, "; ")
                ),
            );
        }
    }
}

/// Rule: a named port of a NetworkPolicy is defined by a container of the pods it refers
/// to: for ingress the pods the policy selects, for egress the pods of its peers (an
/// error: a named port matches only on pods that define it, so the rule allows nothing
/// there). Policies the validator refuses are reported by the evaluator, not here.
pub fn named_ports_are_defined(policies: &[LoadedPolicy], workloads: &Workloads) -> Vec<Finding> {
    let mut findings = Vec::new();
    let namespace_labels = |name: &str| {
        let declared = workloads
            .inputs
            .topology
            .namespaces
            .iter()
            .find(|n| n.name == name);
        declared
            .cloned()
            .unwrap_or_else(|| NamespaceInfo::named(name))
            .effective_labels()
    };
    for loaded in policies {
        let Ok(policy) = compile(loaded) else {
            continue;
        };
        let in_scope = |scope: &NamespaceScope, pod: &PodInfo| match scope {
            NamespaceScope::PolicyNamespace => pod.namespace == policy.namespace,
            NamespaceScope::Selected(selector) => {
                selector.matches(&namespace_labels(&pod.namespace))
            }
        };
        for direction in [Direction::Ingress, Direction::Egress] {
            for (index, rule) in policy.rules(direction).iter().enumerate() {
                let Ports::Listed(ports) = &rule.ports else {
                    continue;
                };
                let pods: Vec<Template> = match direction {
                    Direction::Ingress => workloads
                        .templates_in(&policy.namespace)
                        .filter(|t| policy.pod_selector.matches(&t.pod.labels))
                        .collect(),
                    Direction::Egress => workloads
                        .templates()
                        .filter(|t| match &rule.peers {
                            Peers::All => true,
                            Peers::Listed(peers) => peers.iter().any(|peer| match peer {
                                Peer::Pods { namespaces, pods } => {
                                    in_scope(namespaces, t.pod) && pods.matches(&t.pod.labels)
                                }
                                Peer::Block(_) => false,
                            }),
                        })
                        .collect(),
                };
                // Pods the manifests do not hold cannot be checked.
                if pods.is_empty() {
                    continue;
                }
                for port in ports {
                    let PortMatch::Named { protocol, name } = port else {
                        continue;
                    };
                    let defines = |t: &Template| {
                        t.pod
                            .named_ports
                            .iter()
                            .any(|p| p.protocol == *protocol && p.name == *name)
                    };
                    if pods.iter().any(defines) {
                        continue;
                    }
                    let names: Vec<String> = pods.iter().map(ToString::to_string).collect();
                    error(
                        &mut findings,
                        format!(
                            "NetworkPolicy `{}` ({}) spec.{direction}[{index}] names port \
                             `{name}` ({}), which no container of the pods it reaches defines: {}; \
                             name the containerPort `{name}` in the manifest, or write the \
                             port's number",
                            loaded.display_name(),
                            loaded.source,
                            protocol.as_k8s(),
                            listed(&names, ", ")
                        ),
                    );
                }
            }
        }
    }
    findings
}
