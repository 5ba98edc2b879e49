//! Import: existing NetworkPolicies become `zero_trust!` code, with a proof of what the
//! translation changes.
//!
//! 1. [`plan`]: every rule of every policy, read by the evaluator's compiler, becomes one
//!    half of a flow; the halves of one connection become one flow. Rules the language
//!    cannot write are listed, never dropped silently.
//! 2. [`decls`]: the declarations a person would write for those flows: namespaces with
//!    policies are managed, the others external; a workload per pod selector, named after
//!    its labels; a CIDR per ipBlock; the same flow from every managed namespace as `*`.
//! 3. [`code`] writes them as Rust, [`cluster`] builds the same model the macro would, and
//!    [`proof`] evaluates the input and the model's emitted policies over one topology:
//!    every connection one allows and the other does not, with its cause.

pub mod cluster;
pub mod code;
pub mod decls;
pub mod plan;
pub mod proof;

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use crate::eval::policy::compile;
use crate::eval::{Analysis, Direction, Inputs, LoadedPolicy};

pub use plan::{Assumptions, Unsupported};
pub use proof::{Cause, Difference, IsolationChange};

/// The free-text annotation whose text becomes the reason of a policy's flows.
const DESCRIPTION_ANNOTATION: &str = "description";

/// The written code and the report of what it changes.
#[derive(Debug)]
pub struct Imported {
    /// File name → Rust text.
    pub files: BTreeMap<String, String>,
    /// What `cargo xtask emit` writes for that code (file name → text): what was proven.
    pub emitted: BTreeMap<String, String>,
    pub report: Report,
}

#[derive(Debug, Default)]
pub struct Report {
    pub assumptions: Vec<String>,
    /// Rules, or parts of them, the code leaves out.
    pub left_out: Vec<Unsupported>,
    /// Namespaces the policies reach that have no policy: imported as external.
    pub unmanaged: Vec<String>,
    /// Namespaces the policies select by labels: imported as `external namespaces`, with
    /// a hint where one label may hold the namespace's name.
    pub selected: Vec<SelectedNote>,
    pub differences: Vec<Difference>,
    pub isolation: Vec<IsolationChange>,
}

/// Namespaces the input selects by labels (`[team=payments]`), their identifier in the
/// code, and the label that may hold each namespace's name (a selector on one label).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectedNote {
    pub key: String,
    pub ident: String,
    pub name_label: Option<String>,
}

impl Report {
    /// Whether the code allows exactly what the input allowed.
    pub fn is_exact(&self) -> bool {
        self.left_out.is_empty() && self.differences.is_empty() && self.isolation.is_empty()
    }
}

