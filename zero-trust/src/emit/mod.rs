//! Emission of `k8s/`: the manifests, in apply order, and the apply script.
//!
//! Everything is rendered in memory first; writing it to disk (atomically) is the
//! caller's job, so an error can never leave `k8s/` half-written.

pub mod apply_script;
pub mod clusters;
pub mod flows_md;
pub mod shell;
pub mod verify_script;

use std::collections::BTreeMap;
use std::ops::Range;

use crate::cluster::Cluster;
use crate::eval::{LoadedPolicy, Provenance};
use crate::lower::{NamespacePolicies, lower_to_network_policies};
use crate::yaml::{YamlError, to_yaml};
use apply_script::{ApplyPlan, ApplyStep, render_apply_script};

/// The first comment line of every file `cargo xtask emit` writes (after `# ` in a script
/// or YAML file, inside `<!-- -->` in FLOWS.md): how [`is_generated`] knows its own files.
pub const GENERATED_HEADER: &str =
    "Written by `cargo xtask emit` from policies/; do not edit by hand.";

pub const APPLY_SCRIPT: &str = "apply.sh";
/// Probes a live cluster against the declared flows; `apply.sh --verify` runs it.
pub const VERIFY_SCRIPT: &str = "verify.sh";
/// The allowed flows for reviewers: an index of the managed namespaces, whose pages are
/// [`flows_md::page_file`] next to it.
pub const FLOWS_MD: &str = "FLOWS.md";
/// Applied last, after every allow-policy, so a rollout never denies what it will allow.
pub const DEFAULT_DENY_FILE: &str = "20-default-deny.yaml";

/// The files of `k8s/`, by name, and what they hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    pub files: BTreeMap<String, String>,
    /// The rollout `apply.sh` performs: every policy, in the order it writes them.
    pub plan: ApplyPlan,
    pub summary: Summary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub managed_namespaces: usize,
    pub policies: usize,
    pub flows: usize,
}

/// The first line of every file zero-trust writes: how it tells its own files from others.
pub fn header_line() -> String {
    format!("# {GENERATED_HEADER}")
}

/// Whether `text` is a file that `cargo xtask emit` wrote (and may replace or remove):
/// its header is on one of the first two lines (after a shebang, or inside `<!-- -->`).
pub fn is_generated(text: &str) -> bool {
    text.lines()
        .take(2)
        .any(|line| line.contains(GENERATED_HEADER))
}

pub fn emit(cluster: &Cluster) -> Result<Emitted, YamlError> {
    let lowered = lower_to_network_policies(cluster);
    let managed_namespaces = lowered.len();
    // Each policy once, wrapped as the evaluator reads it, so that the YAML and the probe
    // plan of verify.sh (the two largest pieces) can share it while they run side by side.
    let mut policies: Vec<LoadedPolicy> = Vec::new();
    let mut namespaces = Vec::new();
    for NamespacePolicies {
        namespace,
        allow,
        default_deny,
    } in lowered
    {
        let first = policies.len();
        policies.extend(allow.into_iter().map(|policy| LoadedPolicy {
            policy,
            source: Provenance::default(),
        }));
        let allow = first..policies.len();
        policies.push(LoadedPolicy {
            policy: default_deny,
            source: Provenance::default(),
        });
        namespaces.push(EmittedNamespace {
            namespace,
            allow,
            default_deny: policies.len() - 1,
        });
    }
    let (manifests, verify_script) = std::thread::scope(|scope| {
        let verify_script =
            scope.spawn(|| verify_script::render_verify_script_for(cluster, &policies));
        let manifests = render_manifests(&namespaces, &policies);
        let verify_script = verify_script
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (manifests, verify_script)
    });
    let (mut files, mut plan) = manifests?;
    plan.source = cluster.source.to_owned();
    plan.cluster = shell::ClusterScope::of(cluster);
    files.insert(APPLY_SCRIPT.to_owned(), render_apply_script(&plan));
    files.extend(flows_md::render_flows_md(cluster));
    files.insert(VERIFY_SCRIPT.to_owned(), verify_script);
    let summary = Summary {
        managed_namespaces,
        policies: plan.steps.len(),
        flows: cluster.flows.len(),
    };
    Ok(Emitted {
        files,
        plan,
        summary,
    })
}

/// Where a managed namespace's policies are in the emitted list.
struct EmittedNamespace {
    namespace: &'static str,
    allow: Range<usize>,
    default_deny: usize,
}

/// The manifests, by file name, and the rollout of them: each namespace's allow-policies
/// in the order the lowering gives (workloads, then `all-pods.*`), then every
/// `default-deny-all`. Documents are written in that order, so the plan's document numbers
/// are positions in the files.
fn render_manifests(
    namespaces: &[EmittedNamespace],
    policies: &[LoadedPolicy],
) -> Result<(BTreeMap<String, String>, ApplyPlan), YamlError> {
    let mut files = BTreeMap::new();
    let mut plan = ApplyPlan::default();
    let mut add_step = |file: &str, index: usize, loaded: &LoadedPolicy| {
        let step = ApplyStep {
            file: file.to_owned(),
            index,
            namespace: loaded.policy.metadata.namespace.clone().unwrap_or_default(),
            name: loaded.policy.metadata.name.clone().unwrap_or_default(),
        };
        if apply_script::holds_port_range(&loaded.policy) {
            let policy = format!("{}/{}", step.namespace, step.name);
            plan.port_range_policies.push(policy);
        }
        plan.steps.push(step);
    };
    for namespace in namespaces {
        if namespace.allow.is_empty() {
            continue;
        }
        let file = allow_file(namespace.namespace);
        let allow = &policies[namespace.allow.clone()];
        files.insert(file.clone(), manifest(allow)?);
        for (i, loaded) in allow.iter().enumerate() {
            add_step(&file, i + 1, loaded);
        }
    }
    let deny: Vec<&LoadedPolicy> = namespaces
        .iter()
        .map(|n| &policies[n.default_deny])
        .collect();
    if !deny.is_empty() {
        files.insert(
            DEFAULT_DENY_FILE.to_owned(),
            manifest(deny.iter().copied())?,
        );
        for (i, loaded) in deny.iter().enumerate() {
            add_step(DEFAULT_DENY_FILE, i + 1, loaded);
        }
    }
    plan.managed_namespaces = namespaces.iter().map(|n| n.namespace.to_owned()).collect();
    Ok((files, plan))
}

/// The allow-policies of a namespace; the `10-` prefix sorts them before the deny file,
/// so `kubectl apply -f k8s/` applies them first too.
fn allow_file(namespace: &str) -> String {
    format!("10-allow-{namespace}.yaml")
}

/// A multi-document YAML file holding only Kubernetes objects, behind the header comment.
fn manifest<'p>(policies: impl IntoIterator<Item = &'p LoadedPolicy>) -> Result<String, YamlError> {
    let mut text = header_line();
    text.push('\n');
    for loaded in policies {
        text.push_str("---\n");
        text.push_str(&to_yaml(&loaded.policy)?);
    }
    Ok(text)
}
