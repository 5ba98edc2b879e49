//! The example's two clusters rolled out to two real kube-apiservers (`support/apiserver.rs`,
//! skipped with a note where the binaries are missing, except in CI), through the
//! top-level `apply.sh`: each server gets its own cluster's policies and labels, staging
//! before prod, and a failure in staging leaves prod untouched. (That a context of the
//! other cluster is refused before any call is shown with the stand-in kubectl, which
//! logs every call, in tests/tests/it/clusters_script.rs.)

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::apiserver::{ApiServer, Kubeconfig};

/// A copy of the example's committed `k8s/`, with its cluster folders.
fn example_copy() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        fs::create_dir_all(to).expect("create a folder");
        for entry in fs::read_dir(from).expect("read the example's k8s/") {
            let entry = entry.expect("read the example's k8s/");
            if entry.file_type().expect("file type").is_dir() {
                copy(&entry.path(), &to.join(entry.file_name()));
            } else {
                fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
            }
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    copy(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/two-clusters/k8s"),
        dir.path(),
    );
    dir
}

fn run(kubeconfig: &Kubeconfig, script: PathBuf, args: &[&str]) -> (Option<i32>, String, String) {
    let output = kubeconfig
        .env(&mut Command::new(script))
        .args(args)
        .output()
        .expect("run apply.sh");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The NetworkPolicies a server stores, as `namespace/name cluster-label`.
fn stored(server: &ApiServer) -> Vec<String> {
    let listed = server.kubectl_ok(&[
        "get",
        "networkpolicies",
        "-A",
        "-o",
        r#"jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {.metadata.labels.zero-trust\.dev/cluster}{"\n"}{end}"#,
    ]);
    let mut lines: Vec<String> = listed.stdout.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[test]
fn the_clusters_roll_out_in_order_each_to_its_own_server_and_staging_failing_stops_prod() {
    let Some(staging) = ApiServer::start() else {
        return;
    };
    let Some(prod) = ApiServer::start() else {
        return;
    };
    prod.create_namespace("shop", true);
    // The contexts the example declares, each the admin of its own server.
    let kubeconfig = Kubeconfig::new(&[("kind-staging", &staging), ("gke-prod-eu", &prod)]);
    let k8s = example_copy();
    let top = k8s.path().join("apply.sh");

    // Staging lacks its namespace: its preflight fails, and prod is never called.
    let (code, stdout, stderr) = run(
        &kubeconfig,
        top.clone(),
        &["--context", "gke-prod-eu", "--context", "kind-staging"],
    );
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("cluster `staging` failed"), "{stderr}");
    assert!(
        prod.audit_events()
            .iter()
            .all(|e| e.resource != "networkpolicies")
    );
    assert!(stored(&prod).is_empty());

    staging.create_namespace("shop", true);
    let (code, stdout, stderr) = run(
        &kubeconfig,
        top,
        &["--context", "gke-prod-eu", "--context", "kind-staging"],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}\n{}", staging.log_tail());
    let staging_at = stdout
        .find("==> cluster staging\n")
        .expect("staging rolled out");
    let prod_at = stdout.find("==> cluster prod\n").expect("prod rolled out");
    assert!(staging_at < prod_at, "{stdout}");
    assert_eq!(
        stored(&staging),
        [
            "shop/all-pods.egress staging",
            "shop/checkout.egress staging",
            "shop/checkout.ingress staging",
            "shop/default-deny-all staging",
            "shop/web-canary.egress staging",
            "shop/web-canary.ingress staging",
            "shop/web.egress staging",
            "shop/web.ingress staging",
        ]
    );
    assert_eq!(
        stored(&prod),
        [
            "shop/all-pods.egress prod",
            "shop/checkout.egress prod",
            "shop/checkout.ingress prod",
            "shop/default-deny-all prod",
            "shop/web.egress prod",
            "shop/web.ingress prod",
        ]
    );
}
