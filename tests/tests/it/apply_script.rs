//! The generated `k8s/apply.sh`, run for real: rendered for a small plan next to small real
//! manifests, with a stand-in `kubectl` (`support/fake-kubectl.sh`) first on PATH that
//! answers from a described cluster and records every call (and the stdin of each create
//! and replace, split into documents where it batches several), so each test can assert the
//! exact sequence of kubectl calls and what each one carried. A stand-in
//! `verify.sh` (`support/fake-verify.sh`) records its calls in the same log.
//! What only a real API server shows (dry runs, defaults, comparing live objects) is in
//! tests/tests/it/rollout.rs; these show the arguments, the contexts and the messages.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::scripts::{Run, assert_exit, assert_shellcheck_passes, write_executable};
use zero_trust::emit::GENERATED_HEADER;
use zero_trust::emit::apply_script::{ApplyPlan, ApplyStep, render_apply_script};

const FAKE_KUBECTL: &str = include_str!("support/fake-kubectl.sh");
const FAKE_VERIFY: &str = include_str!("support/fake-verify.sh");

const SPEC_WEB: &str = "  ingress:\n  - ports:\n    - port: 8080\n      protocol: TCP\n  \
     podSelector:\n    matchLabels:\n      app: web\n  policyTypes:\n  - Ingress\n";
const SPEC_API: &str = "  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels:\n          \
     kubernetes.io/metadata.name: shop\n    ports:\n    - port: 9000\n      protocol: TCP\n  \
     podSelector:\n    matchLabels:\n      app: api\n  policyTypes:\n  - Ingress\n";
const SPEC_DNS: &str = "  egress:\n  - ports:\n    - port: 53\n      protocol: UDP\n  \
     podSelector: {}\n  policyTypes:\n  - Egress\n";
const SPEC_DENY: &str = "  podSelector: {}\n  policyTypes:\n  - Ingress\n  - Egress\n";

/// The manifests next to the script: each file's documents in order, as namespace/name
/// and spec.
const MANIFESTS: &[(&str, &[(&str, &str)])] = &[
    (
        "10-allow-payments.yaml",
        &[("payments/api.ingress", SPEC_API)],
    ),
    (
        "10-allow-shop.yaml",
        &[
            ("shop/web.ingress", SPEC_WEB),
            ("shop/all-pods.egress", SPEC_DNS),
        ],
    ),
    (
        "20-default-deny.yaml",
        &[
            ("payments/default-deny-all", SPEC_DENY),
            ("shop/default-deny-all", SPEC_DENY),
        ],
    ),
];

/// The plan's rollout order (file, document, policy): neither the files' order nor sorted,
/// so a script that went file by file or sorted would write in another order.
const ORDER: [(&str, usize, &str); 5] = [
    ("10-allow-shop.yaml", 1, "shop/web.ingress"),
    ("10-allow-payments.yaml", 1, "payments/api.ingress"),
    ("10-allow-shop.yaml", 2, "shop/all-pods.egress"),
    ("20-default-deny.yaml", 2, "shop/default-deny-all"),
    ("20-default-deny.yaml", 1, "payments/default-deny-all"),
];

const SOURCE_SELECTOR: &str =
    "app.kubernetes.io/managed-by=zero-trust,zero-trust.dev/policy-source=storefront";
/// The jsonpath arguments apply.sh passes, as kubectl receives them.
const COMPARED: &str =
    r#"{.metadata.namespace}{"/"}{.metadata.name}{"\t"}{.metadata.labels}{"\t"}{.spec}{"\n"}"#;
/// A List (several names) prints the range, a single object the tail.
const NAMES_AND_LABELS: &str = r#"{range .items[*]}{.metadata.name}{" "}{.metadata.labels.kubernetes\.io/metadata\.name}{"\n"}{end}{.metadata.name}{" "}{.metadata.labels.kubernetes\.io/metadata\.name}{"\n"}"#;
const NAMES: &str = r#"{range .items[*]}{.metadata.name}{"\n"}{end}"#;

fn plan() -> ApplyPlan {
    ApplyPlan {
        steps: ORDER
            .iter()
            .map(|&(file, index, policy)| {
                let (namespace, name) = policy.split_once('/').unwrap();
                ApplyStep {
                    file: file.into(),
                    index,
                    namespace: namespace.into(),
                    name: name.into(),
                }
            })
            .collect(),
        managed_namespaces: vec!["payments".into(), "shop".into()],
        source: "storefront".into(),
        cluster: None,
        port_range_policies: Vec::new(),
    }
}

/// The emitted policies in the plan's order.
fn policies() -> impl Iterator<Item = &'static str> {
    ORDER.iter().map(|step| step.2)
}

/// The YAML document of `policy` as its manifest holds it (after its `---` line).
fn document(policy: &str) -> String {
    let spec = MANIFESTS
        .iter()
        .flat_map(|(_, documents)| documents.iter())
        .find(|(p, _)| *p == policy)
        .unwrap_or_else(|| panic!("no manifest holds {policy}"))
        .1;
    let (namespace, name) = policy.split_once('/').unwrap();
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  labels:\n    \
         app.kubernetes.io/managed-by: zero-trust\n    zero-trust.dev/policy-source: storefront\n  \
         name: {name}\n  namespace: {namespace}\nspec:\n{spec}"
    )
}

/// What the stand-in kubectl answers (see support/fake-kubectl.sh for the line formats).
#[derive(Clone, Copy)]
struct Cluster<'a> {
    /// The namespaces: name, then the value of its kubernetes.io/metadata.name label.
    namespaces: &'a str,
    /// The NetworkPolicies: namespace/name, then `edited` or `unlabelled`.
    live: &'a str,
    /// Calls whose argument line contains this fail.
    fail_on: Option<&'a str>,
    /// The answer to `get --raw /version`; the stand-in's own (Kubernetes 1.20.2) if none.
    version: Option<&'a str>,
}

