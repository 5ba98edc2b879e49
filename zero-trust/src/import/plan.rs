//! From NetworkPolicies to flows: what the policies' rules say, as `from -> to:ports` lines
//! between workloads, namespaces and CIDRs, and the rules that cannot be said.
//!
//! A NetworkPolicy rule is one half of a flow: an ingress rule of a policy selecting pods P
//! with peer Q is the half "Q -> P" written at P, an egress rule the half "P -> Q" written
//! at P. The two halves of one connection become one flow; `zero_trust!` writes both halves
//! again, so where the input had only one the output allows more (the proof says where).
//!
//! Peers are read from the evaluator's compiled policies ([`CompiledPolicy`]), so each
//! Kubernetes rule (a `namespaceSelector` and a `podSelector` in one item are ANDed, an
//! absent `namespaceSelector` means the policy's own namespace, absent `ports` means every
//! port) is the evaluator's, written once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ipnet::IpNet;
use zero_trust_rules::{
    FIRST_PORT, LAST_PORT, NAMESPACE_NAME_LABEL, PortRange, Protocol, kubernetes_name_of,
};

use crate::eval::policy::{NamespaceScope, Peer, Peers, PortMatch, Ports, Rule};
use crate::eval::selector::Requirement;
use crate::eval::{CompiledPolicy, Direction, PortSet, Selector};
use crate::model::Operator;

/// How peers' namespace selectors are read.
#[derive(Clone, Debug, Default)]
pub struct Assumptions {
    /// A namespace label that holds the namespace's name (the guide's `name: prod-auth`):
    /// a selector on it alone names one namespace.
    pub namespace_label: Option<String>,
}

/// A pod selector as the DSL writes it: `"key" = "value"` labels, and the set-based
/// requirements (`in`, `not in`, exists, does not exist) beside them.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct PodSelector {
    pub labels: BTreeMap<String, String>,
    pub expressions: Vec<(String, Operator, Vec<String>)>,
}

/// One end of a flow, as the input's selectors define it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum End {
    /// The pods of `namespace` its selector (never empty) selects.
    Workload {
        namespace: String,
        selector: PodSelector,
    },
    /// Every pod of the namespace.
    Namespace(String),
    /// The addresses of `cidr` outside every `except`.
    Cidr { cidr: IpNet, except: Vec<IpNet> },
}

/// Connections `from -> to` on `ports`, gathered from every rule that speaks of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    pub from: End,
    pub to: End,
    /// Disjoint and not adjacent, sorted: one entry per range, as the DSL wants them.
    pub ports: Vec<PortRange>,
    /// Port names, resolved on the destination's pods: only towards pods the code does
    /// not manage (which the DSL allows and writes as names).
    pub port_names: BTreeSet<PortNameRef>,
    /// Which policies said it, and in which direction: `prod-api/allow-dns (egress)`.
    pub said_by: BTreeSet<String>,
    /// The reasons the policies give, kept for the flow's doc comment.
    pub reasons: BTreeSet<Reason>,
}

/// A container port name a rule allows (`dns` for UDP), and its DSL identifier.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortNameRef {
    pub name: String,
    pub ident: String,
    pub protocol: Protocol,
}

/// A rule, or part of one, that `zero_trust!` cannot express; it is left out of the code.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unsupported {
    /// `prod-api/allow-web`, `spec.ingress[0].from[1]`, and where it was read.
    pub policy: String,
    pub field: String,
    pub source: String,
    pub why: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.policy)?;
        if !self.source.is_empty() {
            write!(f, " ({})", self.source)?;
        }
        write!(f, ": {}: {}", self.field, self.why)
    }
}

/// Everything the input's policies say, as flows.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Namespaces that have a policy in the input: `zero_trust!` manages them.
    pub managed: BTreeSet<String>,
    /// Namespaces selected by labels (`external namespaces`): the key [`End`]s name them
    /// by ([`selected_key`]), and their selector.
    pub selected: BTreeMap<String, PodSelector>,
    pub flows: Vec<Flow>,
    pub unsupported: Vec<Unsupported>,
}

/// A compiled policy with where it was read and its annotations' reasons.
pub struct Input<'a> {
    pub policy: &'a CompiledPolicy,
    pub source: String,
    pub reasons: Vec<Reason>,
}

