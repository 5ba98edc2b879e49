//! `cargo xtask diff [GIT_REF] [--format md|text]`: the flows added and removed between
//! the emitted YAML at a git ref (default: the merge base with main) and what policies/
//! emits now; `cargo xtask diff --dirs OLD NEW` compares two folders of any YAML.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use zero_trust::diff::{FlowDiff, diff, diff_manifests, topology_for};
use zero_trust::emit::emit;
use zero_trust::eval::{Analysis, Inputs, LoadedPolicy, Topology, load_dir};
use zero_trust::verify::{SHOWN_PROBLEMS, bounded_problems, model_topology};

use zero_trust::Cluster;

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
    exit_code(result)
}

/// `diff --clusters A B`: the flows cluster B allows and cluster A does not (`+`), and the
/// reverse (`-`), as the source declaring both emits them now; exit status as [`run`].
pub fn run_clusters(names: &[String], format: Option<Format>) -> ExitCode {
    let format = format.unwrap_or_else(Format::default_for_stdout);
    let result = match names {
        [a, b] => clusters_diff(a, b).and_then(|diff| {
            print(
                &diff,
                &format!("flows of cluster {b} against cluster {a}"),
                format,
            )?;
            Ok(!diff.is_empty())
        }),
        _ => Err("--clusters takes two cluster names".to_owned()),
    };
    exit_code(result)
}

