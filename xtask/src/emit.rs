//! `cargo xtask emit [--check]`: for each policy source of the repository, assemble its
//! clusters, render its `k8s/` (one cluster in the folder itself, or `k8s/<cluster>/` per
//! declared cluster), prove each cluster on its own, and replace the folder's generated
//! files as one transaction (or, with `--check`, compare).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use zero_trust::emit::clusters::{EmittedCluster, EmittedSource, emit_source};
use zero_trust::eval::{Analysis, LoadedPolicy};
use zero_trust::rollout::{
    WhichRollout, in_rollout_order, prove_emitted_rollout, prove_emitted_rollouts,
};
use zero_trust::verify::{Proof, SHOWN_PROBLEMS, bounded_problems, prove_emitted_analysed};
use zero_trust::{Cluster, ClusterError};

use crate::k8s_dir::{Changes, GeneratedDir};
use crate::project_root;

pub enum Mode {
    Write,
    Check,
}

/// A policy source of this repository: the crate that declares it, and its `k8s/`.
pub struct Source {
    /// The crate's folder, for messages: `policies/`.
    pub crate_dir: &'static str,
    /// The folder emit writes, from the workspace root.
    pub k8s: &'static str,
    pub clusters: fn() -> Result<Vec<Cluster>, Vec<ClusterError>>,
}

/// Every source `cargo xtask emit` writes and `--check` checks: the guide's cluster, and
/// the example of two clusters (so its committed output can never go stale).
pub const SOURCES: &[Source] = &[
    Source {
        crate_dir: "policies/",
        k8s: "k8s",
        clusters: policies::clusters,
    },
    Source {
        crate_dir: "examples/two-clusters/",
        k8s: "examples/two-clusters/k8s",
        clusters: two_clusters::clusters,
    },
];

/// Emits (or checks) every source; one failing does not keep the others from being
/// written or checked, and every failure is reported.
pub fn run(mode: Mode) -> Result<(), String> {
    let failures: Vec<String> = SOURCES
        .iter()
        .filter_map(|source| run_source(source, &mode).err())
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\nerror: "))
    }
}

/// The clusters of a source, or why they do not assemble.
pub fn assemble(source: &Source) -> Result<Vec<Cluster>, String> {
    (source.clusters)().map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  - {e}")).collect();
        format!(
            "the clusters in {} do not assemble; nothing was written to {}/:\n{}",
            source.crate_dir,
            source.k8s,
            lines.join("\n")
        )
    })
}

fn run_source(source: &Source, mode: &Mode) -> Result<(), String> {
    let clusters = assemble(source)?;
    let emitted = emit_source(&clusters).map_err(|e| {
        format!(
            "could not render YAML: {e}; nothing was written to {}/",
            source.k8s
        )
    })?;
    // The policies against the manifests zero-trust.toml names, before k8s/ is touched.
    crate::workloads::check_for_emit(source, &clusters, &emitted)?;
    let dir = GeneratedDir::new(project_root().join(source.k8s));
    let each = || clusters.iter().zip(&emitted.clusters);
    match mode {
        Mode::Check => {
            // A first rollout (to a cluster without these policies) must be as safe as an
            // update.
            for (cluster, emitted_cluster) in each() {
                prove_first_rollout(cluster, &emitted, emitted_cluster)?;
            }
            let changes = dir.changes(&emitted.files)?;
            if changes.is_empty() {
                println!(
                    "{}/ is up to date ({} files)",
                    source.k8s,
                    emitted.files.len()
                );
                return Ok(());
            }
            // Say what the stale files allow that the policies don't, or the reverse.
            let mut semantics = String::new();
            for (cluster, emitted_cluster) in each() {
                let folder = dir.path().join(&emitted_cluster.folder);
                if !folder.is_dir() {
                    continue;
                }
                if let Err(problems) = prove(cluster, &folder) {
                    semantics.push_str(&format!("{problems}\n"));
                }
            }
            Err(format!(
                "{}/ is stale:\n{}{semantics}run `cargo xtask emit` and commit {}/",
                source.k8s,
                changes.describe(source.k8s),
                source.k8s
            ))
        }
        Mode::Write => {
            // The changes are taken under the emit lock, so they are what this run did; so
            // are the files the rollout starts from. Each cluster is proven in its folder,
            // and the policies the proof read back from it, and its analysis of them, are
            // what both rollouts are proven with, so the new YAML is read and analysed once.
            let changes = dir.replace(&emitted.files, |staged, before| {
                for (cluster, emitted_cluster) in each() {
                    let folder = &emitted_cluster.folder;
                    let (proof, analysis) = prove_analysed(cluster, &staged.join(folder))?;
                    let new = emitted_policies(proof, staged, &emitted, emitted_cluster)?;
                    let before = files_in(before, folder);
                    let old = policies_before(&before, folder, staged, &emitted, &new)?;
                    prove_emitted_rollouts(cluster, analysis, &old, &new)
                        .map_err(|(which, problem)| rollout_refused(cluster, which, problem))?;
                }
                Ok(())
            })?;
            if changes.is_empty() {
                // Nothing was staged, so nothing above was proven: k8s/ already holds these
                // files. Their first rollout is proven as `--check` proves it.
                for (cluster, emitted_cluster) in each() {
                    prove_first_rollout(cluster, &emitted, emitted_cluster)?;
                }
            }
            for emitted_cluster in &emitted.clusters {
                let summary = emitted_cluster.emitted.summary;
                println!(
                    "{}/{}: {} managed namespaces, {} policies, {} flows; {}",
                    source.k8s,
                    emitted_cluster.folder,
                    summary.managed_namespaces,
                    summary.policies,
                    summary.flows,
                    count_changes(&changes.within(&emitted_cluster.folder))
                );
            }
            if clusters.iter().any(|c| c.target.is_some()) {
                let top = changes.within("");
                let top = Changes {
                    added: only_top(top.added),
                    updated: only_top(top.updated),
                    removed: only_top(top.removed),
                };
                println!(
                    "{}/apply.sh (all clusters): {}",
                    source.k8s,
                    count_changes(&top)
                );
            }
            Ok(())
        }
    }
}

