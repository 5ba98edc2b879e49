//! The generated `k8s/apply.sh`, run for real: rendered for a small plan next to dummy
//! manifests, with a stand-in `kubectl` (`support/fake-kubectl.sh`) first on PATH that
//! records every call, so each test can assert the exact sequence of kubectl calls. A
//! stand-in `verify.sh` (`support/fake-verify.sh`) records its calls in the same log.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/scripts.rs"]
mod scripts;

use scripts::{Run, assert_exit, assert_shellcheck_passes, write_executable};
use zero_trust::emit::apply_script::{ApplyPlan, GENERATED_HEADER, render_apply_script};

const FAKE_KUBECTL: &str = include_str!("support/fake-kubectl.sh");
const FAKE_VERIFY: &str = include_str!("support/fake-verify.sh");

/// Stands for the k8s/ directory in recorded calls, whose real path is a temp dir.
const K8S: &str = "$K8S";

const GET_MANAGED: &str = "get networkpolicies --all-namespaces -l app.kubernetes.io/managed-by=zero-trust \
     -o jsonpath={range .items[*]}{.metadata.namespace}{\"/\"}{.metadata.name}{\"\\n\"}{end}";

/// What the emitted policies look like in a cluster that is up to date.
const EMITTED_ON_CLUSTER: &str =
    "payments/allow-api\npayments/default-deny\nshop/allow-web\nshop/default-deny\n";

fn plan() -> ApplyPlan {
    ApplyPlan {
        allow_files: vec!["shop-allow.yaml".into(), "payments-allow.yaml".into()],
        deny_files: vec!["default-deny.yaml".into()],
        policies: vec![
            ("payments".into(), "allow-api".into()),
            ("payments".into(), "default-deny".into()),
            ("shop".into(), "allow-web".into()),
            ("shop".into(), "default-deny".into()),
        ],
    }
}

/// A temp dir holding `k8s/` (the rendered script and its manifests) and `bin/kubectl`.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("create a temp dir");
        let sandbox = Sandbox { dir };
        let plan = plan();
        fs::create_dir(sandbox.k8s()).unwrap();
        for file in plan.allow_files.iter().chain(&plan.deny_files) {
            fs::write(sandbox.k8s().join(file), "# a dummy manifest\n").unwrap();
        }
        write_executable(&sandbox.k8s().join("apply.sh"), &render_apply_script(&plan));
        write_executable(&sandbox.k8s().join("verify.sh"), FAKE_VERIFY);
        fs::create_dir(sandbox.bin()).unwrap();
        write_executable(&sandbox.bin().join("kubectl"), FAKE_KUBECTL);
        sandbox
    }

    fn k8s(&self) -> PathBuf {
        self.dir.path().join("k8s")
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("kubectl.log")
    }

    /// Runs `k8s/apply.sh ARGS` from the sandbox root (not from k8s/). `existing` is what
    /// the cluster holds with the managed-by label; calls containing `fail_on` fail.
    fn run(&self, args: &[&str], existing: &str, fail_on: Option<&str>) -> Run {
        self.run_from(
            self.dir.path(),
            &self.k8s().join("apply.sh"),
            args,
            existing,
            fail_on,
        )
    }

    fn run_from(
        &self,
        working_dir: &Path,
        script: &Path,
        args: &[&str],
        existing: &str,
        fail_on: Option<&str>,
    ) -> Run {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut search_path = vec![self.bin()];
        search_path.extend(std::env::split_paths(&path));
        let mut command = Command::new(script);
        command
            .args(args)
            .current_dir(working_dir)
            .env("PATH", std::env::join_paths(search_path).unwrap())
            .env("FAKE_KUBECTL_LOG", self.log())
            .env("FAKE_KUBECTL_EXISTING", existing)
            .env_remove("FAKE_KUBECTL_FAIL_ON");
        if let Some(pattern) = fail_on {
            command.env("FAKE_KUBECTL_FAIL_ON", pattern);
        }
        let output = command.output().expect("run apply.sh");
        let k8s = self.k8s().display().to_string();
        let calls = match fs::read_to_string(self.log()) {
            Ok(log) => log.lines().map(|line| line.replace(&k8s, K8S)).collect(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => panic!("read the kubectl log: {error}"),
        };
        Run {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
            calls,
        }
    }
}

