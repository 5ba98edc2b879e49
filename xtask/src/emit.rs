//! `cargo xtask emit [--check]`: assemble the cluster of `policies/`, render `k8s/`, and
//! replace the folder's generated files as one transaction (or, with `--check`, compare).

use std::collections::BTreeMap;
use std::path::Path;

use zero_trust::emit::{Emitted, emit};
use zero_trust::eval::LoadedPolicy;
use zero_trust::rollout::{in_rollout_order, prove_emitted_rollout};
use zero_trust::verify::{Proof, SHOWN_PROBLEMS, bounded_problems, prove_emitted};

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
    let dir = GeneratedDir::new(project_root().join("k8s"));
    let summary = &emitted.summary;
    match mode {
        Mode::Check => {
            // A first rollout (to a cluster without these policies) must be as safe as an
            // update.
            prove_first_rollout(&cluster, &emitted)?;
            let changes = dir.changes(&emitted.files)?;
            if changes.is_empty() {
                println!("k8s/ is up to date ({} files)", emitted.files.len());
                return Ok(());
            }
            // Say what the stale files allow that the policies don't, or the reverse.
            let semantics = match prove(&cluster, dir.path()) {
                Ok(_) => String::new(),
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
                // The policies as the proof read them back from the staged folder are what
                // both rollouts are proven with, so the new YAML is read once.
                let new = prove(&cluster, staged)?;
                let new = emitted_policies(new, staged, &emitted)?;
                prove_rollout(&cluster, &[], &new, "a cluster without them")?;
                let old = read_manifests("k8s (before)", before)?;
                if !old.is_empty() {
                    prove_rollout(&cluster, &old, &new, "the policies in k8s/ now")?;
                }
                Ok(())
            })?;
            if changes.is_empty() {
                // Nothing was staged, so nothing above was proven: k8s/ already holds these
                // files. Their first rollout is proven as `--check` proves it.
                prove_first_rollout(&cluster, &emitted)?;
            }
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

/// Proves the first rollout of the emitted files, reading them from memory.
fn prove_first_rollout(cluster: &zero_trust::Cluster, emitted: &Emitted) -> Result<(), String> {
    let new = read_manifests("k8s", &emitted.files)?;
    let new = in_rollout_order(&emitted.plan, new).map_err(nothing_written)?;
    prove_rollout(cluster, &[], &new, "a cluster without them")
}

/// Of the policies read back from the staged folder, those of the emitted files (it also
/// holds the files of k8s/ that emit did not write), in the order `apply.sh` writes them.
fn emitted_policies(
    proof: Proof,
    staged: &Path,
    emitted: &Emitted,
) -> Result<Vec<LoadedPolicy>, String> {
    let of_emitted_file = |policy: &LoadedPolicy| {
        policy
            .source
            .file
            .strip_prefix(staged)
            .ok()
            .and_then(Path::to_str)
            .is_some_and(|name| emitted.files.contains_key(name))
    };
    let loaded = proof.loaded.into_iter().filter(of_emitted_file).collect();
    in_rollout_order(&emitted.plan, loaded).map_err(nothing_written)
}

fn read_manifests(
    side: &str,
    files: &BTreeMap<String, String>,
) -> Result<Vec<LoadedPolicy>, String> {
    zero_trust::rollout::read_manifests(side, files).map_err(nothing_written)
}

fn nothing_written(problem: String) -> String {
    format!("{problem}; nothing was written")
}

/// Proves that `apply.sh` rolls the emitted policies `new` (in its order) out over `old`
/// (the policies a cluster holds now) without interrupting a connection both sets allow.
fn prove_rollout(
    cluster: &zero_trust::Cluster,
    old: &[LoadedPolicy],
    new: &[LoadedPolicy],
    from: &str,
) -> Result<(), String> {
    prove_emitted_rollout(cluster, old, new)
        .map(drop)
        .map_err(|problem| {
            nothing_written(format!(
                "no safe rollout from {from} to the new policies: {problem}"
            ))
        })
}

/// Reads the files back from `dir` and proves they allow exactly the declared flows.
pub fn prove(cluster: &zero_trust::Cluster, dir: &Path) -> Result<Proof, String> {
    prove_emitted(cluster, dir).map_err(|problems| {
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
