//! The policies against the real workloads: `cargo xtask verify --workloads PATH` and
//! `--context NAME`, and the same checks on every `cargo xtask emit` for the manifest
//! folders named in `zero-trust.toml`. The checks, the proof and the drift report are the
//! library's (`zero_trust::workloads`); this module finds the sources and prints.

use std::io::Read;
use std::path::{Path, PathBuf};

use zero_trust::Cluster;
use zero_trust::eval::{Inputs, LoadedPolicy};
use zero_trust::verify::{SHOWN_PROBLEMS, bounded_problems, model_topology};
use zero_trust::workloads::drift::drift;
use zero_trust::workloads::kubectl::{read_managed_policies, read_workloads};
use zero_trust::workloads::proof::prove_on_pods;
use zero_trust::workloads::{Finding, Mode, Severity, Workloads, check, named_ports_are_defined};

use crate::flags::Verify;
use crate::project_root;
use crate::verify::lines;

/// The file next to `policies/` that names the manifest folders `emit` checks.
pub const CONFIG: &str = "zero-trust.toml";

/// `verify --workloads` / `--context`; nothing to do without them. `k8s` is what `verify`
/// read (k8s/ when `cluster` is given).
pub fn run(args: &Verify, cluster: Option<&Cluster>, k8s: &Inputs) -> Result<(), String> {
    if args.workloads.is_none() && args.context.is_none() {
        return Ok(());
    }
    let Some(cluster) = cluster else {
        // Another folder: no policies/ to check the pods against, only its own YAML.
        let path = args.workloads.as_deref().ok_or(
            "--context checks the cluster against policies/ and k8s/, so it goes with k8s/ \
             (the default DIR), not with another folder",
        )?;
        let workloads = read_path(path)?;
        return report(
            &named_ports_are_defined(&k8s.policies, &workloads),
            Vec::new(),
        );
    };
    let mut failures = Vec::new();
    if let Some(path) = &args.workloads {
        let workloads = read_path(path)?;
        failures.extend(check_against(
            cluster,
            &k8s.policies,
            &workloads,
            Mode::Manifests,
            args.verbose,
        ));
    }
    if let Some(context) = &args.context {
        let kubectl = kubectl();
        let workloads = read_workloads(&kubectl, context)?;
        failures.extend(check_against(
            cluster,
            &k8s.policies,
            &workloads,
            Mode::Cluster,
            args.verbose,
        ));
        let live = read_managed_policies(&kubectl, context, cluster.source)?;
        let drift = drift(&k8s.policies, &live, model_topology(cluster))
            .map_err(|errors| lines("cannot evaluate the cluster's managed policies", &errors))?;
        eprint!("drift of context {context}:\n{drift}");
        if !drift.is_empty() {
            failures.push(format!(
                "the cluster of context {context} has drifted from k8s/"
            ));
        }
    }
    if failures.is_empty() {
        eprintln!(
            "the policies select the real pods, and each pod gets exactly its workloads' flows"
        );
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// `kubectl`, or the program `$KUBECTL` names.
fn kubectl() -> PathBuf {
    std::env::var_os("KUBECTL").map_or_else(|| PathBuf::from("kubectl"), PathBuf::from)
}

/// A folder, a file, or `-` for standard input.
fn read_path(path: &Path) -> Result<Workloads, String> {
    let read = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the manifests from standard input: {e}"))?;
        Workloads::from_text("<stdin>", &text)
    } else {
        Workloads::read(path)
    };
    read.map_err(|errors| {
        lines(
            &format!("cannot read the manifests in {}", path.display()),
            &errors,
        )
    })
}

/// Prints the findings and runs the proof on the pods; the failures, one line each.
fn check_against(
    cluster: &Cluster,
    policies: &[LoadedPolicy],
    workloads: &Workloads,
    mode: Mode,
    verbose: bool,
) -> Vec<String> {
    if verbose {
        crate::verify::print_skipped(&workloads.inputs);
    }
    let mut findings = check(cluster, workloads, mode);
    findings.extend(named_ports_are_defined(policies, workloads));
    let mut failures = print_findings(&findings);
    if let Err(mismatches) = prove_on_pods(cluster, policies, workloads) {
        failures.push(lines(
            "on the real pods, the YAML does not allow exactly what policies/ declares",
            &mismatches,
        ));
    }
    failures
}

/// Prints the findings; a failure line when some are errors.
fn print_findings(findings: &[Finding]) -> Vec<String> {
    // Errors first (the checks sort them so), then the warnings, bounded.
    for line in bounded_problems(findings, SHOWN_PROBLEMS) {
        eprintln!("{}", crate::relative_to_root(&line));
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if errors == 0 {
        return Vec::new();
    }
    vec![format!(
        "{errors} of the checks against the workloads failed (above)"
    )]
}

/// `Ok` unless some finding is an error or some other failure happened.
fn report(findings: &[Finding], mut failures: Vec<String>) -> Result<(), String> {
    failures.extend(print_findings(findings));
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// The manifest folders `zero-trust.toml` names (`[workloads] manifests = [...]`), relative
/// to the project root; none when the file is absent.
pub fn configured_folders(root: &Path) -> Result<Vec<PathBuf>, String> {
    let file = root.join(CONFIG);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {CONFIG}: {e}")),
    };
    let table: toml::Table = text.parse().map_err(|e| format!("{CONFIG}: {e}"))?;
    let bad = || {
        format!("{CONFIG}: write the manifest folders as `[workloads]` `manifests = [\"deploy\"]`")
    };
    let Some(workloads) = table.get("workloads") else {
        return Ok(Vec::new());
    };
    let manifests = workloads
        .get("manifests")
        .and_then(toml::Value::as_array)
        .ok_or_else(bad)?;
    manifests
        .iter()
        .map(|folder| folder.as_str().map(|f| root.join(f)).ok_or_else(bad))
        .collect()
}

/// What `emit` runs before it touches k8s/: the checks and the proof on the pods of the
/// configured folders against the emitted files. Warnings are printed; an error fails.
pub fn check_for_emit(
    source: &crate::emit::Source,
    clusters: &[Cluster],
    emitted: &zero_trust::emit::clusters::EmittedSource,
) -> Result<(), String> {
    // The manifests describe the workloads of this repository's own policies (written to
    // k8s/), so each of its clusters is checked against them; an example source is not.
    if source.k8s != "k8s" {
        return Ok(());
    }
    let folders = configured_folders(&project_root())?;
    for (cluster, emitted_cluster) in clusters.iter().zip(&emitted.clusters) {
        let files: std::collections::BTreeMap<String, String> = emitted
            .files
            .iter()
            .filter_map(|(name, text)| {
                let name = name.strip_prefix(emitted_cluster.folder.as_str())?;
                Some((name.to_owned(), text.clone()))
            })
            .collect();
        check_folders(cluster, &files, &folders)?;
    }
    Ok(())
}

fn check_folders(
    cluster: &Cluster,
    files: &std::collections::BTreeMap<String, String>,
    folders: &[PathBuf],
) -> Result<(), String> {
    if folders.is_empty() {
        return Ok(());
    }
    let mut workloads = Workloads::default();
    for folder in folders {
        workloads.extend(read_path(folder)?);
    }
    let policies = zero_trust::workloads::emitted_policies(files)
        .map_err(|errors| lines("cannot read the emitted YAML", &errors))?;
    let failures = check_against(cluster, &policies, &workloads, Mode::Manifests, false);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n(the manifests are named in {CONFIG}); nothing was written",
            failures.join("\n")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_trust_toml_names_the_manifest_folders() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(configured_folders(root.path()), Ok(Vec::new()), "no file");
        let write = |text: &str| std::fs::write(root.path().join(CONFIG), text).unwrap();
        write("[workloads]\nmanifests = [\"deploy\", \"charts/out\"]\n");
        assert_eq!(
            configured_folders(root.path()),
            Ok(vec![
                root.path().join("deploy"),
                root.path().join("charts/out")
            ])
        );
        write("# nothing configured\n");
        assert_eq!(configured_folders(root.path()), Ok(Vec::new()));
        write("[workloads]\nmanifests = \"deploy\"\n");
        assert_eq!(
            configured_folders(root.path()).unwrap_err(),
            "zero-trust.toml: write the manifest folders as `[workloads]` `manifests = [\"deploy\"]`"
        );
        write("[workloads\n");
        assert!(
            configured_folders(root.path())
                .unwrap_err()
                .starts_with("zero-trust.toml: ")
        );
    }

    /// The repository's own file names deploy/, which emit checks on every run.
    #[test]
    fn the_project_checks_deploy_on_every_emit() {
        assert_eq!(
            configured_folders(&project_root()),
            Ok(vec![project_root().join("deploy")])
        );
    }

    /// An error in the manifests fails emit before anything is written; warnings do not.
    #[test]
    fn emit_stops_on_an_error_of_the_checks() {
        let cluster = policies::cluster().unwrap();
        let files = zero_trust::emit::emit(&cluster).unwrap().files;
        let deploy = project_root().join("deploy");
        assert_eq!(
            check_folders(&cluster, &files, std::slice::from_ref(&deploy)),
            Ok(())
        );
        let folder = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(&deploy).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.replace("k8s-app: kube-dns}", "k8s-app: coredns}");
            std::fs::write(folder.path().join(path.file_name().unwrap()), text).unwrap();
        }
        let error = check_folders(&cluster, &files, &[folder.path().to_owned()]).unwrap_err();
        assert_eq!(
            error,
            "1 of the checks against the workloads failed (above)\n\
             (the manifests are named in zero-trust.toml); nothing was written"
        );
    }
}