fn only_top(files: Vec<String>) -> Vec<String> {
    files.into_iter().filter(|f| !f.contains('/')).collect()
}

/// The files of one cluster's folder (`staging/`) among `files`, named inside it; the
/// whole map, uncopied, for a source without declared clusters (and no subfolder left).
fn files_in<'f>(
    files: &'f BTreeMap<String, String>,
    folder: &str,
) -> Cow<'f, BTreeMap<String, String>> {
    if folder.is_empty() && !files.keys().any(|name| name.contains('/')) {
        return Cow::Borrowed(files);
    }
    Cow::Owned(
        files
            .iter()
            .filter_map(|(path, text)| {
                let name = path.strip_prefix(folder)?;
                (!name.contains('/')).then(|| (name.to_owned(), text.clone()))
            })
            .collect(),
    )
}

/// Proves the first rollout of one cluster's emitted files, reading them from memory.
fn prove_first_rollout(
    cluster: &Cluster,
    emitted: &EmittedSource,
    emitted_cluster: &EmittedCluster,
) -> Result<(), String> {
    let new = read_manifests("k8s", &files_in(&emitted.files, &emitted_cluster.folder))?;
    let new = in_rollout_order(&emitted_cluster.emitted.plan, new).map_err(nothing_written)?;
    prove_emitted_rollout(cluster, &[], &new)
        .map(drop)
        .map_err(|problem| rollout_refused(cluster, WhichRollout::First, problem))
}

/// Of the policies read back from the staged folder, those of the cluster's emitted files
/// (the folder also holds files of k8s/ that emit did not write), in the order `apply.sh`
/// writes them.
fn emitted_policies(
    proof: Proof,
    staged: &Path,
    emitted: &EmittedSource,
    emitted_cluster: &EmittedCluster,
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
    in_rollout_order(&emitted_cluster.emitted.plan, loaded).map_err(nothing_written)
}

