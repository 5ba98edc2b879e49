//! Rollouts against a real kube-apiserver 1.20 and etcd on loopback (`support/apiserver.rs`):
//! what reaches the server is read back from its audit log. Without the binaries (built by
//! `.ci/kube-apiserver.sh`) each test notes it on stderr and passes, except in CI.

use std::time::{Duration, Instant};

#[path = "support/apiserver.rs"]
mod apiserver;

use apiserver::{ApiServer, DEPLOYER, Kubeconfig};

const POLICY: &str = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
";

/// The harness itself: a deployer granted one namespace can write a policy there, the
/// audit log shows exactly that write, and the deployer sees nothing cluster-wide.
#[test]
fn deployer_applies_a_policy_and_the_audit_log_shows_it() {
    let Some(server) = ApiServer::start() else {
        return;
    };
    server.create_namespace("shop", true);
    server.create_namespace("payments", false);
    server.grant_deployer(&["shop"]);
    let kubeconfig = Kubeconfig::new(&[("staging", &server)]);

    let manifest = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(manifest.path(), POLICY).unwrap();
    let manifest = manifest.path().to_str().unwrap();
    let apply = kubeconfig.kubectl(&["--context", "staging-deployer", "apply", "-f", manifest]);
    assert!(
        apply.success(),
        "the deployer's apply failed: {apply:#?}\n{}",
        server.log_tail()
    );

    let writes = server.networkpolicy_writes();
    assert_eq!(writes.len(), 1, "expected one write: {writes:#?}");
    let create = &writes[0];
    assert_eq!(
        (
            create.verb.as_str(),
            create.namespace.as_str(),
            create.name.as_str()
        ),
        ("create", "shop", "default-deny"),
        "{create:#?}"
    );
    assert_eq!(
        (create.user.as_str(), create.dry_run, create.code),
        (DEPLOYER, false, 201),
        "{create:#?}"
    );

    // A dry run is recorded too, marked as such. It has to change something: kubectl's
    // client-side apply of an unchanged object sends no write at all, dry run or not.
    std::fs::write(manifest, POLICY.replace("[Ingress, Egress]", "[Ingress]")).unwrap();
    let dry_run = kubeconfig.kubectl(&[
        "--context",
        "staging-deployer",
        "apply",
        "--dry-run=server",
        "-f",
        manifest,
    ]);
    assert!(
        dry_run.success(),
        "the deployer's dry run failed: {dry_run:#?}"
    );
    let writes = server.networkpolicy_writes();
    assert_eq!(
        writes.len(),
        2,
        "expected the dry run as a second write: {writes:#?}"
    );
    assert_eq!(
        (writes[1].verb.as_str(), writes[1].dry_run),
        ("patch", true),
        "the dry run is not a patch marked as one: {:#?}",
        writes[1]
    );

    // The Role covers the namespace object itself, only in the granted namespace.
    let get_ns =
        |ns: &str| kubeconfig.kubectl(&["--context", "staging-deployer", "get", "namespace", ns]);
    let shop = get_ns("shop");
    assert!(
        shop.success(),
        "the deployer cannot get its namespace: {shop:#?}"
    );
    let payments = get_ns("payments");
    assert!(
        !payments.success() && payments.stderr.contains("Forbidden"),
        "the deployer could get a namespace it was not granted: {payments:#?}"
    );

    let list_all = kubeconfig.kubectl(&[
        "--context",
        "staging-deployer",
        "get",
        "networkpolicies",
        "--all-namespaces",
    ]);
    assert!(
        !list_all.success() && list_all.stderr.contains("Forbidden"),
        "the deployer could list policies cluster-wide: {list_all:#?}"
    );
    // As admin, the same list shows the one policy.
    let admin_list = kubeconfig.kubectl(&[
        "--context",
        "staging",
        "get",
        "networkpolicies",
        "-A",
        "-o",
        "name",
    ]);
    assert_eq!(
        admin_list.stdout, "networkpolicy.networking.k8s.io/default-deny\n",
        "{admin_list:#?}"
    );
}

/// What a rollout sees of a cluster that is down: kubectl fails, and fast (connection
/// refused on loopback), so no test needs a long timeout to get there.
#[test]
fn a_stopped_server_makes_kubectl_fail() {
    let Some(server) = ApiServer::start() else {
        return;
    };
    let kubeconfig = Kubeconfig::new(&[("prod", &server)]);
    let up = kubeconfig.kubectl(&["--context", "prod", "get", "--raw", "/version"]);
    assert!(
        up.success(),
        "kubectl against the running server failed: {up:#?}"
    );
    drop(server);

    let started = Instant::now();
    let down = kubeconfig.kubectl(&[
        "--context",
        "prod",
        "--request-timeout=5s",
        "get",
        "--raw",
        "/version",
    ]);
    let took = started.elapsed();
    eprintln!(
        "kubectl against a stopped server failed after {:.2} s",
        took.as_secs_f64()
    );
    assert!(
        !down.success(),
        "kubectl succeeded against a stopped server: {down:#?}"
    );
    assert!(
        down.stderr.contains("refused"),
        "kubectl failed for another reason than a refused connection: {down:#?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "kubectl took {took:?} to fail: {down:#?}"
    );
}
