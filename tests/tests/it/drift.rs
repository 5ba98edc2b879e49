//! `cargo xtask verify --context NAME` without a cluster: a stand-in `kubectl`
//! (support/fake-kubectl-get.sh) prints recorded `-o json` output, the managed policies as
//! the API lists them (a `NetworkPolicyList` whose items have no `kind`). Checked: a clean
//! cluster, a hand-widened policy, a deleted one, an extra one, a namespace without its
//! name label, and a cluster or kubectl that is not there.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use zero_trust::Cluster;
use zero_trust::emit::emit;
use zero_trust::eval::LoadedPolicy;
use zero_trust::verify::model_topology;
use zero_trust::workloads::drift::{Drift, drift};
use zero_trust::workloads::kubectl::{read_managed_policies, read_workloads};
use zero_trust::workloads::proof::prove_on_pods;
use zero_trust::workloads::{Mode, check, emitted_policies};

fn support(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/support")
        .join(name)
}

/// A stand-in kubectl in a fresh folder, answering with these recorded outputs.
struct FakeCluster {
    dir: tempfile::TempDir,
}

impl FakeCluster {
    fn new(policies: &Value, workloads: &Value) -> FakeCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::copy(support("fake-kubectl-get.sh"), dir.path().join("kubectl")).expect("copy");
        let write = |name: &str, value: &Value| {
            let text = serde_json::to_string_pretty(value).expect("json");
            std::fs::write(dir.path().join(name), text).expect("write");
        };
        write("networkpolicies.json", policies);
        write("workloads.json", workloads);
        FakeCluster { dir }
    }

    fn kubectl(&self) -> PathBuf {
        self.dir.path().join("kubectl")
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("calls.log")).unwrap_or_default()
    }
}

fn cluster() -> Cluster {
    policies::cluster().expect("assembles")
}

/// What k8s/ holds: the emitted policies.
fn expected(cluster: &Cluster) -> Vec<LoadedPolicy> {
    emitted_policies(&emit(cluster).expect("renders").files).expect("loads")
}

/// The emitted policies as the API server lists them: items without `kind` and
/// `apiVersion`, with the fields the server adds.
fn recorded_policies(cluster: &Cluster) -> Vec<Value> {
    let files = emit(cluster).expect("renders").files;
    let mut items = Vec::new();
    for (name, text) in &files {
        if !name.ends_with(".yaml") {
            continue;
        }
        for mut item in zero_trust::yaml::parse_documents(text).expect("parses") {
            let object = item.as_object_mut().expect("an object");
            object.remove("kind");
            object.remove("apiVersion");
            let metadata = object["metadata"].as_object_mut().expect("metadata");
            metadata.insert(
                "uid".into(),
                json!(format!("4c1d7e52-0000-4000-8000-{:012}", items.len())),
            );
            metadata.insert("resourceVersion".into(), json!("48213"));
            metadata.insert("generation".into(), json!(1));
            metadata.insert("creationTimestamp".into(), json!("2026-11-21T10:02:44Z"));
            items.push(item);
        }
    }
    items
}

fn policy_list(items: Vec<Value>) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicyList",
        "metadata": {"resourceVersion": "48213"},
        "items": items,
    })
}

fn recorded_workloads() -> Value {
    let text = std::fs::read_to_string(support("recorded-workloads.json")).expect("recorded");
    serde_json::from_str(&text).expect("json")
}

fn drift_of(fake: &FakeCluster, cluster: &Cluster) -> Drift {
    let live = read_managed_policies(&fake.kubectl(), "prod", cluster.source).expect("reads");
    drift(&expected(cluster), &live, model_topology(cluster)).expect("evaluates")
}

fn item_named<'a>(items: &'a mut [Value], namespace: &str, name: &str) -> &'a mut Value {
    items
        .iter_mut()
        .find(|i| i["metadata"]["namespace"] == namespace && i["metadata"]["name"] == name)
        .expect("recorded")
}

#[test]
fn a_clean_cluster_has_no_finding_no_mismatch_and_no_drift() {
    let cluster = cluster();
    let fake = FakeCluster::new(
        &policy_list(recorded_policies(&cluster)),
        &recorded_workloads(),
    );
    let workloads = read_workloads(&fake.kubectl(), "prod").expect("reads");
    // The ReplicaSets and Pods of the Deployments stand for their pods already.
    let templates: Vec<String> = workloads
        .templates()
        .map(|t| t.pod.display_name())
        .collect();
    assert_eq!(
        templates,
        [
            "ingress-nginx/deployment/ingress-nginx-controller",
            "kube-system/deployment/coredns",
            "prod-api/deployment/main-api",
            "prod-auth/deployment/auth-service",
            "prod-image/deployment/image-service",
            "prod-storage/statefulset/minio",
            "shop/deployment/my-app",
            "shop/deployment/allowed-source",
            "shop/deployment/allowed-destination",
            "monitoring/statefulset/prometheus",
        ]
    );
    assert_eq!(check(&cluster, &workloads, Mode::Cluster), []);
    prove_on_pods(&cluster, &expected(&cluster), &workloads).expect("proved on the live pods");
    let drift = drift_of(&fake, &cluster);
    assert!(drift.is_empty(), "{drift}");
    assert_eq!(
        fake.calls(),
        "--context prod get namespaces,pods,deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs -A -o json\n\
         --context prod get networkpolicies -A -o json -l app.kubernetes.io/managed-by=zero-trust,zero-trust.dev/policy-source=network-policy-guide\n"
    );
}