/// Reachable, both managed namespaces labelled, no NetworkPolicy yet.
const EMPTY: Cluster = Cluster {
    namespaces: "default default\npayments payments\nshop shop\n",
    live: "",
    fail_on: None,
    version: None,
};

/// Every emitted policy is live as k8s/ says.
const UP_TO_DATE: &str = "payments/api.ingress\npayments/default-deny-all\n\
     shop/all-pods.egress\nshop/default-deny-all\nshop/web.ingress\n";

/// A temp dir holding `k8s/` (the rendered script, its manifests and a stand-in verify.sh),
/// `bin/kubectl` and, per run, `log/`.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Self::with_plan(&plan())
    }

    fn with_plan(plan: &ApplyPlan) -> Self {
        let dir = tempfile::tempdir().expect("create a temp dir");
        let sandbox = Sandbox { dir };
        fs::create_dir(sandbox.k8s()).unwrap();
        for (file, documents) in MANIFESTS {
            let mut text = format!("# {GENERATED_HEADER}\n");
            for (policy, _) in documents.iter() {
                text.push_str("---\n");
                text.push_str(&document(policy));
            }
            fs::write(sandbox.k8s().join(file), text).unwrap();
        }
        write_executable(&sandbox.k8s().join("apply.sh"), &render_apply_script(plan));
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
        self.dir.path().join("log").join("kubectl.log")
    }

    /// Runs `k8s/apply.sh ARGS` from the sandbox root (not from k8s/) against `cluster`.
    fn run(&self, args: &[&str], cluster: Cluster) -> Run {
        self.run_from(
            self.dir.path(),
            &self.k8s().join("apply.sh"),
            args,
            cluster,
            &[],
        )
    }

    fn run_from(
        &self,
        working_dir: &Path,
        script: &Path,
        args: &[&str],
        cluster: Cluster,
        env: &[(&str, &Path)],
    ) -> Run {
        let log_dir = self.log().parent().unwrap().to_owned();
        if log_dir.exists() {
            fs::remove_dir_all(&log_dir).unwrap();
        }
        fs::create_dir(&log_dir).unwrap();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut search_path = vec![self.bin()];
        search_path.extend(std::env::split_paths(&path));
        let mut command = Command::new(script);
        command
            .args(args)
            .current_dir(working_dir)
            .env("PATH", std::env::join_paths(search_path).unwrap())
            .env("FAKE_KUBECTL_LOG", self.log())
            .env("FAKE_KUBECTL_NAMESPACES", cluster.namespaces)
            .env("FAKE_KUBECTL_LIVE", cluster.live)
            .env_remove("FAKE_KUBECTL_FAIL_ON")
            .env_remove("FAKE_KUBECTL_VERSION")
            .env_remove("CDPATH");
        if let Some(pattern) = cluster.fail_on {
            command.env("FAKE_KUBECTL_FAIL_ON", pattern);
        }
        if let Some(answer) = cluster.version {
            command.env("FAKE_KUBECTL_VERSION", answer);
        }
        command.envs(env.iter().copied());
        let output = command.output().expect("run apply.sh");
        Run::recorded(output, &self.log())
    }

    /// Each create and replace call of the last run with the stdin kubectl got.
    fn inputs(&self, run: &Run) -> Vec<(String, String)> {
        let mut inputs = Vec::new();
        for (i, call) in run.calls.iter().enumerate() {
            let file = format!("{}.stdin.{}", self.log().display(), i + 1);
            if let Ok(stdin) = fs::read_to_string(file) {
                inputs.push((call.clone(), stdin));
            }
        }
        inputs
    }
}

fn split(policy: &str) -> (&str, &str) {
    policy.split_once('/').unwrap()
}

/// Step 1: the cluster answers, then one lookup of every managed namespace.
fn preflight(context: &str) -> Vec<String> {
    vec![
        format!("--context {context} --request-timeout=15s get --raw /version"),
        get_namespaces(context),
    ]
}

fn get_namespaces(context: &str) -> String {
    format!(
        "--context {context} get namespaces payments shop --ignore-not-found -o jsonpath={NAMES_AND_LABELS}"
    )
}

/// Step 2 begins with one listing of the live policies per managed namespace.
fn get_live(context: &str) -> Vec<String> {
    ["payments", "shop"]
        .iter()
        .map(|namespace| {
            format!(
                "--context {context} get networkpolicies -n {namespace} -o jsonpath={{range .items[*]}}{COMPARED}{{end}}"
            )
        })
        .collect()
}

fn create_dry_run(context: &str) -> String {
    format!("--context {context} create --dry-run=server -f - -o name")
}

fn replace_dry_run(context: &str) -> String {
    format!("--context {context} replace --dry-run=server -f - -o jsonpath={COMPARED}")
}

fn create(context: &str) -> String {
    format!("--context {context} create --save-config -f - -o name")
}

fn replace(context: &str) -> String {
    format!("--context {context} replace --save-config -f - -o name")
}

fn list(context: &str) -> Vec<String> {
    ["payments", "shop"]
        .iter()
        .map(|namespace| {
            format!(
                "--context {context} get networkpolicies -n {namespace} -l {SOURCE_SELECTOR} -o jsonpath={NAMES}"
            )
        })
        .collect()
}

fn delete(context: &str, policy: &str) -> String {
    let (namespace, name) = split(policy);
    format!("--context {context} delete networkpolicy -n {namespace} {name}")
}

fn verify(context: &str) -> String {
    format!("verify.sh --context {context}")
}

