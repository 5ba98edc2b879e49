//! `cargo xtask emit [--check]`: assemble the cluster of `policies/`, render `k8s/`, and
//! replace the folder's generated files in one step (or, with `--check`, compare).

use zero_trust::emit::emit;
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
    let dir = GeneratedDir::new(project_root().join("k8s"));
    let changes = dir.changes(&emitted.files)?;
    let summary = emitted.summary;
    match mode {
        Mode::Check if changes.is_empty() => {
            println!("k8s/ is up to date ({} files)", emitted.files.len());
            Ok(())
        }
        Mode::Check => {
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
            if !changes.is_empty() {
                dir.replace(&emitted.files, |staged| prove(&cluster, staged))?;
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
