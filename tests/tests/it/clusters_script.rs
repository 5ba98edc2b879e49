//! The scripts of declared clusters, run for real on the example's emitted files with the
//! stand-in `kubectl` of tests/tests/it/apply_script.rs (`support/fake-kubectl.sh`, which logs
//! every call): a cluster's `apply.sh` and `verify.sh` refuse a context not declared for
//! it before any call, and the top-level `apply.sh` rolls the clusters out in the declared
//! order, stopping at the first failure.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::scripts::{Run, assert_exit, assert_shellcheck_passes, write_executable};
use zero_trust::emit::clusters::emit_source;

const FAKE_KUBECTL: &str = include_str!("support/fake-kubectl.sh");
const FAKE_VERIFY: &str = include_str!("support/fake-verify.sh");

/// The example's `k8s/` (each cluster's verify.sh a stand-in that logs its call; the real
/// ones are under `real/`) and `bin/kubectl`, in a temp dir.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        let sandbox = Sandbox { dir };
        let clusters = two_clusters::clusters().expect("the example assembles");
        for (name, text) in emit_source(&clusters).expect("renders").files {
            let path = sandbox.k8s().join(&name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            if name.ends_with("verify.sh") {
                write_executable(&path, FAKE_VERIFY);
                let real = sandbox.real().join(&name);
                fs::create_dir_all(real.parent().unwrap()).unwrap();
                write_executable(&real, &text);
            } else if name.ends_with(".sh") {
                write_executable(&path, &text);
            } else {
                fs::write(&path, text).unwrap();
            }
        }
        fs::create_dir(sandbox.dir.path().join("bin")).unwrap();
        write_executable(&sandbox.dir.path().join("bin/kubectl"), FAKE_KUBECTL);
        sandbox
    }

    fn k8s(&self) -> PathBuf {
        self.dir.path().join("k8s")
    }

    /// The real `verify.sh` of each cluster, in `real/<cluster>/`.
    fn real(&self) -> PathBuf {
        self.dir.path().join("real")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("kubectl.log")
    }

    /// Runs `script ARGS` against clusters with the example's namespaces and no policies;
    /// calls whose line holds `fail_on` fail.
    fn run(&self, script: &Path, args: &[&str], fail_on: Option<&str>) -> Run {
        let _ = fs::remove_file(self.log());
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut search_path = vec![self.dir.path().join("bin")];
        search_path.extend(std::env::split_paths(&path));
        let mut command = Command::new(script);
        command
            .args(args)
            .env("PATH", std::env::join_paths(search_path).unwrap())
            .env("FAKE_KUBECTL_LOG", self.log())
            .env(
                "FAKE_KUBECTL_NAMESPACES",
                "default default\nshop shop\nshop-canary shop-canary\n",
            )
            .env("FAKE_KUBECTL_LIVE", "")
            .env_remove("FAKE_KUBECTL_FAIL_ON")
            .env_remove("CDPATH");
        if let Some(pattern) = fail_on {
            command.env("FAKE_KUBECTL_FAIL_ON", pattern);
        }
        let output = command.output().expect("run the script");
        Run::recorded(output, &self.log())
    }
}

/// The context each call was made with (`verify.sh` calls included), in order.
fn contexts(run: &Run) -> Vec<&str> {
    run.calls
        .iter()
        .filter_map(|call| call.split("--context ").nth(1)?.split(' ').next())
        .collect()
}

#[test]
fn a_clusters_apply_sh_refuses_a_context_of_another_cluster_before_any_call() {
    let sandbox = Sandbox::new();
    let prod = sandbox.k8s().join("prod/apply.sh");
    for args in [
        &["--context", "kind-staging"][..],
        &["--context", "gke-prod-eu", "--context", "kind-staging"],
        &["--context=minikube", "--dry-run"],
    ] {
        let run = sandbox.run(&prod, args, None);
        assert_exit(&run, 2);
        assert!(run.calls.is_empty(), "kubectl was called: {run:#?}");
        assert!(
            run.stderr.contains("is not declared for cluster `prod`, whose policies these are; its contexts: gke-prod-eu gke-prod-us"),
            "{run:#?}"
        );
    }
    let run = sandbox.run(&prod, &["--context", "gke-prod-us", "--dry-run"], None);
    assert_exit(&run, 0);
    assert!(
        contexts(&run).iter().all(|c| *c == "gke-prod-us"),
        "{run:#?}"
    );
}