/// Phase 1 on a cluster that has none of the policies: one dry run creates them all.
fn check_empty(context: &str) -> Vec<String> {
    concat(&[
        preflight(context),
        get_live(context),
        vec![create_dry_run(context)],
    ])
}

/// Phase 1 on a cluster that has all of them (edited or not): one dry run replaces them all.
fn check_live(context: &str) -> Vec<String> {
    concat(&[
        preflight(context),
        get_live(context),
        vec![replace_dry_run(context)],
    ])
}

/// The documents of a batched dry run's stdin, each as `document` gives it: a line `---`
/// starts each one, nothing comes before the first, and blank lines at the end of one are
/// not part of it.
fn documents_of(stdin: &str) -> Vec<String> {
    let mut documents: Vec<String> = Vec::new();
    for line in stdin.lines() {
        if line == "---" {
            documents.push(String::new());
        } else if let Some(document) = documents.last_mut() {
            document.push_str(line);
            document.push('\n');
        } else {
            panic!("`{line}` before the first `---` in a batched dry run:\n{stdin}");
        }
    }
    for document in &mut documents {
        while document.ends_with("\n\n") || document == "\n" {
            document.pop();
        }
    }
    documents
}

/// A batched dry run's call and the documents it carried.
type Batch = (String, Vec<String>);
/// A write's call and its stdin.
type Write = (String, String);

/// The create and replace calls of a run with what they carried: the documents of each
/// batched dry run, and the stdin of each write (exactly one document).
fn batches_and_writes(inputs: Vec<Write>) -> (Vec<Batch>, Vec<Write>) {
    let (dry_runs, writes): (Vec<_>, Vec<_>) = inputs
        .into_iter()
        .partition(|(call, _)| call.contains("--dry-run=server"));
    let batches = dry_runs
        .into_iter()
        .map(|(call, stdin)| (call, documents_of(&stdin)))
        .collect();
    (batches, writes)
}

/// The documents of `policies`, in that order.
fn documents<'a>(policies: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    policies.into_iter().map(document).collect()
}

/// Phase 2 on a cluster that has none of the policies: create each, then list to prune.
fn write_empty(context: &str) -> Vec<String> {
    let mut calls = vec![create(context); 5];
    calls.extend(list(context));
    calls
}

fn concat(parts: &[Vec<String>]) -> Vec<String> {
    parts.concat()
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
}

#[test]
fn one_context_on_an_empty_cluster_creates_every_policy_in_order() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--context", "staging"], EMPTY);
    assert_exit(&run, 0);
    assert_eq!(
        run.calls,
        concat(&[check_empty("staging"), write_empty("staging")])
    );
    assert_eq!(
        run.stdout,
        "==> staging: preflight\n\
         ==> staging: server-side dry run of 5 policies\n    \
         5 to create, 0 to repair, 0 up to date\n\
         ==> staging: writing policies in the proven order\n    \
         created shop/web.ingress\n    \
         created payments/api.ingress\n    \
         created shop/all-pods.egress\n    \
         created shop/default-deny-all\n    \
         created payments/default-deny-all\n\
         ==> staging: pruning this source's policies that are no longer emitted\n    \
         nothing to prune\n\
         ==> staging: done\n\
         ==> applied to: staging\n"
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn no_context_is_refused_without_calling_kubectl() {
    let sandbox = Sandbox::new();
    for args in [&[][..], &["--dry-run"][..], &["--verify"][..]] {
        let run = sandbox.run(args, EMPTY);
        assert_exit(&run, 2);
        assert!(run.calls.is_empty(), "{run:#?}");
        assert!(
            run.stderr.starts_with(
                "apply.sh: no `--context` given; name every cluster to apply to, e.g. \
                 `--context staging` (this script never guesses from kubectl's current context)\n\nUsage: "
            ),
            "{run:#?}"
        );
        assert_eq!(run.stdout, "");
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
            "`--context` needs a kubectl context name, not ``",
        ),
        (
            &["--context", "staging", "--context", ""][..],
            "`--context` needs a kubectl context name, not ``",
        ),
    ] {
        let run = sandbox.run(args, EMPTY);
        assert_exit(&run, 2);
        assert!(run.calls.is_empty(), "{run:#?}");
        assert!(
            run.stderr
                .starts_with(&format!("apply.sh: {message}\n\nUsage: ")),
            "no `{message}` first in {run:#?}"
        );
    }
}

#[test]
fn a_context_given_twice_is_a_usage_error() {
    let sandbox = Sandbox::new();
    for (args, context) in [
        (
            &["--context", "staging", "--context", "staging"][..],
            "staging",
        ),
        (
            &[
                "--context=prod",
                "--context",
                "staging",
                "--context",
                "prod",
            ][..],
            "prod",
        ),
        (
            &["--context", "prod", "--dry-run", "--context=prod"][..],
            "prod",
        ),
    ] {
        let run = sandbox.run(args, EMPTY);
        assert_exit(&run, 2);
        assert!(run.calls.is_empty(), "{run:#?}");
        assert!(
            run.stderr.starts_with(&format!(
                "apply.sh: `--context {context}` is given twice; name each cluster once\n\nUsage: "
            )),
            "{run:#?}"
        );
        assert_eq!(run.stdout, "");
    }
}

#[test]
fn help_prints_usage_and_calls_nothing() {
    let sandbox = Sandbox::new();
    for args in [
        &["-h"][..],
        &["--help"][..],
        &["--context", "staging", "--help"][..],
    ] {
        let run = sandbox.run(args, EMPTY);
        assert_exit(&run, 0);
        assert!(run.stdout.starts_with("Usage: "), "{run:#?}");
        for option in ["--context CONTEXT", "--dry-run", "--verify", "-h, --help"] {
            assert!(run.stdout.contains(option), "no `{option}` in {run:#?}");
        }
        assert!(run.stdout.contains(SOURCE_SELECTOR), "{run:#?}");
        assert!(run.calls.is_empty(), "{run:#?}");
        assert_eq!(run.stderr, "");
    }
}