fn dry_run_call(context: &str) -> String {
    format!(
        "--context {context} apply --dry-run=server \
         -f {K8S}/shop-allow.yaml -f {K8S}/payments-allow.yaml -f {K8S}/default-deny.yaml"
    )
}

fn allow_call(context: &str) -> String {
    format!("--context {context} apply -f {K8S}/shop-allow.yaml -f {K8S}/payments-allow.yaml")
}

fn deny_call(context: &str) -> String {
    format!("--context {context} apply -f {K8S}/default-deny.yaml")
}

fn get_call(context: &str) -> String {
    format!("--context {context} {GET_MANAGED}")
}

/// Every call of a full run on a cluster where nothing is stale.
fn full_run_calls(context: &str) -> Vec<String> {
    vec![
        dry_run_call(context),
        allow_call(context),
        deny_call(context),
        get_call(context),
    ]
}

#[test]
fn script_starts_with_shebang_and_generated_header_and_is_deterministic() {
    let script = render_apply_script(&plan());
    let mut lines = script.lines();
    assert_eq!(lines.next(), Some("#!/usr/bin/env bash"));
    assert_eq!(
        lines.next(),
        Some("# Written by `cargo xtask emit` from policies/; do not edit by hand.")
    );
    assert_eq!(
        format!("# {GENERATED_HEADER}"),
        script.lines().nth(1).unwrap()
    );
    assert_eq!(script, render_apply_script(&plan()));

    let mut shuffled = plan();
    shuffled.policies.reverse();
    assert_eq!(
        script,
        render_apply_script(&shuffled),
        "kept policies must not depend on input order"
    );
}

#[test]
fn one_context_dry_runs_then_applies_then_prunes() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--context", "staging"], EMITTED_ON_CLUSTER, None);
    assert_exit(&run, 0);
    assert_eq!(run.calls, full_run_calls("staging"));
    for progress in [
        "==> staging: server-side dry run",
        "==> staging: applying allow policies",
        "==> staging: applying default-deny policies",
        "==> staging: pruning managed policies that are no longer emitted",
        "==> staging: done",
    ] {
        assert!(run.stdout.contains(progress), "no `{progress}` in {run:#?}");
    }
}

#[test]
fn two_contexts_are_applied_in_the_given_order() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(
        &["--context", "staging", "--context=prod"],
        EMITTED_ON_CLUSTER,
        None,
    );
    assert_exit(&run, 0);
    let mut expected = full_run_calls("staging");
    expected.extend(full_run_calls("prod"));
    assert_eq!(run.calls, expected);

    // Not sorted: the order on the command line is the rollout order.
    let sandbox = Sandbox::new();
    let run = sandbox.run(
        &["--context", "prod", "--context", "staging"],
        EMITTED_ON_CLUSTER,
        None,
    );
    assert_exit(&run, 0);
    let mut expected = full_run_calls("prod");
    expected.extend(full_run_calls("staging"));
    assert_eq!(run.calls, expected);
}

#[test]
fn failure_in_first_context_stops_before_the_second() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(
        &["--context", "staging", "--context", "prod"],
        EMITTED_ON_CLUSTER,
        Some("--context staging apply -f"),
    );
    assert_ne!(run.code, Some(0), "{run:#?}");
    assert_eq!(run.calls, [dry_run_call("staging"), allow_call("staging")]);
    assert!(
        run.stderr.contains("failed on context `staging`"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("may be partly updated"), "{run:#?}");
    assert!(
        run.stderr.contains("later contexts were not touched: prod"),
        "{run:#?}"
    );
}

#[test]
fn failed_dry_run_says_nothing_changed_and_names_the_context() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(
        &["--context", "staging", "--context", "prod"],
        EMITTED_ON_CLUSTER,
        Some("--context prod apply --dry-run=server"),
    );
    assert_ne!(run.code, Some(0), "{run:#?}");
    let mut expected = full_run_calls("staging");
    expected.push(dry_run_call("prod"));
    assert_eq!(run.calls, expected);
    assert!(run.stderr.contains("failed on context `prod`"), "{run:#?}");
    assert!(
        run.stderr.contains("nothing was changed on `prod`"),
        "{run:#?}"
    );
    assert!(!run.stderr.contains("later contexts"), "{run:#?}");
}