#[test]
fn a_clusters_verify_sh_refuses_a_context_of_another_cluster_before_any_call() {
    let sandbox = Sandbox::new();
    let prod = sandbox.real().join("prod/verify.sh");
    for args in [
        &["--context", "kind-staging"][..],
        &["--context=minikube", "--timeout", "5"],
    ] {
        let run = sandbox.run(&prod, args, None);
        assert_exit(&run, 2);
        assert!(run.calls.is_empty(), "kubectl was called: {run:#?}");
        let context = args[0].strip_prefix("--context=").unwrap_or(args[1]);
        assert_eq!(
            run.stderr,
            format!(
                "verify.sh: context `{context}` is not declared for cluster `prod`, whose \
                 policies these are; its contexts: gke-prod-eu gke-prod-us (declared in the \
                 assembly next to PARTS); nothing was sent to any cluster\n"
            )
        );
    }
    // A declared context passes the check: the probes begin (the stand-in kubectl knows no
    // pods, so they fail), every call on that context.
    let run = sandbox.run(&prod, &["--context", "gke-prod-us"], None);
    assert!(!run.stderr.contains("is not declared"), "{run:#?}");
    assert!(!run.calls.is_empty(), "{run:#?}");
    assert!(
        contexts(&run).iter().all(|c| *c == "gke-prod-us"),
        "{run:#?}"
    );
}

#[test]
fn the_top_level_apply_sh_refuses_an_undeclared_context_before_any_call() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(
        &sandbox.k8s().join("apply.sh"),
        &["--context", "kind-staging", "--context", "gke-prod"],
        None,
    );
    assert_exit(&run, 2);
    assert!(run.calls.is_empty(), "kubectl was called: {run:#?}");
    assert!(
        run.stderr.contains(
            "context `gke-prod` is not declared for any cluster; declared: kind-staging (cluster staging), gke-prod-eu (cluster prod), gke-prod-us (cluster prod)"
        ),
        "{run:#?}"
    );
}

/// Staging is rolled out, and verified, before prod, whatever the order of the options;
/// each cluster's script gets only its own contexts.
#[test]
fn the_top_level_apply_sh_rolls_out_in_the_declared_order_with_verify() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(
        &sandbox.k8s().join("apply.sh"),
        &[
            "--context",
            "gke-prod-eu",
            "--verify",
            "--context",
            "kind-staging",
        ],
        None,
    );
    assert_exit(&run, 0);
    let contexts = contexts(&run);
    let first_prod = contexts
        .iter()
        .position(|c| *c == "gke-prod-eu")
        .expect("prod");
    assert!(first_prod > 0);
    assert!(
        contexts[..first_prod].iter().all(|c| *c == "kind-staging"),
        "{run:#?}"
    );
    assert!(
        contexts[first_prod..].iter().all(|c| *c == "gke-prod-eu"),
        "{run:#?}"
    );
    let verifies: Vec<&String> = run
        .calls
        .iter()
        .filter(|c| c.starts_with("verify.sh"))
        .collect();
    assert_eq!(
        verifies,
        [
            "verify.sh --context kind-staging",
            "verify.sh --context gke-prod-eu"
        ]
    );
    // Staging's verification comes before prod's first call.
    let staging_verified = run
        .calls
        .iter()
        .position(|c| c == "verify.sh --context kind-staging");
    let prod_first = run.calls.iter().position(|c| c.contains("gke-prod-eu"));
    assert!(staging_verified < prod_first, "{run:#?}");
    assert!(
        run.stdout.contains("==> cluster staging\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("==> cluster prod\n"), "{}", run.stdout);
}

/// A failure in staging (its verification here) stops the rollout: prod is never called.
#[test]
fn a_failure_in_staging_stops_before_prod() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(
        &sandbox.k8s().join("apply.sh"),
        &[
            "--context",
            "kind-staging",
            "--context",
            "gke-prod-eu",
            "--verify",
        ],
        Some("verify.sh --context kind-staging"),
    );
    assert_exit(&run, 1);
    assert!(
        run.calls.iter().all(|c| !c.contains("gke-prod-eu")),
        "prod was called: {run:#?}"
    );
    assert!(
        run.stderr
            .contains("cluster `staging` failed (exit 1); the clusters after it were not touched"),
        "{run:#?}"
    );
}

/// CI installs shellcheck (Debian package `shellcheck`); elsewhere a missing one is a note.
#[test]
fn the_cluster_scripts_pass_shellcheck() {
    let sandbox = Sandbox::new();
    assert_shellcheck_passes(&[
        sandbox.k8s().join("apply.sh"),
        sandbox.k8s().join("prod/apply.sh"),
        sandbox.k8s().join("staging/apply.sh"),
        sandbox.real().join("prod/verify.sh"),
        sandbox.real().join("staging/verify.sh"),
    ]);
}
