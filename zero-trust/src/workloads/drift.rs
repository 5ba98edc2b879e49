//! Drift: what the live cluster's managed NetworkPolicies allow or deny otherwise than
//! `k8s/`, computed semantically by the diff of [`crate::diff`] (a reordered rule is no
//! drift; an `ingress: [{}]` patched into `default-deny-all` opens every source), plus the
//! managed policies that are missing from the cluster or extra in it.

use std::collections::BTreeSet;
use std::fmt;

use crate::diff::{FlowDiff, diff, topology_for};
use crate::eval::{Analysis, LoadedPolicy, Topology};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drift {
    /// `added`: what the cluster allows and `k8s/` does not; `removed`: the reverse.
    pub flows: FlowDiff,
    /// Policies of `k8s/` that the cluster lacks: `namespace/name (file, document, line)`.
    pub missing: Vec<String>,
    /// Managed policies of the cluster that `k8s/` does not have.
    pub extra: Vec<String>,
}

impl Drift {
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty() && self.missing.is_empty() && self.extra.is_empty()
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
    Ok(Drift {
        flows: diff(&analyse(expected)?, &analyse(live)?),
        missing,
        extra,
    })
}