/// Why a policy, or one flow of it, exists: a `description` annotation speaks for the
/// whole policy; each line of zero-trust's own `zero-trust.dev/reasons` (`main_api ->
/// auth_service:8080: why`) for the flow between the two ends it names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reason {
    /// The identifiers of the flow's ends, as the annotation wrote them.
    pub between: Option<(String, String)>,
    pub text: String,
}

/// Reads every rule of every policy into flows.
pub fn plan(inputs: &[Input<'_>], assumptions: &Assumptions) -> Plan {
    let mut result = Plan {
        managed: inputs.iter().map(|i| i.policy.namespace.clone()).collect(),
        ..Plan::default()
    };
    let mut flows: BTreeMap<(End, End), Flow> = BTreeMap::new();
    for input in inputs {
        let policy = input.policy;
        let name = format!("{}/{}", policy.namespace, policy.name);
        let unsupported = |field: String, why: String| Unsupported {
            policy: name.clone(),
            field,
            source: input.source.clone(),
            why,
        };
        let subject = match pods_end(&policy.namespace, &policy.pod_selector) {
            Ok(subject) => subject,
            Err(why) => {
                result
                    .unsupported
                    .push(unsupported("spec.podSelector".to_owned(), why));
                continue;
            }
        };
        for direction in [Direction::Ingress, Direction::Egress] {
            if !policy.affects(direction) {
                continue;
            }
            for (index, rule) in policy.rules(direction).iter().enumerate() {
                let field = format!("spec.{direction}[{index}]");
                let (ports, port_names) = port_ranges(&rule.ports);
                let mut names = Vec::new();
                for name in port_names {
                    match name {
                        Ok(name) => names.push(name),
                        Err(why) => result
                            .unsupported
                            .push(unsupported(format!("{field}.ports"), why)),
                    }
                }
                if ports.is_empty() && names.is_empty() {
                    continue;
                }
                for (peer_field, peer) in peers(rule, direction, &field) {
                    let ends = peer.map(|p| {
                        peer_ends(&policy.namespace, p, assumptions, &mut result.selected)
                    });
                    let others = match ends {
                        Some(Ok(ends)) => ends,
                        Some(Err(why)) => {
                            result.unsupported.push(unsupported(peer_field, why));
                            continue;
                        }
                        None => everything(&mut result.selected),
                    };
                    for other in others {
                        let (from, to) = match direction {
                            Direction::Ingress => (other, subject.clone()),
                            Direction::Egress => (subject.clone(), other),
                        };
                        // A name is resolved on the destination's pods; the DSL leaves
                        // that to them only where it does not manage them.
                        let unmanaged_pods = match &to {
                            End::Workload { namespace, .. } | End::Namespace(namespace) => {
                                !result.managed.contains(namespace)
                            }
                            End::Cidr { .. } => false,
                        };
                        if !names.is_empty() && !unmanaged_pods {
                            let names: Vec<String> =
                                names.iter().map(|n| format!("`{}`", n.name)).collect();
                            result.unsupported.push(unsupported(
                                format!("{field}.ports"),
                                format!(
                                    "the port name(s) {} are resolved on pods the code manages, whose ports `zero_trust!` declares by number; write the numbers",
                                    names.join(", ")
                                ),
                            ));
                            if ports.is_empty() {
                                continue;
                            }
                        }
                        let flow = flows.entry((from.clone(), to.clone())).or_insert(Flow {
                            from,
                            to,
                            ports: Vec::new(),
                            port_names: BTreeSet::new(),
                            said_by: BTreeSet::new(),
                            reasons: BTreeSet::new(),
                        });
                        if unmanaged_pods {
                            flow.port_names.extend(names.iter().cloned());
                        }
                        flow.ports = merge(flow.ports.iter().chain(&ports).copied());
                        flow.said_by.insert(format!("{name} ({direction})"));
                        flow.reasons.extend(input.reasons.iter().cloned());
                    }
                }
            }
        }
    }
    result.flows = flows.into_values().collect();
    result.unsupported.sort();
    result
}

fn peer_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    }
}