fn exit_code(result: Result<bool, String>) -> ExitCode {
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

/// The semantic diff of two declared clusters of one source, over the workloads of both.
pub fn clusters_diff(a: &str, b: &str) -> Result<FlowDiff, String> {
    let mut declared = Vec::new();
    for source in crate::emit::SOURCES {
        let clusters = crate::emit::assemble(source)?;
        let find = |name: &str| {
            clusters
                .iter()
                .find(|c| c.target.is_some_and(|t| t.name == name))
        };
        if let (Some(a), Some(b)) = (find(a), find(b)) {
            let files = |cluster: &Cluster, other: &Cluster| -> Result<_, String> {
                let mut files = emit(cluster)
                    .map_err(|e| format!("could not render YAML: {e}"))?
                    .files;
                files.insert("absent.yaml".to_owned(), absent_namespaces(cluster, other));
                Ok(files)
            };
            let topology = merged(model_topology(a), model_topology(b));
            return diff_manifests(&files(a, b)?, &files(b, a)?, topology)
                .map_err(|e| e.join("\n"));
        }
        declared.extend(
            clusters
                .iter()
                .filter_map(|c| c.target)
                .map(|t| format!("`{}` ({})", t.name, source.crate_dir)),
        );
    }
    let declared = if declared.is_empty() {
        "none is declared".to_owned()
    } else {
        format!("declared: {}", declared.join(", "))
    };
    Err(format!(
        "no policy source declares both cluster `{a}` and cluster `{b}`; {declared}"
    ))
}

/// A namespace only the other cluster declares does not exist in `cluster`: none of its
/// pods can connect to anything, which a policy isolating all of them says to the
/// evaluator (without it, they would count as pods that allow everything).
fn absent_namespaces(cluster: &Cluster, other: &Cluster) -> String {
    let mut text = String::new();
    for namespace in other.namespaces.keys() {
        if !cluster.namespaces.contains_key(namespace) {
            text.push_str(&format!(
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  \
                 name: absent-from-this-cluster\n  namespace: {namespace}\nspec:\n  \
                 podSelector: {{}}\n  policyTypes:\n  - Ingress\n  - Egress\n"
            ));
        }
    }
    text
}

/// The namespaces and pods of both, `a`'s where both name one.
fn merged(a: Topology, b: Topology) -> Topology {
    let mut topology = a;
    for namespace in b.namespaces {
        if !topology.namespaces.iter().any(|n| n.name == namespace.name) {
            topology.namespaces.push(namespace);
        }
    }
    let added: Vec<_> = b
        .pods
        .into_iter()
        .filter(|p| {
            !topology
                .pods
                .iter()
                .any(|q| q.namespace == p.namespace && q.name == p.name)
        })
        .collect();
    topology.pods.extend(added);
    topology
}

/// Prints the diff of two folders, each read as `verify` reads one (recursively, with
/// [`load_dir`]); `Ok(true)` when some flow changed.
pub fn run_dirs(old: &Path, new: &Path, format: Format) -> Result<bool, String> {
    let diff = diff_dirs(old, new)?;
    let title = format!("flows changed from {} to {}", old.display(), new.display());
    print(&diff, &title, format)?;
    Ok(!diff.is_empty())
}

/// The flows that `new` allows and `old` does not, and the reverse, over the Namespaces,
/// Pods and workloads of both folders (the old side's where both name one).
fn diff_dirs(old: &Path, new: &Path) -> Result<FlowDiff, String> {
    let old = read_dir(old)?;
    let new = read_dir(new)?;
    let topology = merged(old.topology, new.topology);
    let topology = topology_for(topology, &[&old.policies, &new.policies]);
    let analyse = |policies: &[LoadedPolicy]| {
        Analysis::from_parts(policies, &topology).map_err(|errors| {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        })
    };
    Ok(diff(&analyse(&old.policies)?, &analyse(&new.policies)?))
}

fn print(diff: &FlowDiff, title: &str, format: Format) -> Result<(), String> {
    match format {
        Format::Markdown => out(format_args!("### {title}\n\n{}", diff.to_markdown())),
        Format::Text => out(diff),
    }
}

fn read_dir(dir: &Path) -> Result<Inputs, String> {
    load_dir(dir).map_err(|errors| {
        let lines: Vec<String> = bounded_problems(&errors, SHOWN_PROBLEMS)
            .iter()
            .map(|e| format!("  - {e}"))
            .collect();
        format!(
            "cannot read the YAML in {}:\n{}",
            dir.display(),
            lines.join("\n")
        )
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    const PODS: &str = "\
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: prod, labels: {app: api}}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: prod, labels: {app: web}}
spec: {containers: [{name: c}]}
";

    const DENY: &str = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: prod}
spec: {podSelector: {}, policyTypes: [Ingress]}
";

    const ALLOW: &str = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-to-api, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080}]
";

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    /// Policies in subfolders count, as they do for `verify`: before, only the top level
    /// was read, so this diff was empty.
    #[test]
    fn dirs_are_read_recursively_as_verify_reads_them() {
        let old = tempfile::tempdir().unwrap();
        let new = tempfile::tempdir().unwrap();
        write(
            old.path(),
            &[("pods.yaml", PODS), ("policies/prod/deny.yaml", DENY)],
        );
        write(
            new.path(),
            &[
                ("pods.yaml", PODS),
                ("policies/prod/deny.yaml", DENY),
                ("policies/prod/more/web-to-api.yml", ALLOW),
                ("policies/notes.txt", "not YAML, not read"),
            ],
        );
        let diff = diff_dirs(old.path(), new.path()).unwrap();
        assert!(diff.removed.is_empty(), "{diff}");
        assert!(diff.isolation.is_empty(), "{diff}");
        let added: Vec<(&str, &str, String)> = diff
            .added
            .iter()
            .map(|c| {
                (
                    c.source.as_str(),
                    c.destination.as_str(),
                    c.ports.to_string(),
                )
            })
            .collect();
        assert_eq!(added.len(), 1, "{diff}");
        assert_eq!((added[0].0, added[0].1), ("prod/web", "prod/api"), "{diff}");
        assert!(added[0].2.contains("8080"), "{diff}");
        // And the other way round: the same folders, swapped, remove the flow.
        let back = diff_dirs(new.path(), old.path()).unwrap();
        assert_eq!((back.added.len(), back.removed.len()), (0, 1), "{back}");
    }

    #[test]
    fn a_broken_file_in_a_subfolder_is_an_error_naming_it() {
        let old = tempfile::tempdir().unwrap();
        let new = tempfile::tempdir().unwrap();
        write(old.path(), &[("pods.yaml", PODS)]);
        write(
            new.path(),
            &[("deep/er/bad.yaml", "kind: Pod\nmetadata: {name: [}\n")],
        );
        let error = diff_dirs(old.path(), new.path()).unwrap_err();
        assert!(error.contains("bad.yaml"), "{error}");
    }
}

#[cfg(test)]
mod cluster_tests {
    use super::*;

    /// The example's clusters differ by the partner's CIDR (prod), the mock's and the
    /// canary's flows (staging); the canary's namespace, absent from prod, shows only its
    /// own flows, not pods that would allow everything.
    #[test]
    fn diff_clusters_lists_exactly_the_flows_that_differ() {
        let diff = clusters_diff("staging", "prod").expect("both declared");
        assert_eq!(
            diff.to_string(),
            "+ shop/checkout -> 203.0.113.0/24: 443/tcp\n\
             - ingress-nginx/<any other pod> -> shop/web-canary: 8080/tcp\n\
             - ingress-nginx/controller -> shop/web-canary: 8080/tcp\n\
             - shop/checkout -> 198.51.100.0/28: 8443/tcp\n\
             - shop/web-canary -> shop/checkout: 3000/tcp\n"
        );
        assert!(clusters_diff("prod", "prod").expect("declared").is_empty());
    }

    #[test]
    fn diff_clusters_names_the_declared_clusters_when_one_is_unknown() {
        let error = clusters_diff("staging", "qa").unwrap_err();
        assert_eq!(
            error,
            "no policy source declares both cluster `staging` and cluster `qa`; declared: `staging` (examples/two-clusters/), `prod` (examples/two-clusters/)"
        );
    }
}
