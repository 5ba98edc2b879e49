//! Emission of `k8s/`: the manifests, in apply order, and the apply script.
//!
//! Everything is rendered in memory first; writing it to disk (atomically) is the
//! caller's job, so an error can never leave `k8s/` half-written.

pub mod apply_script;
mod flows_md;
pub mod verify_script;

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::NetworkPolicy;

use crate::cluster::Cluster;
use crate::lower::{NamespacePolicies, lower_to_network_policies};
use crate::yaml::{YamlError, to_yaml};
use apply_script::{ApplyPlan, GENERATED_HEADER, render_apply_script};

pub const APPLY_SCRIPT: &str = "apply.sh";
/// Probes a live cluster against the declared flows; `apply.sh --verify` runs it.
pub const VERIFY_SCRIPT: &str = "verify.sh";
/// The allowed flows for reviewers.
pub const FLOWS_MD: &str = "FLOWS.md";
/// Applied last, after every allow-policy, so a rollout never denies what it will allow.
pub const DEFAULT_DENY_FILE: &str = "20-default-deny.yaml";

/// The files of `k8s/`, by name, and what they hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    pub files: BTreeMap<String, String>,
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
    // The YAML and the probe plan of verify.sh are the two largest pieces and independent:
    // render them side by side.
    let (manifests, verify_script) = std::thread::scope(|scope| {
        let verify_script =
            scope.spawn(|| verify_script::render_verify_script_lowered(cluster, &lowered));
        let manifests = render_manifests(&lowered);
        let verify_script = verify_script
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (manifests, verify_script)
    });
    let (mut files, plan) = manifests?;
    files.insert(APPLY_SCRIPT.to_owned(), render_apply_script(&plan));
    files.insert(FLOWS_MD.to_owned(), flows_md::render_flows_md(cluster));
    files.insert(VERIFY_SCRIPT.to_owned(), verify_script);
    let summary = Summary {
        managed_namespaces: lowered.len(),
        policies: plan.policies.len(),
        flows: cluster.flows.len(),
    };
    Ok(Emitted { files, summary })
}

/// The manifests, by file name, and what `apply.sh` needs to know of them.
fn render_manifests(
    lowered: &[NamespacePolicies],
) -> Result<(BTreeMap<String, String>, ApplyPlan), YamlError> {
    let mut files = BTreeMap::new();
    let mut plan = ApplyPlan::default();
    for NamespacePolicies {
        namespace, allow, ..
    } in lowered
    {
        if allow.is_empty() {
            continue;
        }
        let file = allow_file(namespace);
        files.insert(file.clone(), manifest(allow)?);
        plan.allow_files.push(file);
    }
    let deny: Vec<NetworkPolicy> = lowered.iter().map(|n| n.default_deny.clone()).collect();
    if !deny.is_empty() {
        files.insert(DEFAULT_DENY_FILE.to_owned(), manifest(&deny)?);
        plan.deny_files.push(DEFAULT_DENY_FILE.to_owned());
    }
    for namespace in lowered {
        for policy in namespace.allow.iter().chain([&namespace.default_deny]) {
            let name = policy.metadata.name.clone().unwrap_or_default();
            plan.policies.push((namespace.namespace.to_owned(), name));
        }
    }
    plan.policies.sort();
    Ok((files, plan))
}

/// The allow-policies of a namespace; the `10-` prefix sorts them before the deny file,
/// so `kubectl apply -f k8s/` applies them first too.
fn allow_file(namespace: &str) -> String {
    format!("10-allow-{namespace}.yaml")
}

/// A multi-document YAML file holding only Kubernetes objects, behind the header comment.
fn manifest(policies: &[NetworkPolicy]) -> Result<String, YamlError> {
    let mut text = header_line();
    text.push('\n');
    for policy in policies {
        text.push_str("---\n");
        text.push_str(&to_yaml(policy)?);
    }
    Ok(text)
}