/// The policies of one cluster's folder before this emit (`before`, named inside the
/// folder `folder`, staged in `staged`), for the proof of the update. A file this emit wrote again with the
/// same text holds the policies just read back from it (`new`), so only the files that
/// changed or went are parsed: after one flow is edited that is a file or two, not the
/// whole folder a second time.
fn policies_before(
    before: &BTreeMap<String, String>,
    folder: &str,
    staged: &Path,
    emitted: &EmittedSource,
    new: &[LoadedPolicy],
) -> Result<Vec<LoadedPolicy>, String> {
    // Each policy read back under its path inside the folder, as `before` names files.
    let staged_folder = staged.join(folder);
    let mut read_back: BTreeMap<&Path, Vec<&LoadedPolicy>> = BTreeMap::new();
    for policy in new {
        if let Ok(name) = policy.source.file.strip_prefix(&staged_folder) {
            read_back.entry(name).or_default().push(policy);
        }
    }
    let unchanged = |name: &str| emitted.files.get(&format!("{folder}{name}")) == before.get(name);
    zero_trust::rollout::read_manifests_reusing(SIDE_BEFORE, before, |name| {
        let policies = read_back.get(Path::new(name))?;
        let mut policies: Vec<LoadedPolicy> = match unchanged(name) {
            true => policies.iter().map(|&policy| policy.clone()).collect(),
            false => return None,
        };
        // `new` is in rollout order; a file's policies are read in the order written.
        policies.sort_by_key(|p| (p.source.document, p.source.item));
        Some(policies)
    })
    .map_err(nothing_written)
}

/// How the proof of an update names the files k8s/ held before it.
const SIDE_BEFORE: &str = "k8s (before)";

fn read_manifests(
    side: &str,
    files: &BTreeMap<String, String>,
) -> Result<Vec<LoadedPolicy>, String> {
    zero_trust::rollout::read_manifests(side, files).map_err(nothing_written)
}

fn nothing_written(problem: String) -> String {
    format!("{problem}; nothing was written")
}

/// Why `apply.sh` cannot roll the emitted policies out (`which` rollout) without
/// interrupting a connection that the policies before and after both allow.
fn rollout_refused(cluster: &Cluster, which: WhichRollout, problem: String) -> String {
    let of = cluster
        .target
        .map(|t| format!(" of cluster `{}`", t.name))
        .unwrap_or_default();
    let from = match which {
        WhichRollout::First => "a cluster without them",
        WhichRollout::Update => "the policies in k8s/ now",
    };
    nothing_written(format!(
        "no safe rollout{of} from {from} to the new policies: {problem}"
    ))
}

/// Reads the files back from `dir` and proves they allow exactly the declared flows.
pub fn prove(cluster: &Cluster, dir: &Path) -> Result<Proof, String> {
    prove_analysed(cluster, dir).map(|(proof, _)| proof)
}

/// [`prove`], with the analysis it proved on.
fn prove_analysed(cluster: &Cluster, dir: &Path) -> Result<(Proof, Analysis), String> {
    prove_emitted_analysed(cluster, dir).map_err(|problems| {
        let lines: Vec<String> = bounded_problems(&problems, SHOWN_PROBLEMS)
            .iter()
            .map(|p| format!("  - {p}"))
            .collect();
        format!(
            "the YAML in {} does not allow exactly what its policies declare:\n{}",
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The update of k8s/ is proven from the policies that reading every file of the old
    /// folder gives, though only the files whose text changed (or that went) are read.
    #[test]
    fn the_policies_before_an_update_are_those_of_every_old_file() {
        let clusters = policies::clusters().expect("the guide's cluster assembles");
        let emitted = emit_source(&clusters).expect("the guide's cluster renders");
        let emitted_cluster = &emitted.clusters[0];
        let staged = tempfile::tempdir().expect("a temp dir");
        for (name, text) in &emitted.files {
            std::fs::write(staged.path().join(name), text).expect("writing a staged file");
        }
        let proof = prove(&clusters[0], staged.path()).expect("the guide's YAML proves");
        let new = emitted_policies(proof, staged.path(), &emitted, emitted_cluster).unwrap();

        // The old folder: one file with another port, one file emit no longer writes, one
        // file it writes now that was not there, the rest as emitted.
        let yaml: Vec<&String> = emitted
            .files
            .keys()
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        let mut before = emitted.files.clone();
        let other = emitted.files[yaml[0]].replacen("protocol: TCP", "protocol: UDP", 1);
        assert_ne!(other, emitted.files[yaml[0]]);
        before.insert(yaml[0].clone(), other);
        let gone = emitted.files[yaml[1]].replace("  name: ", "  name: gone-");
        before.insert("30-gone.yaml".to_owned(), gone);
        before.remove(yaml[2]);

        let old = policies_before(&before, "", staged.path(), &emitted, &new).unwrap();
        assert_eq!(old, read_manifests(SIDE_BEFORE, &before).unwrap());
        assert!(
            old.len() > new.len() / 2,
            "the old folder's policies were read"
        );
    }
}