#[test]
fn a_hand_widened_policy_shows_what_it_opened() {
    let cluster = cluster();
    let mut items = recorded_policies(&cluster);
    item_named(&mut items, "prod-api", "default-deny-all")["spec"]["ingress"] = json!([{}]);
    let fake = FakeCluster::new(&policy_list(items), &recorded_workloads());
    let drift = drift_of(&fake, &cluster);
    assert_eq!(
        drift.to_string(),
        "opened: every source -> prod-api/<any other pod>: all/tcp, all/udp, all/sctp\n\
         opened: every source -> prod-api/main-api: all/tcp, all/udp, all/sctp\n\
         run `k8s/apply.sh --context CONTEXT` to repair the cluster, or change policies/ and emit\n"
    );
}

#[test]
fn a_hand_widened_egress_shows_every_destination() {
    let cluster = cluster();
    let mut items = recorded_policies(&cluster);
    item_named(&mut items, "prod-image", "default-deny-all")["spec"]["egress"] = json!([{}]);
    let fake = FakeCluster::new(&policy_list(items), &recorded_workloads());
    assert_eq!(
        drift_of(&fake, &cluster).to_string(),
        "opened: prod-image/<any other pod> -> every destination: all/tcp, all/udp, all/sctp\n\
         opened: prod-image/image-service -> every destination: all/tcp, all/udp, all/sctp\n\
         run `k8s/apply.sh --context CONTEXT` to repair the cluster, or change policies/ and emit\n"
    );
}

#[test]
fn a_deleted_policy_is_missing_and_its_flows_closed() {
    let cluster = cluster();
    let mut items = recorded_policies(&cluster);
    items.retain(|i| i["metadata"]["name"] != "auth-service.ingress");
    let fake = FakeCluster::new(&policy_list(items), &recorded_workloads());
    assert_eq!(
        drift_of(&fake, &cluster).to_string(),
        "missing: prod-auth/auth-service.ingress (k8s/10-allow-prod-auth.yaml, document 1, \
         line 3) is in k8s/ but not in the cluster\n\
         closed: prod-api/main-api -> prod-auth/auth-service: 8080/tcp\n\
         run `k8s/apply.sh --context CONTEXT` to repair the cluster, or change policies/ and emit\n"
    );
}

#[test]
fn an_extra_managed_policy_is_reported_with_what_it_opens() {
    let cluster = cluster();
    let mut items = recorded_policies(&cluster);
    let mut extra = item_named(&mut items, "prod-auth", "auth-service.ingress").clone();
    extra["metadata"]["name"] = json!("allow-debug");
    extra["spec"]["ingress"] = json!([{"ports": [{"port": 9229}]}]);
    items.push(extra);
    let fake = FakeCluster::new(&policy_list(items), &recorded_workloads());
    assert_eq!(
        drift_of(&fake, &cluster).to_string(),
        "extra: prod-auth/allow-debug is in the cluster (managed by zero-trust) but not in k8s/\n\
         opened: every source -> prod-auth/auth-service: 9229/tcp\n\
         run `k8s/apply.sh --context CONTEXT` to repair the cluster, or change policies/ and emit\n"
    );
}

#[test]
fn a_namespace_without_its_name_label_is_an_error_in_context_mode() {
    let cluster = cluster();
    let mut workloads = recorded_workloads();
    let items = workloads["items"].as_array_mut().expect("items");
    let namespace = items
        .iter_mut()
        .find(|i| i["kind"] == "Namespace" && i["metadata"]["name"] == "prod-auth")
        .expect("recorded");
    namespace["metadata"]
        .as_object_mut()
        .expect("metadata")
        .remove("labels");
    let fake = FakeCluster::new(&policy_list(recorded_policies(&cluster)), &workloads);
    let workloads = read_workloads(&fake.kubectl(), "prod").expect("reads");
    let findings: Vec<String> = check(&cluster, &workloads, Mode::Cluster)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        findings,
        [
            "error: namespace `prod-auth` has no label `kubernetes.io/metadata.name` (Kubernetes \
          sets it from 1.21 on), which the policies select namespaces by: every flow to or from \
          it would be denied; run `kubectl label namespace prod-auth \
          kubernetes.io/metadata.name=prod-auth`"
        ]
    );
}

#[test]
fn a_cluster_that_does_not_answer_or_no_kubectl_is_a_clear_error() {
    let fake = FakeCluster::new(&json!({}), &json!({}));
    std::fs::write(fake.dir.path().join("unreachable"), "").expect("write");
    let error = read_workloads(&fake.kubectl(), "prod").expect_err("fails");
    let error = error.replace(&fake.dir.path().display().to_string(), "DIR");
    assert_eq!(
        error,
        "`DIR/kubectl --context prod get namespaces,pods,deployments,statefulsets,daemonsets,\
         replicasets,jobs,cronjobs -A -o json` failed (exit status: 1): The connection to the \
         server 10.0.0.1:6443 was refused - did you specify the right host or port?; check the \
         context (`kubectl config get-contexts`) and that the cluster answers"
    );
    let missing = fake.dir.path().join("no-such-kubectl");
    let error = read_workloads(&missing, "prod").expect_err("fails");
    let error = error.replace(&fake.dir.path().display().to_string(), "DIR");
    assert_eq!(
        error,
        "cannot run `DIR/no-such-kubectl`: not found; install kubectl \
         (https://kubernetes.io/docs/tasks/tools/) or put it on PATH"
    );
}
