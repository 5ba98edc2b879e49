//! Drift: what the live cluster's managed NetworkPolicies allow or deny otherwise than
//! `k8s/`, computed semantically by the diff of [`crate::diff`] (a reordered rule is no
//! drift; an `ingress: [{}]` patched into `default-deny-all` opens every source), plus the
//! managed policies that are missing from the cluster or extra in it.

use std::collections::BTreeSet;
use std::fmt;

use crate::diff::{FlowChange, FlowDiff, diff, topology_for};
use crate::eval::{Analysis, ClassId, Direction, LoadedPolicy, PortSet, Topology};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drift {
    /// Pods whose ingress the cluster opens to every source (every pod and address) on
    /// ports that `k8s/` does not: `(pod, ports)`. Those ports are left out of `flows`,
    /// which would list one line per source.
    pub opened_to_every_source: Vec<(String, PortSet)>,
    /// Likewise, pods whose egress the cluster opens to every destination.
    pub opened_to_every_destination: Vec<(String, PortSet)>,
    /// `added`: what the cluster allows and `k8s/` does not; `removed`: the reverse.
    pub flows: FlowDiff,
    /// Policies of `k8s/` that the cluster lacks: `namespace/name (file, document, line)`.
    pub missing: Vec<String>,
    /// Managed policies of the cluster that `k8s/` does not have.
    pub extra: Vec<String>,
}

impl Drift {
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
            && self.missing.is_empty()
            && self.extra.is_empty()
            && self.opened_to_every_source.is_empty()
            && self.opened_to_every_destination.is_empty()
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(
                f,
                "no drift: the cluster's managed policies allow exactly what k8s/ allows"
            );
        }
        for policy in &self.missing {
            writeln!(f, "missing: {policy} is in k8s/ but not in the cluster")?;
        }
        for policy in &self.extra {
            writeln!(
                f,
                "extra: {policy} is in the cluster (managed by zero-trust) but not in k8s/"
            )?;
        }
        for (pod, ports) in &self.opened_to_every_source {
            writeln!(f, "opened: every source -> {pod}: {ports}")?;
        }
        for (pod, ports) in &self.opened_to_every_destination {
            writeln!(f, "opened: {pod} -> every destination: {ports}")?;
        }
        for (word, changes) in [
            ("opened", &self.flows.added),
            ("closed", &self.flows.removed),
        ] {
            for change in changes {
                writeln!(
                    f,
                    "{word}: {} -> {}: {}",
                    change.source, change.destination, change.ports
                )?;
            }
        }
        for (pod, direction, now) in &self.flows.isolation {
            let what = if *now { "isolated" } else { "not isolated" };
            writeln!(
                f,
                "isolation: {pod} is {what} for {direction} in the cluster, unlike k8s/"
            )?;
        }
        writeln!(
            f,
            "run `k8s/apply.sh --context CONTEXT` to repair the cluster, or change policies/ and emit"
        )
    }
}

/// The drift of `live` (the cluster's managed policies) from `expected` (`k8s/`), over
/// `base` plus a pod for every selector either side uses.
pub fn drift(
    expected: &[LoadedPolicy],
    live: &[LoadedPolicy],
    base: Topology,
) -> Result<Drift, Vec<String>> {
    let names = |policies: &[LoadedPolicy]| -> BTreeSet<String> {
        policies.iter().map(LoadedPolicy::display_name).collect()
    };
    let (in_k8s, in_cluster) = (names(expected), names(live));
    let missing = expected
        .iter()
        .filter(|p| !in_cluster.contains(&p.display_name()))
        .map(|p| format!("{} ({})", p.display_name(), p.source))
        .collect();
    let extra = live
        .iter()
        .filter(|p| !in_k8s.contains(&p.display_name()))
        .map(LoadedPolicy::display_name)
        .collect();
    let topology = topology_for(base, &[expected, live]);
    let analyse = |policies: &[LoadedPolicy]| {
        Analysis::from_parts(policies, &topology)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())
    };
    let (before, now) = (analyse(expected)?, analyse(live)?);
    let mut flows = diff(&before, &now);
    let opened_to_every_source =
        summarize_opened_to_everyone(&before, &now, &mut flows, Direction::Ingress);
    let opened_to_every_destination =
        summarize_opened_to_everyone(&before, &now, &mut flows, Direction::Egress);
    Ok(Drift {
        opened_to_every_source,
        opened_to_every_destination,
        flows,
        missing,
        extra,
    })
}

/// For each pod with added flows: the ports its ingress (`Direction::Ingress`) allows
/// from every class, pods and addresses alike, or its egress allows to every class, in
/// `now` but not in `before`; those ports are taken out of `flows`.
fn summarize_opened_to_everyone(
    before: &Analysis,
    now: &Analysis,
    flows: &mut FlowDiff,
    direction: Direction,
) -> Vec<(String, PortSet)> {
    let every = |analysis: &Analysis, name: &str| {
        let classes = analysis.classes();
        let Some(pod) = classes.iter().position(|c| c.to_string() == name) else {
            return PortSet::empty();
        };
        let pod = pod as ClassId;
        (0..classes.len() as ClassId).fold(PortSet::all(), |ports, other| {
            let allowed = match direction {
                Direction::Ingress => analysis.verdict(other, pod).ingress.allowed(),
                Direction::Egress => analysis.verdict(pod, other).egress.allowed(),
            };
            ports.intersection(&allowed)
        })
    };
    let end = |change: &FlowChange| match direction {
        Direction::Ingress => change.destination.clone(),
        Direction::Egress => change.source.clone(),
    };
    let pods: BTreeSet<String> = flows.added.iter().map(end).collect();
    let mut opened = Vec::new();
    for name in pods {
        let ports = every(now, &name).difference(&every(before, &name));
        if ports.is_empty() {
            continue;
        }
        for change in flows.added.iter_mut().filter(|c| end(c) == name) {
            change.ports = change.ports.difference(&ports);
        }
        opened.push((name, ports));
    }
    flows.added.retain(|c| !c.ports.is_empty());
    opened
}