#[test]
fn manifests_are_found_from_any_working_directory() {
    let sandbox = Sandbox::new();
    let expected = |context| concat(&[check_empty(context), write_empty(context)]);
    // A relative path from the sandbox root, an absolute one from `/`, and `./apply.sh`.
    let run = sandbox.run_from(
        sandbox.dir.path(),
        Path::new("k8s/apply.sh"),
        &["--context", "a"],
        EMPTY,
        &[],
    );
    assert_exit(&run, 0);
    assert_eq!(run.calls, expected("a"));
    let run = sandbox.run_from(
        Path::new("/"),
        &sandbox.k8s().join("apply.sh"),
        &["--context", "b"],
        EMPTY,
        &[],
    );
    assert_exit(&run, 0);
    assert_eq!(run.calls, expected("b"));
    let run = sandbox.run_from(
        &sandbox.k8s(),
        Path::new("./apply.sh"),
        &["--context", "c"],
        EMPTY,
        &[],
    );
    assert_exit(&run, 0);
    assert_eq!(run.calls, expected("c"));

    // CDPATH naming a directory with another k8s/ (whose manifests hold other documents)
    // must not change where the manifests are read from.
    let elsewhere = sandbox.dir.path().join("elsewhere");
    fs::create_dir_all(elsewhere.join("k8s")).unwrap();
    for (file, _) in MANIFESTS {
        fs::write(
            elsewhere.join("k8s").join(file),
            "# not these\n---\nkind: Other\n---\nkind: Other\n",
        )
        .unwrap();
    }
    let run = sandbox.run_from(
        sandbox.dir.path(),
        Path::new("k8s/apply.sh"),
        &["--context", "d"],
        EMPTY,
        &[("CDPATH", &elsewhere)],
    );
    assert_exit(&run, 0);
    assert_eq!(run.calls, expected("d"));
    let (batches, writes) = batches_and_writes(sandbox.inputs(&run));
    assert_eq!(batches, [(create_dry_run("d"), documents(policies()))]);
    let want: Vec<(String, String)> = policies().map(|p| (create("d"), document(p))).collect();
    assert_eq!(writes, want);
}

#[test]
fn missing_manifest_stops_before_any_kubectl_call() {
    let sandbox = Sandbox::new();
    fs::remove_file(sandbox.k8s().join("20-default-deny.yaml")).unwrap();
    let run = sandbox.run(&["--context", "staging"], EMPTY);
    assert_exit(&run, 1);
    assert!(run.calls.is_empty(), "{run:#?}");
    assert_eq!(
        run.stderr,
        format!(
            "apply.sh: manifest `{}/20-default-deny.yaml` is missing; run `cargo xtask emit` to write k8s/ again\n",
            sandbox.k8s().display()
        )
    );
}

#[test]
fn each_step_sends_exactly_its_document() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--context", "staging"], EMPTY);
    assert_exit(&run, 0);
    let (batches, writes) = batches_and_writes(sandbox.inputs(&run));
    // One dry run carries every document, in the plan's order; each write exactly one.
    assert_eq!(
        batches,
        [(create_dry_run("staging"), documents(policies()))]
    );
    let expected: Vec<(String, String)> = policies()
        .map(|policy| (create("staging"), document(policy)))
        .collect();
    assert_eq!(writes, expected);

    let live = "payments/api.ingress edited\npayments/default-deny-all edited\n\
                shop/all-pods.egress edited\nshop/default-deny-all edited\nshop/web.ingress edited\n";
    let run = sandbox.run(&["--context", "staging"], Cluster { live, ..EMPTY });
    assert_exit(&run, 0);
    let (batches, writes) = batches_and_writes(sandbox.inputs(&run));
    assert_eq!(
        batches,
        [(replace_dry_run("staging"), documents(policies()))]
    );
    let expected: Vec<(String, String)> = policies()
        .map(|policy| (replace("staging"), document(policy)))
        .collect();
    assert_eq!(writes, expected);
}

#[test]
fn steps_are_written_in_the_plans_order_and_only_where_needed() {
    let sandbox = Sandbox::new();
    // One up to date, one edited by hand, one that lost its labels, two missing.
    let live = "shop/web.ingress edited\npayments/api.ingress\nshop/default-deny-all unlabelled\n";
    let run = sandbox.run(&["--context", "staging"], Cluster { live, ..EMPTY });
    assert_exit(&run, 0);
    let s = "staging";
    let expected = concat(&[
        preflight(s),
        get_live(s),
        vec![
            create_dry_run(s),
            replace_dry_run(s),
            replace(s),
            create(s),
            replace(s),
            create(s),
        ],
        list(s),
    ]);
    assert_eq!(run.calls, expected);
    let (batches, writes) = batches_and_writes(sandbox.inputs(&run));
    // Each dry run carries the documents of the steps it decides, in the plan's order.
    assert_eq!(
        batches,
        [
            (
                create_dry_run(s),
                documents(["shop/all-pods.egress", "payments/default-deny-all"])
            ),
            (
                replace_dry_run(s),
                documents([
                    "shop/web.ingress",
                    "payments/api.ingress",
                    "shop/default-deny-all"
                ])
            ),
        ]
    );
    assert_eq!(
        writes,
        [
            (replace(s), document("shop/web.ingress")),
            (create(s), document("shop/all-pods.egress")),
            (replace(s), document("shop/default-deny-all")),
            (create(s), document("payments/default-deny-all")),
        ]
    );
    assert_eq!(
        run.stdout,
        "==> staging: preflight\n\
         ==> staging: server-side dry run of 5 policies\n    \
         2 to create, 2 to repair, 1 up to date\n\
         ==> staging: writing policies in the proven order\n    \
         repaired shop/web.ingress (its live labels or spec differed from k8s/)\n    \
         created shop/all-pods.egress\n    \
         repaired shop/default-deny-all (its live labels or spec differed from k8s/)\n    \
         created payments/default-deny-all\n\
         ==> staging: pruning this source's policies that are no longer emitted\n    \
         nothing to prune\n\
         ==> staging: done\n\
         ==> applied to: staging\n"
    );
}