#[test]
fn failed_prune_stops_and_says_the_policies_are_applied() {
    let sandbox = Sandbox::new();
    let existing = format!("{EMITTED_ON_CLUSTER}shop/allow-old\n");
    let run = sandbox.run(
        &["--context", "staging", "--context", "prod"],
        &existing,
        Some("--context staging delete"),
    );
    assert_ne!(run.code, Some(0), "{run:#?}");
    let mut expected = full_run_calls("staging");
    expected.push("--context staging delete networkpolicy -n shop allow-old".to_owned());
    assert_eq!(run.calls, expected);
    assert!(
        run.stderr.contains("failed on context `staging`"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("prune did not finish"), "{run:#?}");
    assert!(
        run.stderr.contains("later contexts were not touched: prod"),
        "{run:#?}"
    );
}

#[test]
fn dry_run_only_makes_dry_run_calls() {
    let sandbox = Sandbox::new();
    let existing = format!("{EMITTED_ON_CLUSTER}shop/allow-old\n");
    let run = sandbox.run(
        &["--dry-run", "--context", "staging", "--context", "prod"],
        &existing,
        None,
    );
    assert_exit(&run, 0);
    let mut expected = Vec::new();
    for context in ["staging", "prod"] {
        expected.push(dry_run_call(context));
        expected.push(get_call(context));
        expected.push(format!(
            "--context {context} delete --dry-run=server networkpolicy -n shop allow-old"
        ));
    }
    assert_eq!(run.calls, expected);
    assert!(
        run.stdout
            .contains("would delete networkpolicy shop/allow-old"),
        "{run:#?}"
    );
    assert!(run.stdout.contains("nothing was changed"), "{run:#?}");
}

#[test]
fn prune_deletes_only_stale_managed_policies() {
    let sandbox = Sandbox::new();
    // The cluster holds every emitted policy plus two the policies no longer emit; the
    // label selector means unmanaged policies are never even listed.
    let existing = "old/allow-legacy\npayments/allow-api\npayments/default-deny\n\
                    shop/allow-web\nshop/allow-web-old\nshop/default-deny\n";
    let run = sandbox.run(&["--context", "staging"], existing, None);
    assert_exit(&run, 0);
    let mut expected = full_run_calls("staging");
    expected.push("--context staging delete networkpolicy -n old allow-legacy".to_owned());
    expected.push("--context staging delete networkpolicy -n shop allow-web-old".to_owned());
    assert_eq!(run.calls, expected);
}

#[test]
fn allow_files_are_applied_before_deny_files() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--context", "staging"], "", None);
    assert_exit(&run, 0);
    let position = |needle: &str| {
        run.calls
            .iter()
            .position(|call| !call.contains("--dry-run") && call.contains(needle))
            .unwrap_or_else(|| panic!("no apply of `{needle}` in {run:#?}"))
    };
    assert!(position("shop-allow.yaml") < position("default-deny.yaml"));
    assert!(position("payments-allow.yaml") < position("default-deny.yaml"));
}

