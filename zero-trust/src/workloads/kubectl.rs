//! Reading a live cluster through `kubectl`: its namespaces and pod templates, and the
//! NetworkPolicies zero-trust manages there. The JSON is read by the one loader, so an
//! unkinded List item (as the API prints `NamespaceList` items) is understood there.

use std::path::Path;
use std::process::Command;

use zero_trust_rules::{MANAGED_BY_LABEL, MANAGED_BY_VALUE, POLICY_SOURCE_LABEL};

use super::Workloads;
use crate::eval::{Inputs, LoadedPolicy};
use crate::verify::{SHOWN_PROBLEMS, bounded_problems};

/// The kinds `verify --context` reads: namespaces and every object that carries pods.
pub const WORKLOAD_KINDS: &str =
    "namespaces,pods,deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs";

/// `kubectl --context CONTEXT get WHAT -A -o json [-l SELECTOR]`, read by the loader;
/// `kubectl` is the program to run (a stand-in in tests).
fn get(
    kubectl: &Path,
    context: &str,
    what: &str,
    selector: Option<&str>,
) -> Result<Inputs, String> {
    let mut args = vec!["--context", context, "get", what, "-A", "-o", "json"];
    if let Some(selector) = selector {
        args.extend(["-l", selector]);
    }
    let command = format!("{} {}", kubectl.display(), args.join(" "));
    let output = Command::new(kubectl).args(&args).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "cannot run `{}`: not found; install kubectl \
                 (https://kubernetes.io/docs/tasks/tools/) or put it on PATH",
                kubectl.display()
            )
        } else {
            format!("cannot run `{command}`: {e}")
        }
    })?;
    if !output.status.success() {
        return Err(format!(
            "`{command}` failed ({}): {}; check the context (`kubectl config get-contexts`) \
             and that the cluster answers",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = String::from_utf8(output.stdout)
        .map_err(|_| format!("`{command}` printed text that is not UTF-8"))?;
    Inputs::from_yaml(&command, &text).map_err(|errors| {
        let lines: Vec<String> = bounded_problems(&errors, SHOWN_PROBLEMS)
            .iter()
            .map(|e| format!("  - {e}"))
            .collect();
        format!(
            "cannot read what `{command}` printed:\n{}",
            lines.join("\n")
        )
    })
}

/// The namespaces and pod templates of the cluster of `context`.
pub fn read_workloads(kubectl: &Path, context: &str) -> Result<Workloads, String> {
    get(kubectl, context, WORKLOAD_KINDS, None).map(Workloads::new)
}

/// The NetworkPolicies of the cluster of `context` that zero-trust wrote for `source`
/// (labelled managed-by zero-trust and with that policy source), as `apply.sh` prunes.
pub fn read_managed_policies(
    kubectl: &Path,
    context: &str,
    source: &str,
) -> Result<Vec<LoadedPolicy>, String> {
    let selector = format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},{POLICY_SOURCE_LABEL}={source}");
    get(kubectl, context, "networkpolicies", Some(&selector)).map(|inputs| inputs.policies)
}