#[test]
fn two_contexts_are_both_checked_before_either_is_written_then_written_in_order() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--context", "staging", "--context=prod"], EMPTY);
    assert_exit(&run, 0);
    assert_eq!(
        run.calls,
        concat(&[
            check_empty("staging"),
            check_empty("prod"),
            write_empty("staging"),
            write_empty("prod"),
        ])
    );
    assert!(
        run.stdout
            .ends_with("==> prod: done\n==> applied to: staging prod\n"),
        "{run:#?}"
    );

    // Not sorted: the order on the command line is the rollout order.
    let run = sandbox.run(&["--context", "prod", "--context", "staging"], EMPTY);
    assert_exit(&run, 0);
    assert_eq!(
        run.calls,
        concat(&[
            check_empty("prod"),
            check_empty("staging"),
            write_empty("prod"),
            write_empty("staging"),
        ])
    );
}

#[test]
fn an_unreachable_second_context_stops_before_any_write() {
    let sandbox = Sandbox::new();
    let unreachable = "--context prod --request-timeout=15s get --raw /version";
    let run = sandbox.run(
        &["--context", "staging", "--context", "prod"],
        Cluster {
            fail_on: Some(unreachable),
            ..EMPTY
        },
    );
    assert_exit(&run, 1);
    let mut expected = check_empty("staging");
    expected.push(unreachable.to_owned());
    assert_eq!(run.calls, expected);
    // Only the first line of kubectl's error.
    assert_eq!(
        run.stderr,
        format!(
            "apply.sh: cannot reach the cluster of context `prod`: error: fake kubectl told to fail: {unreachable}\n\
             apply.sh: failed on context `prod` (exit status 1); see the output above\n\
             apply.sh: nothing was changed on any context\n"
        )
    );
}

#[test]
fn an_unreadable_namespace_list_is_reported_with_kubectls_error_before_any_write() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(
        &["--context", "staging", "--context", "prod"],
        Cluster {
            fail_on: Some("--context prod get namespaces"),
            ..EMPTY
        },
    );
    assert_exit(&run, 1);
    // The batched lookup fails with its stderr discarded; a second call without the
    // jsonpath collects kubectl's error.
    let again = "--context prod get namespaces payments shop";
    assert_eq!(
        run.calls,
        concat(&[
            check_empty("staging"),
            preflight("prod"),
            vec![again.to_owned()],
        ])
    );
    assert_eq!(
        run.stderr,
        format!(
            "apply.sh: cannot read the managed namespaces on context `prod`: error: fake \
             kubectl told to fail: {again}\n\
             apply.sh: failed on context `prod` (exit status 1); see the output above\n\
             apply.sh: nothing was changed on any context\n"
        )
    );
}

#[test]
fn a_failed_listing_or_dry_run_stops_every_context_before_any_write() {
    let sandbox = Sandbox::new();
    // prod's policies all exist, so its check needs its listings and one replace dry run.
    for (failing, calls) in [
        (
            "--context prod get networkpolicies -n payments",
            concat(&[preflight("prod"), vec![get_live("prod")[0].clone()]]),
        ),
        (
            "--context prod get networkpolicies -n shop",
            concat(&[preflight("prod"), get_live("prod")]),
        ),
        (
            "--context prod replace --dry-run=server",
            check_live("prod"),
        ),
    ] {
        let run = sandbox.run(
            &["--context", "staging", "--context", "prod"],
            Cluster {
                live: UP_TO_DATE,
                fail_on: Some(failing),
                ..EMPTY
            },
        );
        assert_exit(&run, 1);
        assert_eq!(run.calls, concat(&[check_live("staging"), calls]));
        assert!(
            run.stderr.ends_with(
                "apply.sh: failed on context `prod` (exit status 1); see the output above\n\
                 apply.sh: nothing was changed on any context\n"
            ),
            "{run:#?}"
        );
    }

    // The same for the create dry run, on an empty cluster.
    let run = sandbox.run(
        &["--context", "staging", "--context", "prod"],
        Cluster {
            fail_on: Some("--context prod create --dry-run=server"),
            ..EMPTY
        },
    );
    assert_exit(&run, 1);
    assert_eq!(
        run.calls,
        concat(&[check_empty("staging"), check_empty("prod")])
    );
    assert!(
        run.stderr
            .ends_with("apply.sh: nothing was changed on any context\n"),
        "{run:#?}"
    );
}

/// How preflight on `staging` ends when `payments` lacks its name label.
const PAYMENTS_UNLABELLED_ON_STAGING: &str = "apply.sh: on context `staging`, these namespaces \
     lack the label kubernetes.io/metadata.name=<their name> that the policies select \
     namespaces by (Kubernetes sets it from 1.21 on): payments; label each, e.g. kubectl \
     --context staging label namespace payments --overwrite kubernetes.io/metadata.name=payments\n\
     apply.sh: failed on context `staging` (exit status 1); see the output above\n\
     apply.sh: nothing was changed on any context\n";

