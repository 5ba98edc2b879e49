//! What the translation changes: the input's policies and the imported code's emitted
//! policies evaluated over one topology, every connection one allows and the other does
//! not, each with its cause.
//!
//! The topology is the one given (namespaces and workloads read with the policies), plus
//! the namespaces the input names, plus a pod for every pod selector either side uses and
//! a namespace for every namespace selector that names none ([`crate::diff::topology_for`]),
//! so that what such a selector allowed is seen, and lost, rather than matching nothing.

use std::net::IpAddr;

use crate::diff::{FlowChange, diff, peers_of, topology_for};
use crate::eval::{Analysis, ClassId, Direction, LoadedPolicy, NamespaceInfo, Side, Topology};
use zero_trust_rules::NAMESPACE_NAME_LABEL;

use super::plan::Assumptions;

/// One connection the translation changes, and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    pub cause: Cause,
    pub change: FlowChange,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    /// Lost: the input left this pod unisolated in this direction; zero-trust isolates
    /// every pod of a managed namespace.
    NotIsolated { pod: String, direction: Direction },
    /// Lost: a rule that allowed it could not be written (listed with the unsupported).
    NotWritten,
    /// Opened: the input allowed it on one side only; the code writes both halves.
    OneHalf { missing: Direction, at: String },
}

impl Cause {
    pub fn is_lost(&self) -> bool {
        !matches!(self, Cause::OneHalf { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            Cause::NotIsolated { pod, direction } => format!(
                "`{pod}` was not isolated for {direction} in the input; zero-trust gives every pod of a managed namespace a default deny"
            ),
            Cause::NotWritten => {
                "a rule that allowed it cannot be written in `zero_trust!` (see \"left out\")"
                    .to_owned()
            }
            Cause::OneHalf { missing, at } => format!(
                "the input allowed it on one side only: no {missing} rule at `{at}` allowed it; a flow writes both halves"
            ),
        }
    }
}

/// The topology both sides are evaluated over: the namespaces the input names (by their
/// name label, or by the assumed one, each carrying the assumed label), then what
/// [`topology_for`] adds for the selectors of both sides.
pub fn topology(
    base: &Topology,
    input: &[LoadedPolicy],
    output: &[LoadedPolicy],
    assumptions: &Assumptions,
) -> Topology {
    let mut base = base.clone();
    add_named_namespaces(&mut base, input, assumptions);
    assume_namespace_label(&mut base, assumptions);
    let mut topology = topology_for(base, &[input, output]);
    assume_namespace_label(&mut topology, assumptions);
    topology
}

/// Every namespace carries the assumed name label, set to its name.
fn assume_namespace_label(topology: &mut Topology, assumptions: &Assumptions) {
    if let Some(label) = &assumptions.namespace_label {
        for namespace in &mut topology.namespaces {
            let name = namespace.name.clone();
            namespace.labels.entry(label.clone()).or_insert(name);
        }
    }
}

/// Every namespace a peer names by its name label or by the assumed one: a namespace of
/// its own, whether or not a pod selector came with it.
fn add_named_namespaces(
    topology: &mut Topology,
    input: &[LoadedPolicy],
    assumptions: &Assumptions,
) {
    for loaded in input {
        let Some(spec) = &loaded.policy.spec else {
            continue;
        };
        for peer in peers_of(spec) {
            let Some(labels) = peer
                .namespace_selector
                .as_ref()
                .and_then(|s| s.match_labels.as_ref())
            else {
                continue;
            };
            let named = labels.get(NAMESPACE_NAME_LABEL).or_else(|| {
                let key = assumptions.namespace_label.as_ref()?;
                labels.get(key)
            });
            if let Some(name) = named
                && !topology.namespaces.iter().any(|n| &n.name == name)
            {
                topology.namespaces.push(NamespaceInfo::named(name));
            }
        }
    }
}

/// A pod the two sides isolate differently in a direction; `now` says whether the output
/// isolates it. Every connection it makes (egress) or receives (ingress) that its flows
/// do not allow changes with it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IsolationChange {
    pub pod: String,
    pub direction: Direction,
    pub now: bool,
}

/// Every connection that `input` and `output` decide differently, with its cause, and
/// the pods whose isolation changes.
pub fn differences(input: &Analysis, output: &Analysis) -> (Vec<Difference>, Vec<IsolationChange>) {
    let changes = diff(input, output);
    let isolation = changes
        .isolation
        .iter()
        .map(|(pod, direction, now)| IsolationChange {
            pod: pod.clone(),
            direction: *direction,
            now: *now,
        })
        .collect();
    let mut differences = Vec::new();
    for change in changes.removed {
        let cause = lost_cause(input, output, &change);
        differences.push(Difference { cause, change });
    }
    for change in changes.added {
        let cause = opened_cause(input, &change);
        differences.push(Difference { cause, change });
    }
    differences.sort();
    (differences, isolation)
}

/// Lost: where the output denies it, the input's side was unisolated (default deny), or
/// allowed it by a rule the code could not write.
fn lost_cause(input: &Analysis, output: &Analysis, change: &FlowChange) -> Cause {
    let ends = |analysis| {
        Some((
            class_named(analysis, &change.source)?,
            class_named(analysis, &change.destination)?,
        ))
    };
    let (Some((input_source, input_destination)), Some((source, destination))) =
        (ends(input), ends(output))
    else {
        return Cause::NotWritten;
    };
    let was = input.verdict(input_source, input_destination);
    let is = output.verdict(source, destination);
    let denies = |side: &Side| side.allowed().intersection(&change.ports) != change.ports;
    if denies(&is.egress) && was.egress == Side::NotIsolated {
        return Cause::NotIsolated {
            pod: change.source.clone(),
            direction: Direction::Egress,
        };
    }
    if denies(&is.ingress) && was.ingress == Side::NotIsolated {
        return Cause::NotIsolated {
            pod: change.destination.clone(),
            direction: Direction::Ingress,
        };
    }
    Cause::NotWritten
}

fn opened_cause(input: &Analysis, change: &FlowChange) -> Cause {
    let (Some(source), Some(destination)) = (
        class_named(input, &change.source),
        class_named(input, &change.destination),
    ) else {
        return Cause::OneHalf {
            missing: Direction::Ingress,
            at: change.destination.clone(),
        };
    };
    let verdict = input.verdict(source, destination);
    let egress_allows = verdict.egress.allowed().intersection(&change.ports) == change.ports;
    if egress_allows {
        Cause::OneHalf {
            missing: Direction::Ingress,
            at: change.destination.clone(),
        }
    } else {
        Cause::OneHalf {
            missing: Direction::Egress,
            at: change.source.clone(),
        }
    }
}

/// The input's class of an end as the diff names it: a pod class by its name, an address
/// segment by its first address.
fn class_named(analysis: &Analysis, name: &str) -> Option<ClassId> {
    if let Some(id) = analysis
        .classes()
        .iter()
        .position(|c| !c.is_address() && c.to_string() == name)
    {
        return ClassId::try_from(id).ok();
    }
    let first = name.split([' ', '/']).next()?;
    let address: IpAddr = first.parse().ok()?;
    Some(analysis.class_of_address(address))
}
