//! `cargo xtask emit [--check]`: assemble the cluster of `policies/`, render `k8s/`, and
//! replace the folder's generated files as one transaction (or, with `--check`, compare).

use std::collections::BTreeMap;

use zero_trust::emit::{Emitted, emit};
use zero_trust::rollout::prove_emitted_rollout;
use zero_trust::verify::{SHOWN_PROBLEMS, bounded_problems, prove_emitted};

use crate::k8s_dir::{Changes, GeneratedDir};
use crate::project_root;

pub enum Mode {
    Write,
    Check,
}

pub fn run(mode: Mode) -> Result<(), String> {
    let cluster = policies::cluster().map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  - {e}")).collect();
        format!(
            "the cluster in policies/ does not assemble; nothing was written:\n{}",
            lines.join("\n")
        )
    })?;
    let emitted =
        emit(&cluster).map_err(|e| format!("could not render YAML: {e}; nothing was written"))?;
    // The policies against the manifests zero-trust.toml names, before k8s/ is touched.
    crate::workloads::check_for_emit(&cluster, &emitted.files)?;
    let dir = GeneratedDir::new(project_root().join("k8s"));
    // A first rollout (to a cluster without these policies) must be as safe as an update.
    prove_rollout(
        &cluster,
        &emitted,
        &BTreeMap::new(),
        "a cluster without them",
    )?;
    let summary = emitted.summary;
    match mode {
        Mode::Check => {
            let changes = dir.changes(&emitted.files)?;
            if changes.is_empty() {
                println!("k8s/ is up to date ({} files)", emitted.files.len());
                return Ok(());
            }
            // Say what the stale files allow that the policies don't, or the reverse.
            let semantics = match prove(&cluster, dir.path()) {
                Ok(()) => String::new(),
                Err(problems) => format!("{problems}\n"),
            };
            Err(format!(
                "k8s/ is stale:\n{}{semantics}run `cargo xtask emit` and commit k8s/",
                changes.describe()
            ))
        }
        Mode::Write => {
            // The changes are taken under the emit lock, so they are what this run did; so
            // are the files the rollout starts from.
            let changes = dir.replace(&emitted.files, |staged, before| {
                prove(&cluster, staged)?;
                prove_rollout(&cluster, &emitted, before, "the policies in k8s/ now")
            })?;
            println!(
                "k8s/: {} managed namespaces, {} policies, {} flows; {}",
                summary.managed_namespaces,
                summary.policies,
                summary.flows,
                count_changes(&changes)
            );
            Ok(())
        }
    }
}

/// Proves that `apply.sh` rolls the emitted policies out over `before` (the manifests a
/// cluster holds now) without interrupting a connection both sets allow.
fn prove_rollout(
    cluster: &zero_trust::Cluster,
    emitted: &Emitted,
    before: &BTreeMap<String, String>,
    from: &str,
) -> Result<(), String> {
    prove_emitted_rollout(cluster, &emitted.plan, before, &emitted.files)
        .map(drop)
        .map_err(|problem| {
            format!(
                "no safe rollout from {from} to the new policies: {problem}; nothing was written"
            )
        })
}

/// Reads the files back from `dir` and proves they allow exactly the declared flows.
pub fn prove(cluster: &zero_trust::Cluster, dir: &std::path::Path) -> Result<(), String> {
    prove_emitted(cluster, dir).map(drop).map_err(|problems| {
        let lines: Vec<String> = bounded_problems(&problems, SHOWN_PROBLEMS)
            .iter()
            .map(|p| format!("  - {p}"))
            .collect();
        format!(
            "the YAML in {} does not allow exactly what policies/ declares:\n{}",
            dir.display(),
            lines.join("\n")
        )
    })
}

fn count_changes(changes: &Changes) -> String {
    if changes.is_empty() {
        return "no file changed".to_owned();
    }
    format!(
        "{} files changed ({} added, {} updated, {} removed)",
        changes.added.len() + changes.updated.len() + changes.removed.len(),
        changes.added.len(),
        changes.updated.len(),
        changes.removed.len()
    )
}