#[test]
fn missing_and_unlabelled_namespaces_are_reported_together() {
    let sandbox = Sandbox::new();
    // `payments` without the label, then with another namespace's name in it; no `shop`.
    for namespaces in ["default default\npayments\n", "payments shop\n"] {
        let run = sandbox.run(
            &["--context", "staging", "--context", "prod"],
            Cluster {
                namespaces,
                ..EMPTY
            },
        );
        assert_exit(&run, 1);
        assert_eq!(run.calls, preflight("staging"));
        assert_eq!(run.stdout, "==> staging: preflight\n");
        assert_eq!(
            run.stderr,
            format!(
                "apply.sh: context `staging` lacks the managed namespaces: shop; create them \
                 (kubectl create namespace NAME) and run again\n{PAYMENTS_UNLABELLED_ON_STAGING}"
            )
        );
    }
}

/// The plan, with two of its policies holding a port range (`endPort`).
fn plan_with_port_ranges() -> ApplyPlan {
    ApplyPlan {
        port_range_policies: vec!["shop/web.ingress".into(), "payments/api.ingress".into()],
        ..plan()
    }
}

/// What `kubectl get --raw /version` prints, pretty-printed as the server sends it.
fn version_answer(major: &str, minor: &str, git_version: &str) -> String {
    format!(
        "{{\n  \"major\": \"{major}\",\n  \"minor\": \"{minor}\",\n  \"gitVersion\": \"{git_version}\",\n  \"platform\": \"linux/amd64\"\n}}"
    )
}

#[test]
fn a_port_range_is_refused_on_a_server_before_1_22_before_any_write_on_any_context() {
    let sandbox = Sandbox::with_plan(&plan_with_port_ranges());
    // The stand-in answers as Kubernetes 1.20.2 (both contexts alike): the first context's
    // preflight refuses, still reporting its namespaces, and the second is never called.
    let run = sandbox.run(
        &["--context", "staging", "--context", "prod"],
        Cluster {
            namespaces: "payments\nshop shop\n",
            ..EMPTY
        },
    );
    assert_exit(&run, 1);
    assert_eq!(run.calls, preflight("staging"));
    assert_eq!(run.stdout, "==> staging: preflight\n");
    assert_eq!(
        run.stderr,
        format!(
            "apply.sh: context `staging` runs Kubernetes v1.20.2, which drops the port range \
             (endPort) of shop/web.ingress payments/api.ingress, so each would allow only the \
             first port of its range; upgrade the cluster to Kubernetes 1.22 or later, or list \
             the ports one by one instead of a range\n{PAYMENTS_UNLABELLED_ON_STAGING}"
        )
    );

    // Without a range, the same server is rolled out to.
    let run = Sandbox::new().run(&["--context", "staging"], EMPTY);
    assert_exit(&run, 0);
}

#[test]
fn the_server_version_is_read_from_major_and_minor_or_else_from_git_version() {
    let sandbox = Sandbox::with_plan(&plan_with_port_ranges());
    let refused = |shown: &str| {
        format!("apply.sh: context `staging` runs Kubernetes {shown}, which drops the port range")
    };
    for (answer, refusal) in [
        // Some distributions suffix the minor; only its digits count.
        (
            version_answer("1", "21+", "v1.21.14-eks-fb459a0"),
            Some(refused("v1.21.14-eks-fb459a0")),
        ),
        (version_answer("1", "22+", "v1.22.17-gke.1"), None),
        (version_answer("1", "22", "v1.22.0"), None),
        (version_answer("1", "37", "v1.37.0"), None),
        (version_answer("2", "0", "v2.0.0"), None),
        // Empty major and minor: gitVersion says it.
        (version_answer("", "", "v1.21.0"), Some(refused("v1.21.0"))),
        (version_answer("", "", "v1.25.3+k3s1"), None),
        // No gitVersion: the version is shown as major.minor.
        (
            r#"{"major": "1", "minor": "19"}"#.to_owned(),
            Some(refused("1.19")),
        ),
        (
            r#"{"kind": "Status", "message": "no version here"}"#.to_owned(),
            Some(
                "apply.sh: cannot tell the Kubernetes version of context `staging` from its \
                 /version answer, and these policies hold a port range (endPort), which a server \
                 before 1.22 drops: shop/web.ingress payments/api.ingress; check the cluster's \
                 version, or list the ports one by one instead of a range\n"
                    .to_owned(),
            ),
        ),
    ] {
        let run = sandbox.run(
            &["--context", "staging"],
            Cluster {
                version: Some(&answer),
                ..EMPTY
            },
        );
        match refusal {
            Some(message) => {
                assert_exit(&run, 1);
                assert_eq!(run.calls, preflight("staging"), "{answer}");
                assert!(run.stderr.starts_with(&message), "{answer}: {run:#?}");
                assert!(
                    run.stderr
                        .ends_with("apply.sh: nothing was changed on any context\n")
                );
            }
            None => {
                assert_exit(&run, 0);
                assert_eq!(
                    run.calls,
                    concat(&[check_empty("staging"), write_empty("staging")]),
                    "{answer}"
                );
            }
        }
    }
}