/// The peers of a rule with their field paths; `None` for a rule that lists none.
fn peers<'r>(rule: &'r Rule, direction: Direction, field: &str) -> Vec<(String, Option<&'r Peer>)> {
    let word = peer_word(direction);
    match &rule.peers {
        Peers::All => vec![(format!("{field}.{word}"), None)],
        Peers::Listed(peers) => peers
            .iter()
            .enumerate()
            .map(|(i, peer)| (format!("{field}.{word}[{i}]"), Some(peer)))
            .collect(),
    }
}

/// The ends a peer stands for (one per namespace it names), or why it cannot be written.
fn peer_ends(
    policy_namespace: &str,
    peer: &Peer,
    assumptions: &Assumptions,
    selected: &mut BTreeMap<String, PodSelector>,
) -> Result<Vec<End>, String> {
    match peer {
        Peer::Block(block) => Ok(vec![End::Cidr {
            cidr: block.cidr,
            except: block.except.clone(),
        }]),
        Peer::Pods {
            namespaces: NamespaceScope::PolicyNamespace,
            pods,
        } => Ok(vec![pods_end(policy_namespace, pods)?]),
        Peer::Pods {
            namespaces: NamespaceScope::Selected(namespaces),
            pods,
        } => namespaces_of(namespaces, assumptions, selected)?
            .iter()
            .map(|namespace| pods_end(namespace, pods))
            .collect(),
    }
}

/// What a rule without peers matches: "all sources" (or destinations), that is every pod
/// of every namespace (`external namespaces [] {}`) and every address (`0.0.0.0/0` and
/// `::/0`; an ipBlock matches addresses outside the cluster, as the evaluator reads it).
fn everything(selected: &mut BTreeMap<String, PodSelector>) -> Vec<End> {
    let every_namespace = PodSelector::default();
    let key = selected_key(&every_namespace);
    selected.insert(key.clone(), every_namespace);
    // The default networks are `0.0.0.0/0` and `::/0`.
    let block = |cidr: IpNet| End::Cidr {
        cidr,
        except: Vec::new(),
    };
    vec![
        End::Namespace(key),
        block(IpNet::V4(Default::default())),
        block(IpNet::V6(Default::default())),
    ]
}

/// The key of namespaces selected by labels among the namespace names of [`End`]s: the
/// selector in brackets (`[team=payments]`, `[]` for every namespace), which no
/// namespace name can be.
pub fn selected_key(selector: &PodSelector) -> String {
    let mut parts: Vec<String> = selector
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for (key, operator, values) in &selector.expressions {
        let values = values.join(",");
        parts.push(match operator {
            Operator::In => format!("{key} in ({values})"),
            Operator::NotIn => format!("{key} notin ({values})"),
            Operator::Exists => key.clone(),
            Operator::DoesNotExist => format!("!{key}"),
        });
    }
    format!("[{}]", parts.join(","))
}

/// The namespaces a namespace selector stands for: those it names by
/// `kubernetes.io/metadata.name` (which the API server sets to the name on every
/// namespace) or by the assumed name label, with one value (`matchLabels`) or several
/// (`In`); else the namespaces its labels select, as one `external namespaces` (recorded
/// in `selected`), which is exactly what it says.
fn namespaces_of(
    selector: &Selector,
    assumptions: &Assumptions,
    selected: &mut BTreeMap<String, PodSelector>,
) -> Result<Vec<String>, String> {
    if let [Requirement::In { key, values }] = selector.requirements()
        && (key == NAMESPACE_NAME_LABEL || assumptions.namespace_label.as_ref() == Some(key))
    {
        return Ok(values.iter().cloned().collect());
    }
    if selector
        .requirements()
        .iter()
        .any(|r| matches!(r, Requirement::DoesNotExist { key } if key == NAMESPACE_NAME_LABEL))
    {
        return Err(format!(
            "`namespaceSelector` {selector} requires namespaces without `{NAMESPACE_NAME_LABEL}`, which the API server sets on every namespace, so it selects none; `zero_trust!` refuses such a selector"
        ));
    }
    let namespaces = dsl_selector(selector, "namespace")?;
    let key = selected_key(&namespaces);
    selected.insert(key.clone(), namespaces);
    Ok(vec![key])
}