#[test]
fn no_context_is_refused_without_calling_kubectl() {
    let sandbox = Sandbox::new();
    for args in [&[][..], &["--dry-run"][..]] {
        let run = sandbox.run(args, "", None);
        assert_exit(&run, 2);
        assert!(run.calls.is_empty(), "{run:#?}");
        assert!(run.stderr.contains("no `--context` given"), "{run:#?}");
        assert!(run.stderr.contains("Usage:"), "{run:#?}");
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let sandbox = Sandbox::new();
    for (args, message) in [
        (
            &["--context", "staging", "--force"][..],
            "unknown option `--force`",
        ),
        (&["staging"][..], "unknown option `staging`"),
        (
            &["--context"][..],
            "`--context` needs a kubectl context name",
        ),
        (
            &["--context", "--dry-run"][..],
            "`--context` needs a kubectl context name, not `--dry-run`",
        ),
        (
            &["--context="][..],
            "`--context` needs a kubectl context name",
        ),
    ] {
        let run = sandbox.run(args, "", None);
        assert_exit(&run, 2);
        assert!(run.calls.is_empty(), "{run:#?}");
        assert!(run.stderr.contains(message), "no `{message}` in {run:#?}");
        assert!(run.stderr.contains("Usage:"), "{run:#?}");
    }
}

#[test]
fn help_prints_usage_and_calls_nothing() {
    let sandbox = Sandbox::new();
    for flag in ["-h", "--help"] {
        let run = sandbox.run(&[flag], "", None);
        assert_exit(&run, 0);
        assert!(run.stdout.contains("Usage:"), "{run:#?}");
        assert!(run.stdout.contains("--dry-run"), "{run:#?}");
        assert!(run.stdout.contains("--verify"), "{run:#?}");
        assert!(run.calls.is_empty(), "{run:#?}");
    }
}

#[test]
fn manifests_are_found_from_any_working_directory() {
    let sandbox = Sandbox::new();
    // A relative script path from the sandbox root, then an absolute one from `/`.
    let run = sandbox.run_from(
        sandbox.dir.path(),
        Path::new("k8s/apply.sh"),
        &["--context", "a"],
        "",
        None,
    );
    assert_exit(&run, 0);
    assert_eq!(run.calls, full_run_calls("a"));

    fs::remove_file(sandbox.log()).unwrap();
    let script = sandbox.k8s().join("apply.sh");
    let run = sandbox.run_from(Path::new("/"), &script, &["--context", "b"], "", None);
    assert_exit(&run, 0);
    assert_eq!(run.calls, full_run_calls("b"));
}

#[test]
fn missing_manifest_stops_before_any_kubectl_call() {
    let sandbox = Sandbox::new();
    fs::remove_file(sandbox.k8s().join("default-deny.yaml")).unwrap();
    let run = sandbox.run(&["--context", "staging"], "", None);
    assert_exit(&run, 1);
    assert!(run.calls.is_empty(), "{run:#?}");
    assert!(
        run.stderr
            .contains("default-deny.yaml` is missing; run `cargo xtask emit`"),
        "{run:#?}"
    );
}

fn verify_call(context: &str) -> String {
    format!("verify.sh --context {context}")
}

#[test]
fn verify_runs_verify_sh_on_each_context_after_it_is_applied() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(
        &["--verify", "--context", "staging", "--context", "prod"],
        EMITTED_ON_CLUSTER,
        None,
    );
    assert_exit(&run, 0);
    let mut expected = full_run_calls("staging");
    expected.push(verify_call("staging"));
    expected.extend(full_run_calls("prod"));
    expected.push(verify_call("prod"));
    assert_eq!(run.calls, expected);
    assert!(
        run.stdout.contains("==> staging: verifying with verify.sh"),
        "{run:#?}"
    );
    assert!(run.stdout.contains("1 passed, 0 failed"), "{run:#?}");

    // Without --verify, verify.sh is never run.
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--context", "staging"], EMITTED_ON_CLUSTER, None);
    assert_exit(&run, 0);
    assert_eq!(run.calls, full_run_calls("staging"));
}

#[test]
fn failed_verify_in_staging_stops_the_rollout_before_prod() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(
        &["--context", "staging", "--context", "prod", "--verify"],
        EMITTED_ON_CLUSTER,
        Some("verify.sh --context staging"),
    );
    assert_exit(&run, 1);
    let mut expected = full_run_calls("staging");
    expected.push(verify_call("staging"));
    assert_eq!(run.calls, expected, "prod must not be touched");
    assert!(run.stdout.contains("0 passed, 1 failed"), "{run:#?}");
    assert!(
        run.stderr.contains("failed on context `staging`"),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .contains("`staging` has every emitted policy, but verify.sh failed on it"),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains("later contexts were not touched: prod"),
        "{run:#?}"
    );
}

#[test]
fn verify_cannot_go_with_dry_run_and_needs_verify_sh() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--dry-run", "--verify", "--context", "staging"], "", None);
    assert_exit(&run, 2);
    assert!(run.calls.is_empty(), "{run:#?}");
    assert!(
        run.stderr
            .contains("`--verify` probes a cluster after applying to it"),
        "{run:#?}"
    );

    fs::remove_file(sandbox.k8s().join("verify.sh")).unwrap();
    let run = sandbox.run(&["--verify", "--context", "staging"], "", None);
    assert_exit(&run, 1);
    assert!(run.calls.is_empty(), "{run:#?}");
    assert!(
        run.stderr
            .contains("verify.sh` is missing or not executable; run `cargo xtask emit`"),
        "{run:#?}"
    );
}

/// CI installs shellcheck (Debian package `shellcheck`); elsewhere a missing one is a note.
#[test]
fn rendered_script_and_stand_in_pass_shellcheck() {
    let sandbox = Sandbox::new();
    assert_shellcheck_passes(&[
        sandbox.k8s().join("apply.sh"),
        sandbox.bin().join("kubectl"),
        sandbox.k8s().join("verify.sh"),
    ]);
}
