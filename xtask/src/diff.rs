//! `cargo xtask diff [GIT_REF] [--format md|text]`: the flows added and removed between
//! the emitted YAML at a git ref (default: the merge base with main) and what policies/
//! emits now; `cargo xtask diff --dirs OLD NEW` compares two folders of any YAML.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use zero_trust::diff::{FlowDiff, diff_manifests};
use zero_trust::emit::emit;
use zero_trust::eval::{Topology, load_dir};
use zero_trust::verify::model_topology;

use crate::{STDOUT_CLOSED, out, project_root, relative_to_root};

/// `diff` exits 0 when no flow changed, 1 when some did, 2 on an error, like `git diff
/// --exit-code`. `dirs` is OLD and NEW (`flags` takes exactly two), or none for a git ref.
pub fn run(git_ref: Option<&str>, dirs: Option<&[PathBuf]>, format: Option<Format>) -> ExitCode {
    let format = format.unwrap_or_else(Format::default_for_stdout);
    let result = match dirs {
        Some([old, new]) => run_dirs(old, new, format),
        Some(_) => Err("--dirs takes two folders".to_owned()),
        None => run_against_ref(git_ref, format),
    };
    match result {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(message) if message == STDOUT_CLOSED => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {}", relative_to_root(&message));
            ExitCode::from(2)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    #[value(name = "md")]
    Markdown,
    Text,
}

impl Format {
    /// Markdown to paste into a review, plain text on a terminal.
    pub fn default_for_stdout() -> Format {
        if std::io::stdout().is_terminal() {
            Format::Text
        } else {
            Format::Markdown
        }
    }
}

/// Prints the diff; `Ok(true)` when some flow changed.
pub fn run_against_ref(git_ref: Option<&str>, format: Format) -> Result<bool, String> {
    let git_ref = match git_ref {
        Some(git_ref) => git_ref.to_owned(),
        None => merge_base_with_main()?,
    };
    let old = files_at_ref(&git_ref)?;
    let cluster = policies::cluster().map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  - {e}")).collect();
        format!(
            "the cluster in policies/ does not assemble:\n{}",
            lines.join("\n")
        )
    })?;
    let new = emit(&cluster)
        .map_err(|e| format!("could not render YAML: {e}"))?
        .files;
    let diff = diff_manifests(&old, &new, model_topology(&cluster)).map_err(|e| e.join("\n"))?;
    print(&diff, &format!("flows changed since {git_ref}"), format)?;
    Ok(!diff.is_empty())
}

/// Prints the diff of two folders; `Ok(true)` when some flow changed.
pub fn run_dirs(old: &Path, new: &Path, format: Format) -> Result<bool, String> {
    let (old_files, old_topology) = read_dir(old)?;
    let (new_files, new_topology) = read_dir(new)?;
    let mut topology = old_topology;
    for namespace in new_topology.namespaces {
        if !topology.namespaces.iter().any(|n| n.name == namespace.name) {
            topology.namespaces.push(namespace);
        }
    }
    topology.pods.extend(
        new_topology
            .pods
            .into_iter()
            .filter(|p| {
                !topology
                    .pods
                    .iter()
                    .any(|q| q.namespace == p.namespace && q.name == p.name)
            })
            .collect::<Vec<_>>(),
    );
    let diff = diff_manifests(&old_files, &new_files, topology).map_err(|e| e.join("\n"))?;
    print(
        &diff,
        &format!("flows changed from {} to {}", old.display(), new.display()),
        format,
    )?;
    Ok(!diff.is_empty())
}

fn print(diff: &FlowDiff, title: &str, format: Format) -> Result<(), String> {
    match format {
        Format::Markdown => out(format_args!("### {title}\n\n{}", diff.to_markdown())),
        Format::Text => out(diff),
    }
}

fn read_dir(dir: &Path) -> Result<(BTreeMap<String, String>, Topology), String> {
    let topology = load_dir(dir)
        .map_err(|errors| {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        })?
        .topology;
    let mut files = BTreeMap::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.is_file() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            files.insert(
                path.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                text,
            );
        }
    }
    Ok((files, topology))
}

fn git(args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(project_root())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Where the current branch left main; on main itself, HEAD.
fn merge_base_with_main() -> Result<String, String> {
    let base = git(&["merge-base", "HEAD", "main"])
        .map_err(|e| format!("{e}; name the ref to compare with: `cargo xtask diff REF`"))?;
    Ok(base.trim().chars().take(12).collect())
}

/// The committed files of `k8s/` at a ref (`k8s/` is proven equal to policies/ by CI).
fn files_at_ref(git_ref: &str) -> Result<BTreeMap<String, String>, String> {
    let names = git(&["ls-tree", "--name-only", &format!("{git_ref}:k8s")])?;
    let mut files = BTreeMap::new();
    for name in names.lines() {
        files.insert(
            name.to_owned(),
            git(&["show", &format!("{git_ref}:k8s/{name}")])?,
        );
    }
    Ok(files)
}