/// Translates the policies of `inputs`; its namespaces and pods, if any, are the topology
/// of the proof.
pub fn import(inputs: &Inputs, assumptions: &Assumptions) -> Result<Imported, Vec<String>> {
    let mut compiled = Vec::new();
    let mut errors = Vec::new();
    for loaded in &inputs.policies {
        match compile(loaded) {
            Ok(policy) => compiled.push((policy, loaded)),
            Err(e) => errors.extend(e.iter().map(ToString::to_string)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let planned: Vec<plan::Input<'_>> = compiled
        .iter()
        .map(|(policy, loaded)| plan::Input {
            policy,
            source: loaded.source.to_string(),
            reasons: reasons(loaded),
        })
        .collect();
    let plan = plan::plan(&planned, assumptions);
    let decls = decls::Declarations::build(&plan, &listeners(inputs));
    let mut report = Report {
        left_out: plan.unsupported.clone(),
        ..Report::default()
    };
    report.left_out.extend(decls.dropped.iter().cloned());
    if let Some(label) = &assumptions.namespace_label {
        report.assumptions.push(format!(
            "every namespace carries the label `{label}` set to its own name, so a selector on `{label}` names one namespace (zero-trust selects it by `kubernetes.io/metadata.name`)"
        ));
    }
    report.unmanaged = decls
        .namespaces
        .iter()
        .filter(|n| !n.managed && n.selector.is_none())
        .map(|n| n.name.clone())
        .collect();
    report.selected = decls
        .namespaces
        .iter()
        .filter_map(|n| {
            let selector = n.selector.as_ref()?;
            let name_label = match (selector.labels.iter().next(), selector.expressions.len()) {
                (Some((key, _)), 0) if selector.labels.len() == 1 => Some(key.clone()),
                _ => None,
            };
            Some(SelectedNote {
                key: n.name.clone(),
                ident: n.ident.clone(),
                name_label,
            })
        })
        .collect();
    let preamble = preamble(&report);
    let files = code::render(&decls, &preamble);

    let cluster = cluster::cluster(&decls)
        .map_err(|e| e.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let emitted = crate::emit::emit(&cluster)
        .map_err(|e| vec![format!("cannot render the imported code's YAML: {e}")])?
        .files;
    // Read back from the text, as `verify` reads what `emit` wrote.
    let output = crate::diff::load_manifests("imported", &emitted)?;
    let topology = proof::topology(&inputs.topology, &inputs.policies, &output, assumptions);
    let analyse = |policies: &[LoadedPolicy]| {
        Analysis::from_parts(policies, &topology)
            .map_err(|e| e.iter().map(ToString::to_string).collect::<Vec<_>>())
    };
    (report.differences, report.isolation) =
        proof::differences(&analyse(&inputs.policies)?, &analyse(&output)?);
    Ok(Imported {
        files,
        emitted,
        report,
    })
}

/// Adds the namespaces and workloads of `workloads` (read from other files) to the
/// topology of `inputs`, each pod with where it was read and its container ports.
pub fn add_workloads(inputs: &mut Inputs, workloads: Inputs) {
    inputs
        .topology
        .namespaces
        .extend(workloads.topology.namespaces);
    inputs.topology.pods.extend(workloads.topology.pods);
    inputs.pod_sources.extend(workloads.pod_sources);
}

/// The workloads read with the policies, with the ports their containers declare; a
/// template's `app` label alone selects it when no other template of its namespace has
/// that value, as a person would write the selector.
fn listeners(inputs: &Inputs) -> Vec<decls::Listener> {
    let pods = &inputs.topology.pods;
    pods.iter()
        .zip(&inputs.pod_sources)
        .filter(|(pod, _)| !pod.labels.is_empty())
        .map(|(pod, source)| {
            let app = pod.labels.get("app").filter(|value| {
                pods.iter()
                    .filter(|other| {
                        other.namespace == pod.namespace && other.labels.get("app") == Some(value)
                    })
                    .count()
                    == 1
            });
            let labels = match app {
                Some(value) => [("app".to_owned(), value.clone())].into(),
                None => pod.labels.clone(),
            };
            decls::Listener {
                namespace: pod.namespace.clone(),
                labels,
                ports: plan::merge(
                    source.container_ports.iter().map(|(protocol, port)| {
                        zero_trust_rules::PortRange::single(*protocol, *port)
                    }),
                ),
            }
        })
        .collect()
}

/// The reasons a policy's annotations give.
fn reasons(loaded: &LoadedPolicy) -> Vec<plan::Reason> {
    let Some(annotations) = loaded.policy.metadata.annotations.as_ref() else {
        return Vec::new();
    };
    let mut reasons = Vec::new();
    if let Some(text) = annotations.get(DESCRIPTION_ANNOTATION) {
        reasons.push(plan::Reason {
            between: None,
            text: text.trim().to_owned(),
        });
    }
    for line in annotations
        .get(zero_trust_rules::REASONS_ANNOTATION)
        .into_iter()
        .flat_map(|text| text.lines())
    {
        // `from -> to:ports: why`; ports hold no ": ".
        let parsed = line.split_once(" -> ").and_then(|(from, rest)| {
            let (to, rest) = rest.split_once(':')?;
            let (_, why) = rest.split_once(": ")?;
            Some((from.trim(), to.trim(), why.trim()))
        });
        reasons.push(match parsed {
            Some((from, to, why)) => plan::Reason {
                between: Some((from.to_owned(), to.to_owned())),
                text: why.to_owned(),
            },
            None => plan::Reason {
                between: None,
                text: line.trim().to_owned(),
            },
        });
    }
    reasons.retain(|r| !r.text.is_empty());
    reasons
}

/// The opening lines of every file: what the import assumed and left out.
fn preamble(report: &Report) -> Vec<String> {
    let mut lines = vec!["Written by `cargo xtask import`; review it as any change.".to_owned()];
    for assumption in &report.assumptions {
        lines.push(format!("Assumed: {assumption}."));
    }
    if !report.left_out.is_empty() {
        lines.push(format!(
            "{} rule(s) of the input could not be written; `cargo xtask import` lists them.",
            report.left_out.len()
        ));
    }
    lines
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for assumption in &self.assumptions {
            writeln!(f, "assumed: {assumption}")?;
        }
        for namespace in &self.unmanaged {
            writeln!(
                f,
                "note: namespace `{namespace}` has no policy in the input, so it is imported as `external namespace` and its pods stay unisolated; to manage it, write `namespace` instead (it then gets a default deny, and the flows to it their ingress halves)"
            )?;
        }
        for selected in &self.selected {
            write!(
                f,
                "note: the namespaces `{}` are selected by labels, so they are imported as `external namespaces {}`: the code, like the input, writes nothing into them and selects them by those labels",
                selected.key, selected.ident
            )?;
            match &selected.name_label {
                Some(label) => writeln!(
                    f,
                    "; if every namespace carries `{label}` set to its own name, `--namespace-label {label}` imports them as the namespaces they name"
                )?,
                None => writeln!(f)?,
            }
        }
        for unsupported in &self.left_out {
            writeln!(f, "left out: {unsupported}")?;
        }
        for change in &self.isolation {
            let (what, verb) = match change.direction {
                Direction::Egress => ("connection it opens", "made"),
                Direction::Ingress => ("connection it receives", "received"),
            };
            if change.now {
                writeln!(
                    f,
                    "lost, because `{}` was not isolated for {} in the input and zero-trust gives every pod of a managed namespace a default deny: every {what} other than its flows, which it {verb} before",
                    change.pod, change.direction
                )?;
            } else {
                writeln!(
                    f,
                    "opened, because `{}` is no longer isolated for {}: every {what}",
                    change.pod, change.direction
                )?;
            }
        }
        let mut text = String::new();
        let mut last_cause = None;
        let (lost, opened): (Vec<&Difference>, Vec<&Difference>) =
            self.differences.iter().partition(|d| d.cause.is_lost());
        for (title, group) in [("lost", lost), ("opened", opened)] {
            for difference in group {
                if last_cause != Some(&difference.cause) {
                    let _ = writeln!(text, "{title}, because {}:", difference.cause.describe());
                    last_cause = Some(&difference.cause);
                }
                let change = &difference.change;
                let _ = writeln!(
                    text,
                    "  {} -> {}: {}",
                    change.source, change.destination, change.ports
                );
            }
        }
        f.write_str(&text)?;
        if self.is_exact() {
            writeln!(
                f,
                "no difference: the code allows exactly what the input allowed"
            )?;
        } else {
            writeln!(
                f,
                "{} connection(s) and the isolation of {} pod(s) differ; {} rule(s) are left out",
                self.differences.len(),
                self.isolation.len(),
                self.left_out.len()
            )?;
        }
        Ok(())
    }
}