#[test]
fn dry_run_writes_nothing_and_reports_what_it_would_do() {
    let sandbox = Sandbox::new();
    // Up to date, edited, three missing; one stale; one without our labels (not ours).
    let live = "shop/web.ingress\npayments/api.ingress edited\nshop/old.ingress\n\
                payments/hand-made unlabelled\n";
    let run = sandbox.run(
        &["--dry-run", "--context", "staging", "--context", "prod"],
        Cluster { live, ..EMPTY },
    );
    assert_exit(&run, 0);
    let mut expected = Vec::new();
    for c in ["staging", "prod"] {
        expected.extend(preflight(c));
        expected.extend(get_live(c));
        expected.extend([create_dry_run(c), replace_dry_run(c)]);
        expected.extend(list(c));
    }
    assert_eq!(run.calls, expected);
    let (batches, writes) = batches_and_writes(sandbox.inputs(&run));
    assert_eq!(writes, []);
    let mut expected = Vec::new();
    for c in ["staging", "prod"] {
        expected.extend([
            (
                create_dry_run(c),
                documents([
                    "shop/all-pods.egress",
                    "shop/default-deny-all",
                    "payments/default-deny-all",
                ]),
            ),
            (
                replace_dry_run(c),
                documents(["shop/web.ingress", "payments/api.ingress"]),
            ),
        ]);
    }
    assert_eq!(batches, expected);
    let report = |c: &str| {
        format!(
            "==> {c}: preflight\n\
             ==> {c}: server-side dry run of 5 policies\n    \
             would repair payments/api.ingress (its live labels or spec differ from k8s/)\n    \
             would create shop/all-pods.egress\n    \
             would create shop/default-deny-all\n    \
             would create payments/default-deny-all\n    \
             3 to create, 1 to repair, 1 up to date\n    \
             would delete shop/old.ingress (managed by this source, no longer emitted)\n"
        )
    };
    assert_eq!(
        run.stdout,
        format!(
            "{}{}==> dry run passed for: staging prod; nothing was changed\n",
            report("staging"),
            report("prod")
        )
    );

    let run = sandbox.run(&["--context", "staging", "--dry-run"], EMPTY);
    assert_exit(&run, 0);
    assert_eq!(
        run.calls,
        concat(&[check_empty("staging"), list("staging")])
    );
    assert!(
        run.stdout
            .contains("5 to create, 0 to repair, 0 up to date\n    nothing to prune\n"),
        "{run:#?}"
    );
}

#[test]
fn prune_deletes_only_stale_policies_of_this_source_in_managed_namespaces() {
    let sandbox = Sandbox::new();
    // Stale: one per managed namespace. Kept: one without the source labels (never listed),
    // and one in a namespace no policy names (never looked at).
    let live = format!(
        "{UP_TO_DATE}payments/api.v1\nshop/hand-made unlabelled\nshop/old.ingress\nlegacy/old\n"
    );
    let run = sandbox.run(
        &["--context", "staging"],
        Cluster {
            live: &live,
            ..EMPTY
        },
    );
    assert_exit(&run, 0);
    let mut expected = check_live("staging");
    expected.extend(list("staging"));
    expected.push(delete("staging", "payments/api.v1"));
    expected.push(delete("staging", "shop/old.ingress"));
    assert_eq!(run.calls, expected);
    assert!(
        run.calls
            .iter()
            .all(|call| !call.contains("--all-namespaces")),
        "{run:#?}"
    );
    assert!(
        run.stdout.ends_with(
            "    0 to create, 0 to repair, 5 up to date\n\
             ==> staging: writing policies in the proven order\n\
             ==> staging: pruning this source's policies that are no longer emitted\n    \
             deleted payments/api.v1 (managed by this source, no longer emitted)\n    \
             deleted shop/old.ingress (managed by this source, no longer emitted)\n\
             ==> staging: done\n\
             ==> applied to: staging\n"
        ),
        "{run:#?}"
    );
}

#[test]
fn a_failed_write_on_the_first_context_names_it_and_leaves_later_ones_untouched() {
    let sandbox = Sandbox::new();
    let failing = "--context staging create --save-config";
    let run = sandbox.run(
        &["--context", "staging", "--context", "prod"],
        Cluster {
            fail_on: Some(failing),
            ..EMPTY
        },
    );
    assert_exit(&run, 1);
    assert_eq!(
        run.calls,
        concat(&[
            check_empty("staging"),
            check_empty("prod"),
            vec![create("staging")],
        ])
    );
    assert_eq!(
        run.stderr,
        format!(
            "error: fake kubectl told to fail: {failing} -f - -o name\n\
             (a second line of detail)\n\
             apply.sh: failed on context `staging` (exit status 1); see the output above\n\
             apply.sh: `staging` may be partly updated (every prefix of the order is safe); \
             fix the cause and run again\n\
             apply.sh: later contexts were not touched: prod\n"
        )
    );

    // A failed prune says the policies are all there.
    let live = format!("{UP_TO_DATE}shop/old.ingress\n");
    let run = sandbox.run(
        &["--context", "staging", "--context", "prod"],
        Cluster {
            live: &live,
            fail_on: Some("--context staging delete"),
            ..EMPTY
        },
    );
    assert_exit(&run, 1);
    assert_eq!(
        run.calls,
        concat(&[
            check_live("staging"),
            check_live("prod"),
            list("staging"),
            vec![delete("staging", "shop/old.ingress")],
        ])
    );
    assert!(
        run.stderr.ends_with(
            "apply.sh: failed on context `staging` (exit status 1); see the output above\n\
             apply.sh: `staging` has every emitted policy, but prune did not finish; fix the \
             cause and run again\n\
             apply.sh: later contexts were not touched: prod\n"
        ),
        "{run:#?}"
    );
}

#[test]
fn verify_runs_verify_sh_after_each_context() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(
        &["--verify", "--context", "staging", "--context", "prod"],
        EMPTY,
    );
    assert_exit(&run, 0);
    assert_eq!(
        run.calls,
        concat(&[
            check_empty("staging"),
            check_empty("prod"),
            write_empty("staging"),
            vec![verify("staging")],
            write_empty("prod"),
            vec![verify("prod")],
        ])
    );
    assert!(
        run.stdout.contains(
            "==> staging: verifying with verify.sh\n1 passed, 0 failed\n==> staging: done\n"
        ),
        "{run:#?}"
    );

    // Without --verify, verify.sh is never run.
    let run = sandbox.run(&["--context", "staging"], EMPTY);
    assert_exit(&run, 0);
    assert_eq!(
        run.calls,
        concat(&[check_empty("staging"), write_empty("staging")])
    );
}

