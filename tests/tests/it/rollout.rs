//! `k8s/apply.sh` against a real kube-apiserver 1.20 and etcd on loopback
//! (`support/apiserver.rs`): what reaches the server is read back from its audit log.
//! Without the binaries (built by `.ci/kube-apiserver.sh`) each test notes it on stderr and
//! passes, except in CI, where a missing server is a failure.
//!
//! Each test runs the committed `k8s/` (copied, so a test may break a manifest) of the
//! guide's cluster, or the emission of a small cluster of its own, as a deployer or an
//! admin, with a kubeconfig naming the servers.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::apiserver::{ApiServer, AuditEvent, DEPLOYER, Kubeconfig};

/// The managed namespaces of the guide's cluster.
const MANAGED: [&str; 5] = [
    "prod-api",
    "prod-auth",
    "prod-image",
    "prod-storage",
    "shop",
];

/// The outcome of one run of apply.sh.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// A copy of the committed `k8s/`.
struct K8sCopy {
    dir: tempfile::TempDir,
}

impl K8sCopy {
    fn new() -> K8sCopy {
        let dir = tempfile::tempdir().expect("create a temp dir");
        let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../k8s");
        for entry in fs::read_dir(&committed).expect("read k8s/") {
            let entry = entry.expect("read k8s/");
            fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy k8s/");
        }
        K8sCopy { dir }
    }