/// A workload for a selector, the whole namespace for the empty selector.
fn pods_end(namespace: &str, selector: &Selector) -> Result<End, String> {
    if selector.selects_everything() {
        return Ok(End::Namespace(namespace.to_owned()));
    }
    Ok(End::Workload {
        namespace: namespace.to_owned(),
        selector: dsl_selector(selector, "pod")?,
    })
}

/// A selector as the DSL writes it. A key the selector constrains twice (`app: web` and
/// `app In (web, api)`) is refused, as the DSL refuses it.
fn dsl_selector(selector: &Selector, of: &str) -> Result<PodSelector, String> {
    let mut pods = PodSelector::default();
    let mut keys = BTreeSet::new();
    for requirement in selector.requirements() {
        let (key, expression) = match requirement {
            Requirement::In { key, values } if values.len() == 1 => {
                let value = values.iter().next().cloned().unwrap_or_default();
                pods.labels.insert(key.clone(), value);
                (key, None)
            }
            Requirement::In { key, values } => (key, Some((Operator::In, values))),
            Requirement::NotIn { key, values } => (key, Some((Operator::NotIn, values))),
            Requirement::Exists { key } => (key, Some((Operator::Exists, &BTreeSet::new()))),
            Requirement::DoesNotExist { key } => {
                (key, Some((Operator::DoesNotExist, &BTreeSet::new())))
            }
        };
        if !keys.insert(key.clone()) {
            return Err(format!(
                "the {of} selector {selector} constrains `{key}` twice, which `zero_trust!` refuses; write one requirement per key"
            ));
        }
        if let Some((operator, values)) = expression {
            pods.expressions
                .push((key.clone(), operator, values.iter().cloned().collect()));
        }
    }
    Ok(pods)
}

/// A rule's ports: the ranges, and the port names (each with its protocol and how the DSL
/// writes it, `dns_tcp` for `dns-tcp`), or why a name cannot be written.
fn port_ranges(ports: &Ports) -> (Vec<PortRange>, Vec<Result<PortNameRef, String>>) {
    let every = |protocol| PortRange {
        protocol,
        first: FIRST_PORT,
        last: LAST_PORT,
    };
    match ports {
        Ports::All => (Protocol::ALL.into_iter().map(every).collect(), Vec::new()),
        Ports::Listed(list) => {
            let mut ranges = Vec::new();
            let mut problems = Vec::new();
            for entry in list {
                match entry {
                    PortMatch::Numbers {
                        protocol,
                        first,
                        last,
                    } => ranges.push(PortRange {
                        protocol: *protocol,
                        first: *first,
                        last: *last,
                    }),
                    PortMatch::EveryPort { protocol } => ranges.push(every(*protocol)),
                    PortMatch::Named { protocol, name } => {
                        let ident = super::decls::identifier(name);
                        problems.push(match kubernetes_name_of(&ident) == *name {
                            true => Ok(PortNameRef {
                                name: name.clone(),
                                ident,
                                protocol: *protocol,
                            }),
                            false => Err(format!(
                                "the port name `{name}` has no DSL identifier that becomes it, so `zero_trust!` cannot write it"
                            )),
                        });
                    }
                }
            }
            (merge(ranges), problems)
        }
    }
}

/// Ranges merged where they overlap or touch, as a [`PortSet`] holds them: the DSL refuses
/// overlapping ports, and a flow's port must lie inside one declared range of its target.
pub fn merge(ranges: impl IntoIterator<Item = PortRange>) -> Vec<PortRange> {
    PortSet::from_ranges(ranges).ranges().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_where_they_overlap_or_touch_and_not_across_protocols() {
        let tcp = |first, last| PortRange {
            protocol: Protocol::Tcp,
            first,
            last,
        };
        let merged = merge([
            tcp(8080, 8080),
            tcp(8000, 8079),
            tcp(9000, 9100),
            PortRange::single(Protocol::Udp, 8080),
            tcp(9050, 9200),
        ]);
        assert_eq!(
            merged,
            vec![
                tcp(8000, 8080),
                tcp(9000, 9200),
                PortRange::single(Protocol::Udp, 8080)
            ]
        );
    }
}