#[test]
fn a_failed_verify_on_the_first_context_stops_before_the_second() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(
        &["--context", "staging", "--context", "prod", "--verify"],
        Cluster {
            fail_on: Some("verify.sh --context staging"),
            ..EMPTY
        },
    );
    assert_exit(&run, 1);
    assert_eq!(
        run.calls,
        concat(&[
            check_empty("staging"),
            check_empty("prod"),
            write_empty("staging"),
            vec![verify("staging")],
        ])
    );
    assert!(run.stdout.ends_with("0 passed, 1 failed\n"), "{run:#?}");
    assert_eq!(
        run.stderr,
        "apply.sh: failed on context `staging` (exit status 1); see the output above\n\
         apply.sh: `staging` has every emitted policy, but verify.sh failed on it (see its \
         FAIL lines above); fix the cause and run again\n\
         apply.sh: later contexts were not touched: prod\n"
    );
}

#[test]
fn verify_cannot_go_with_dry_run_and_needs_verify_sh() {
    let sandbox = Sandbox::new();
    for args in [
        &["--dry-run", "--verify", "--context", "staging"][..],
        &["--verify", "--context", "staging", "--dry-run"][..],
    ] {
        let run = sandbox.run(args, EMPTY);
        assert_exit(&run, 2);
        assert!(run.calls.is_empty(), "{run:#?}");
        assert!(
            run.stderr.starts_with(
                "apply.sh: `--verify` probes a cluster after applying to it, so it cannot go \
                 with `--dry-run`\n\nUsage: "
            ),
            "{run:#?}"
        );
    }

    fs::remove_file(sandbox.k8s().join("verify.sh")).unwrap();
    let run = sandbox.run(&["--verify", "--context", "staging"], EMPTY);
    assert_exit(&run, 1);
    assert!(run.calls.is_empty(), "{run:#?}");
    assert_eq!(
        run.stderr,
        format!(
            "apply.sh: `{}/verify.sh` is missing or not executable; run `cargo xtask emit` to \
             write k8s/ again\n",
            sandbox.k8s().display()
        )
    );
}

/// CI installs shellcheck (Debian package `shellcheck`); elsewhere a missing one is a note.
#[test]
fn rendered_script_and_stand_ins_pass_shellcheck() {
    let sandbox = Sandbox::new();
    assert_shellcheck_passes(&[
        sandbox.k8s().join("apply.sh"),
        sandbox.bin().join("kubectl"),
        sandbox.k8s().join("verify.sh"),
    ]);
}

/// The templates themselves, shellchecked as they are written (so a problem is reported
/// in `apply.sh.in` or `verify.sh.in`, not only in one rendering of them).
///
/// A template is not a script until its two placeholder lines are filled, and filling
/// them with text made up here could hide a problem or drift from what Rust writes; so
/// both come from the real thing. `{DATA}` becomes the data section of an empty plan,
/// its assignments joined onto that one line: the variables the template reads, with the
/// types Rust gives them (`declare -A` included), and every later line keeps its template
/// line number up to `{SHELL_HELPERS}`. That line becomes `shell_helpers.sh.in` itself,
/// checked here in the context it runs in (it uses `$me` and `usage`). What a non-empty
/// data section looks like is checked by the rendered-script tests.
#[test]
fn script_templates_pass_shellcheck() {
    use zero_trust::emit::verify_script::{VerifyPlan, render_plan};

    let empty_verify = VerifyPlan {
        targets: Default::default(),
        probes: Vec::new(),
        named_namespaces: Vec::new(),
        default_probe_namespace: None,
        cluster: None,
    };
    let templates = [
        (
            "apply.sh.in",
            include_str!("../../../zero-trust/src/emit/apply.sh.in"),
            render_apply_script(&ApplyPlan::default()),
        ),
        (
            "verify.sh.in",
            include_str!("../../../zero-trust/src/emit/verify.sh.in"),
            render_plan(&empty_verify),
        ),
    ];
    let helpers = include_str!("../../../zero-trust/src/emit/shell_helpers.sh.in");
    let dir = tempfile::tempdir().unwrap();
    let mut checked = Vec::new();
    for (name, template, rendered) in templates {
        let (before, after) = template
            .split_once("{DATA}\n")
            .unwrap_or_else(|| panic!("{name} has no `{{DATA}}` line"));
        assert!(
            after.starts_with('\n'),
            "{name}: a blank line ends `{{DATA}}`"
        );
        // Filling the header and the intro changes no line count, so the data section of
        // the rendering starts where `{DATA}` is and ends at the blank line after it.
        let data: Vec<&str> = rendered
            .lines()
            .skip(before.lines().count())
            .take_while(|line| !line.is_empty())
            .filter(|line| !line.starts_with('#'))
            .collect();
        assert!(
            data.iter().all(|line| line.contains('=')),
            "{name}: an empty plan's data section is one assignment a line: {data:?}"
        );
        let text = format!("{before}{}\n{after}", data.join("; "));
        assert!(
            text.matches("{SHELL_HELPERS}\n").count() == 1,
            "{name} needs one `{{SHELL_HELPERS}}` line"
        );
        let path = dir.path().join(name);
        fs::write(&path, text.replacen("{SHELL_HELPERS}\n", helpers, 1)).unwrap();
        checked.push(path);
    }
    assert_shellcheck_passes(&checked);
}