    /// What `cargo xtask emit` would write for `cluster`, scripts executable.
    fn emitted(cluster: &zero_trust::Cluster) -> K8sCopy {
        let dir = tempfile::tempdir().expect("create a temp dir");
        for (name, text) in zero_trust::emit::emit(cluster).expect("renders").files {
            let path = dir.path().join(name);
            fs::write(&path, text).expect("write k8s/");
            if path.extension().is_some_and(|e| e == "sh") {
                fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
            }
        }
        K8sCopy { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn apply(&self, kubeconfig: &Kubeconfig, args: &[&str]) -> Run {
        let output = kubeconfig
            .env(&mut Command::new(self.path("apply.sh")))
            .args(args)
            .output()
            .expect("run apply.sh");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// The guide's policies in the order `cargo xtask emit` proved and wrote into apply.sh.
fn proven_order() -> Vec<String> {
    let cluster = policies::cluster().expect("the guide's cluster assembles");
    let emitted = zero_trust::emit::emit(&cluster).expect("renders");
    emitted
        .plan
        .steps
        .iter()
        .map(|s| format!("{}/{}", s.namespace, s.name))
        .collect()
}

/// A server holding the guide's managed namespaces, labelled as Kubernetes 1.21+ would,
/// with the deployer granted exactly those namespaces.
fn guide_server() -> Option<ApiServer> {
    let server = ApiServer::start()?;
    for namespace in MANAGED {
        server.create_namespace(namespace, true);
    }
    server.grant_deployer(&MANAGED);
    Some(server)
}

/// The writes that reached the store (no dry runs), as `verb namespace/name`.
fn stored_writes(events: &[AuditEvent]) -> Vec<String> {
    events
        .iter()
        .filter(|e| !e.dry_run)
        .map(|e| format!("{} {}/{}", e.verb, e.namespace, e.name))
        .collect()
}

#[track_caller]
fn assert_success(run: &Run, server: &ApiServer) {
    assert_eq!(
        run.code,
        Some(0),
        "apply.sh failed: {run:#?}\n{}",
        server.log_tail()
    );
}

fn live_spec(server: &ApiServer, namespace: &str, name: &str) -> String {
    server
        .kubectl_ok(&[
            "get",
            "networkpolicy",
            "-n",
            namespace,
            name,
            "-o",
            "jsonpath={.spec}",
        ])
        .stdout
}

/// A namespace-scoped deployer rolls the guide out for the first time in the proven order,
/// a second run writes nothing, hand edits are repaired (and only they are written), and
/// prune deletes only this source's stale policy in a managed namespace.
#[test]
fn a_deployer_rolls_out_in_the_proven_order_repairs_hand_edits_and_prunes_only_its_own() {
    let Some(server) = guide_server() else {
        return;
    };
    let kubeconfig = Kubeconfig::new(&[("staging", &server)]);
    let k8s = K8sCopy::new();
    let deployer = ["--context", "staging-deployer"];

    // First rollout: every policy created, one at a time, in the proven order.
    let first = k8s.apply(&kubeconfig, &deployer);
    assert_success(&first, &server);
    let writes = server.networkpolicy_writes();
    let created: Vec<String> = proven_order()
        .iter()
        .map(|p| format!("create {p}"))
        .collect();
    assert_eq!(stored_writes(&writes), created, "{first:#?}");
    assert!(writes.iter().all(|w| w.user == DEPLOYER && w.code == 201));
    for policy in proven_order() {
        assert!(
            first.stdout.contains(&format!("    created {policy}\n")),
            "{first:#?}"
        );
    }

    // A second run writes nothing.
    let before = server.networkpolicy_writes().len();
    let second = k8s.apply(&kubeconfig, &deployer);
    assert_success(&second, &server);
    let after = server.networkpolicy_writes();
    assert_eq!(stored_writes(&after[before..]), Vec::<String>::new());
    assert!(
        second
            .stdout
            .contains("0 to create, 0 to repair, 20 up to date"),
        "{second:#?}"
    );

    // Hand edits: all ingress opened, a narrowed podSelector, an extra label in a peer.
    let want_deny = live_spec(&server, "prod-api", "default-deny-all");
    let want_egress = live_spec(&server, "prod-api", "main-api.egress");
    let want_ingress = live_spec(&server, "prod-auth", "auth-service.ingress");
    for (namespace, name, kind, patch) in [
        (
            "prod-api",
            "default-deny-all",
            "merge",
            r#"{"spec":{"ingress":[{}]}}"#,
        ),
        (
            "prod-api",
            "main-api.egress",
            "merge",
            r#"{"spec":{"podSelector":{"matchLabels":{"tier":"canary"}}}}"#,
        ),
        (
            "prod-auth",
            "auth-service.ingress",
            "json",
            r#"[{"op":"add","path":"/spec/ingress/0/from/0/podSelector/matchLabels/extra","value":"x"}]"#,
        ),
    ] {
        server.kubectl_ok(&[
            "-n",
            namespace,
            "patch",
            "networkpolicy",
            name,
            &format!("--type={kind}"),
            "-p",
            patch,
        ]);
    }
    assert_ne!(
        live_spec(&server, "prod-api", "default-deny-all"),
        want_deny
    );

    let dry_run = k8s.apply(&kubeconfig, &[deployer[0], deployer[1], "--dry-run"]);
    assert_success(&dry_run, &server);
    for policy in [
        "prod-api/default-deny-all",
        "prod-api/main-api.egress",
        "prod-auth/auth-service.ingress",
    ] {
        assert!(
            dry_run
                .stdout
                .contains(&format!("    would repair {policy} ")),
            "{dry_run:#?}"
        );
    }

    let before = server.networkpolicy_writes().len();
    let repair = k8s.apply(&kubeconfig, &deployer);
    assert_success(&repair, &server);
    let writes = server.networkpolicy_writes();
    assert_eq!(
        stored_writes(&writes[before..]),
        [
            "update prod-api/main-api.egress",
            "update prod-auth/auth-service.ingress",
            "update prod-api/default-deny-all",
        ],
        "only the edited policies are written, in the proven order: {repair:#?}"
    );
    for policy in [
        "prod-api/default-deny-all",
        "prod-api/main-api.egress",
        "prod-auth/auth-service.ingress",
    ] {
        assert!(
            repair.stdout.contains(&format!("    repaired {policy} ")),
            "{repair:#?}"
        );
    }
    assert_eq!(
        live_spec(&server, "prod-api", "default-deny-all"),
        want_deny
    );
    assert_eq!(
        live_spec(&server, "prod-api", "main-api.egress"),
        want_egress
    );
    assert_eq!(
        live_spec(&server, "prod-auth", "auth-service.ingress"),
        want_ingress
    );

    // Prune: only this source's stale policy, in a managed namespace.
    let ours = "app.kubernetes.io/managed-by: zero-trust\n    zero-trust.dev/policy-source: network-policy-guide";
    let theirs =
        "app.kubernetes.io/managed-by: zero-trust\n    zero-trust.dev/policy-source: another-repo";
    server.create_namespace("elsewhere", true);
    for (kind, namespace, name, labels) in [
        ("NetworkPolicy", "prod-api", "stale.egress", ours),
        ("NetworkPolicy", "prod-api", "another-repo.egress", theirs),
        ("NetworkPolicy", "prod-api", "hand-written", "team: api"),
        ("NetworkPolicy", "elsewhere", "stale.egress", ours),
        ("ConfigMap", "prod-api", "stale-config", ours),
    ] {
        let (api, body) = if kind == "ConfigMap" {
            ("v1", "data: {}")
        } else {
            (
                "networking.k8s.io/v1",
                "spec:\n  podSelector: {}\n  policyTypes: [Egress]",
            )
        };
        server.apply(&format!(
            "apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  labels:\n    {labels}\n{body}\n"
        ));
    }
    let before = server.networkpolicy_writes().len();
    let prune = k8s.apply(&kubeconfig, &deployer);
    assert_success(&prune, &server);
    let writes = server.networkpolicy_writes();
    assert_eq!(
        stored_writes(&writes[before..]),
        ["delete prod-api/stale.egress"],
        "{prune:#?}"
    );
    assert!(
        prune.stdout.contains(
            "    deleted prod-api/stale.egress (managed by this source, no longer emitted)\n"
        ),
        "{prune:#?}"
    );
    for (kind, namespace, name) in [
        ("networkpolicy", "prod-api", "another-repo.egress"),
        ("networkpolicy", "prod-api", "hand-written"),
        ("networkpolicy", "elsewhere", "stale.egress"),
        ("configmap", "prod-api", "stale-config"),
    ] {
        server.kubectl_ok(&["get", kind, "-n", namespace, name]);
    }
}

/// An object the API server rejects stops the rollout before any write, on every cluster.
#[test]
fn an_invalid_object_stops_the_rollout_before_any_write_on_every_cluster() {
    let Some(staging) = guide_server() else {
        return;
    };
    let Some(prod) = guide_server() else {
        return;
    };
    let kubeconfig = Kubeconfig::new(&[("staging", &staging), ("prod", &prod)]);
    let k8s = K8sCopy::new();
    // The last document of the last allow file: valid YAML, a policy type the server refuses.
    let file = k8s.path("10-allow-prod-storage.yaml");
    let text = fs::read_to_string(&file).unwrap();
    let broken = text.replacen("  - Ingress\n", "  - Inbound\n", 1);
    assert_ne!(broken, text, "the fixture changed: {text}");
    fs::write(&file, broken).unwrap();

    let run = k8s.apply(&kubeconfig, &["--context", "staging", "--context", "prod"]);
    assert_ne!(run.code, Some(0), "{run:#?}");
    assert!(
        run.stderr.contains("Inbound"),
        "the server's reason is shown: {run:#?}"
    );
    assert!(
        run.stderr.contains("nothing was changed on any context"),
        "{run:#?}"
    );
    for server in [&staging, &prod] {
        let stored = stored_writes(&server.networkpolicy_writes());
        assert_eq!(stored, Vec::<String>::new(), "{run:#?}");
    }
}

/// Preflight: namespaces that are missing or lack `kubernetes.io/metadata.name` are named
/// with the fix, and a server that is down is one clear line, before any write.
#[test]
fn preflight_names_missing_and_unlabelled_namespaces_and_an_unreachable_cluster() {
    let Some(server) = ApiServer::start() else {
        return;
    };
    server.create_namespace("prod-api", true);
    server.create_namespace("prod-auth", false);
    server.create_namespace("prod-storage", false);
    server.create_namespace("shop", true);
    let kubeconfig = Kubeconfig::new(&[("staging", &server)]);
    let k8s = K8sCopy::new();

    let run = k8s.apply(&kubeconfig, &["--context", "staging"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr.contains(
            "apply.sh: context `staging` lacks the managed namespaces: prod-image; create them"
        ),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains("lack the label kubernetes.io/metadata.name=<their name> that the policies select namespaces by (Kubernetes sets it from 1.21 on): prod-auth prod-storage; label each, e.g. kubectl --context staging label namespace prod-auth --overwrite kubernetes.io/metadata.name=prod-auth"),
        "{run:#?}"
    );
    assert_eq!(
        stored_writes(&server.networkpolicy_writes()),
        Vec::<String>::new()
    );

    // One managed namespace: kubectl prints the object itself, not a List.
    let script = k8s.path("apply.sh");
    let text = fs::read_to_string(&script).unwrap();
    let start = text
        .find("managed_namespaces=(\n")
        .expect("the namespaces of apply.sh");
    let end = start + text[start..].find(")\n").unwrap();
    fs::write(
        &script,
        format!(
            "{}managed_namespaces=(\n  prod-auth\n{}",
            &text[..start],
            &text[end..]
        ),
    )
    .unwrap();
    let run = k8s.apply(&kubeconfig, &["--context", "staging"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr
            .contains("(Kubernetes sets it from 1.21 on): prod-auth; label each")
            && !run.stderr.contains("lacks the managed namespaces"),
        "{run:#?}"
    );

    drop(server);
    let run = k8s.apply(&kubeconfig, &["--context", "staging"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("apply.sh: cannot reach the cluster of context `staging`: ")
            && first.contains("refused"),
        "{run:#?}"
    );
    assert!(
        !run.stderr.contains("openapi") && !run.stderr.contains("--validate=false"),
        "no advice to turn validation off: {run:#?}"
    );
}

mod port_range {
    zero_trust::zero_trust! {
        namespace shop { web: 30000..=30010; batch }
        batch -> web:30000..=30010;
    }
}

/// A policy holding a port range (`endPort`) is refused on the 1.20 server, which would
/// drop the field (and so allow only the range's first port), before anything is written,
/// not even a dry run; the server does drop it, as `kubectl create` without its schema
/// check shows.
#[test]
fn a_port_range_is_refused_on_a_1_20_server_before_any_write() {
    let Some(server) = ApiServer::start() else {
        return;
    };
    server.create_namespace("shop", true);
    let kubeconfig = Kubeconfig::new(&[("staging", &server)]);
    let cluster = zero_trust::Cluster::assemble(&[&port_range::POLICY]).expect("assembles");
    let k8s = K8sCopy::emitted(&cluster);

    let run = k8s.apply(&kubeconfig, &["--context", "staging"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert_eq!(
        run.stderr,
        "apply.sh: context `staging` runs Kubernetes v1.20.2, which drops the port range \
         (endPort) of shop/batch.egress shop/web.ingress, so each would allow only the first \
         port of its range; upgrade the cluster to Kubernetes 1.22 or later, or list the ports \
         one by one instead of a range\n\
         apply.sh: failed on context `staging` (exit status 1); see the output above\n\
         apply.sh: nothing was changed on any context\n"
    );
    assert_eq!(server.networkpolicy_writes(), Vec::new(), "{run:#?}");

    // What the check prevents: 1.20 stores the policy without its endPort. (kubectl's
    // schema check refuses the unknown field first, and its message suggests turning the
    // check off; a 1.21 server with the feature gate off publishes the field and drops it.)
    let manifest = k8s.path("10-allow-shop.yaml");
    assert!(
        fs::read_to_string(&manifest)
            .unwrap()
            .contains("endPort: 30010")
    );
    server.kubectl_ok(&[
        "create",
        "--validate=false",
        "-f",
        &manifest.display().to_string(),
    ]);
    let stored = live_spec(&server, "shop", "web.ingress");
    assert!(
        stored.contains(r#""port":30000"#) && !stored.contains("endPort"),
        "{stored}"
    );
}
