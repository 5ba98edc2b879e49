//! The inputs of the peers that `cargo xtask bench --peers` measures zero-trust against,
//! generated from the same `Plan` as the synthetic crate and `synthetic_cluster`:
//!
//! - network-config-analyzer reads the YAML zero-trust emits plus the cluster it applies
//!   to: a Pod per workload, labelled as its selector selects it, and a Namespace per
//!   namespace, labelled `kubernetes.io/metadata.name` as the API server labels it;
//! - cdk8s-plus runs `cdk8s_platform.js`, which declares the platform's namespaces,
//!   workloads and CIDRs with cdk8s-plus's constructs and every flow with its `connections`
//!   API or a `NetworkPolicy`, from the JSON description written here.

use serde_json::{Value, json};
use zero_trust::PortRange;

use super::{End, Plan, WorkloadSpec, kubernetes_name};

/// The cdk8s program: it reads the JSON of [`cdk8s_platform`] from the file named by its
/// first argument and synthesizes into the folder named by its second.
pub const CDK8S_PROGRAM: &str = include_str!("cdk8s_platform.js");

/// The label the API server puts on every namespace (`NamespaceDefaultLabelName`), which
/// the emitted namespace selectors match.
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The cluster network-config-analyzer analyses the emitted policies in.
pub struct NcaInput {
    /// A `PodList`: one pod per workload, managed or not.
    pub pods: String,
    /// A `NamespaceList`: every namespace, managed or not.
    pub namespaces: String,
}

pub fn nca_input(plan: &Plan) -> Result<NcaInput, String> {
    let pods: Vec<Value> = plan
        .workloads
        .iter()
        .map(|workload| {
            json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": format!("{}-0", kubernetes_name(&workload.ident)),
                    "namespace": kubernetes_name(&plan.namespaces[workload.namespace].ident),
                    "labels": labels(workload),
                },
                "spec": { "containers": [{ "name": "app", "image": "app" }] },
            })
        })
        .collect();
    let namespaces: Vec<Value> = plan
        .namespaces
        .iter()
        .map(|namespace| {
            let name = kubernetes_name(&namespace.ident);
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": { "name": name, "labels": { NAMESPACE_NAME_LABEL: name } },
            })
        })
        .collect();
    let list = |kind: &str, items: Vec<Value>| {
        let list = json!({ "apiVersion": "v1", "kind": kind, "items": items });
        zero_trust::yaml::to_yaml(&list).map_err(|e| format!("cannot write the {kind}: {e}"))
    };
    Ok(NcaInput {
        pods: list("PodList", pods)?,
        namespaces: list("NamespaceList", namespaces)?,
    })
}

/// What `cdk8s_platform.js` builds: namespaces, workloads (with the labels their selector
/// matches), CIDRs and flows, each end an index into its list.
pub fn cdk8s_platform(plan: &Plan) -> Value {
    let namespaces: Vec<Value> = plan
        .namespaces
        .iter()
        .map(|n| json!({ "name": kubernetes_name(&n.ident), "managed": n.managed }))
        .collect();
    let workloads: Vec<Value> = plan
        .workloads
        .iter()
        .map(|w| {
            json!({
                "name": kubernetes_name(&w.ident),
                "namespace": w.namespace,
                "managed": plan.namespaces[w.namespace].managed,
                "labels": labels(w),
            })
        })
        .collect();
    let cidrs: Vec<Value> = plan
        .cidrs
        .iter()
        .map(|c| json!({ "name": kubernetes_name(&c.ident), "cidr": c.cidr, "except": c.except }))
        .collect();
    let end = |end: End| match end {
        End::AllManaged => json!({ "all": true }),
        End::Namespace(n) => json!({ "namespace": n }),
        End::Workload(w) => json!({ "workload": w }),
        End::Cidr(c) => json!({ "cidr": c }),
    };
    let port = |range: &PortRange| {
        json!({
            "protocol": range.protocol.as_k8s(),
            "port": range.first,
            "endPort": (!range.is_single()).then_some(range.last),
        })
    };
    let flows: Vec<Value> = plan
        .parts
        .iter()
        .flat_map(|part| &part.flows)
        .map(|flow| {
            json!({
                "from": end(flow.from),
                "to": end(flow.to),
                "ports": flow.ports.iter().map(port).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "namespaces": namespaces, "workloads": workloads, "cidrs": cidrs, "flows": flows })
}

/// The labels a workload's pods carry, as a JSON object.
fn labels(workload: &WorkloadSpec) -> Value {
    workload
        .selector()
        .into_iter()
        .map(|(key, value)| (key, Value::String(value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::synth::Params;

    fn small_plan() -> Plan {
        Plan::generate(&Params {
            namespaces: 3,
            workloads: 30,
            flows: 80,
            seed: 7,
        })
    }

    fn label_map(value: &Value) -> BTreeMap<String, String> {
        value
            .as_object()
            .expect("labels are a map")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("a string").to_owned()))
            .collect()
    }

    /// Every workload is one pod in its namespace, labelled exactly as its emitted
    /// `podSelector` selects it; every namespace carries the name label the emitted
    /// `namespaceSelector`s match.
    #[test]
    fn the_analyzer_gets_a_pod_per_workload_and_every_namespace_labelled() {
        let plan = small_plan();
        let input = nca_input(&plan).unwrap();
        let pods = zero_trust::yaml::parse_documents(&input.pods).unwrap();
        let [pods] = &pods[..] else {
            panic!("one PodList document, got {}", pods.len())
        };
        assert_eq!(pods["kind"], "PodList");
        let items = pods["items"].as_array().unwrap();
        assert_eq!(items.len(), plan.workloads.len());
        for (pod, workload) in items.iter().zip(&plan.workloads) {
            assert_eq!(pod["kind"], "Pod");
            assert_eq!(
                pod["metadata"]["namespace"],
                kubernetes_name(&plan.namespaces[workload.namespace].ident)
            );
            let expected: BTreeMap<String, String> = workload.selector().into_iter().collect();
            assert_eq!(label_map(&pod["metadata"]["labels"]), expected);
            assert!(
                pod["spec"]["containers"]
                    .as_array()
                    .is_some_and(|c| !c.is_empty())
            );
        }
        let names: BTreeSet<&str> = items
            .iter()
            .map(|pod| pod["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), items.len(), "pod names are distinct");
        let kube_dns = &items[0]["metadata"];
        assert_eq!(kube_dns["namespace"], "kube-system");
        assert_eq!(kube_dns["labels"]["k8s-app"], "kube-dns");

        let namespaces = zero_trust::yaml::parse_documents(&input.namespaces).unwrap();
        let items = namespaces[0]["items"].as_array().unwrap();
        assert_eq!(items.len(), plan.namespaces.len());
        for item in items {
            assert_eq!(item["kind"], "Namespace");
            let name = &item["metadata"]["name"];
            assert_eq!(&item["metadata"]["labels"][NAMESPACE_NAME_LABEL], name);
        }
    }

    /// The cdk8s description holds every flow of the plan, each end a valid index of
    /// the right list, and ranges with an `endPort`.
    #[test]
    fn the_cdk8s_platform_holds_every_flow_with_valid_ends() {
        let plan = small_plan();
        let platform = cdk8s_platform(&plan);
        let list = |key: &str| platform[key].as_array().unwrap().len();
        assert_eq!(list("namespaces"), plan.namespaces.len());
        assert_eq!(list("workloads"), plan.workloads.len());
        assert_eq!(list("cidrs"), plan.cidrs.len());
        assert_eq!(list("flows"), plan.flow_count());
        let in_range = |end: &Value| {
            let (key, index) = end.as_object().unwrap().iter().next().unwrap();
            match key.as_str() {
                "all" => true,
                "namespace" | "workload" | "cidr" => {
                    index.as_u64().unwrap() < list(&format!("{key}s")) as u64
                }
                other => panic!("unknown end `{other}`"),
            }
        };
        let flows = platform["flows"].as_array().unwrap();
        for (flow, spec) in flows.iter().zip(plan.parts.iter().flat_map(|p| &p.flows)) {
            assert!(in_range(&flow["from"]) && in_range(&flow["to"]), "{flow}");
            let ports = flow["ports"].as_array().unwrap();
            assert_eq!(ports.len(), spec.ports.len());
            for (port, range) in ports.iter().zip(&spec.ports) {
                assert_eq!(port["protocol"], range.protocol.as_k8s());
                assert_eq!(port["port"], range.first);
                match range.is_single() {
                    true => assert!(port["endPort"].is_null()),
                    false => assert_eq!(port["endPort"], range.last),
                }
            }
        }
        assert_eq!(
            flows[0]["from"],
            json!({ "all": true }),
            "DNS for every pod"
        );
        let labels = label_map(&platform["workloads"][0]["labels"]);
        assert_eq!(labels["k8s-app"], "kube-dns");
    }

    /// The program is valid JavaScript (`node --check`); CI installs Node.
    #[test]
    fn the_cdk8s_program_parses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cdk8s_platform.js");
        std::fs::write(&path, CDK8S_PROGRAM).unwrap();
        match std::process::Command::new("node")
            .arg("--check")
            .arg(&path)
            .output()
        {
            Ok(output) => assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("note: node not found ({e}); the program's syntax is not checked")
            }
            Err(e) => panic!("node is needed in CI: {e}"),
        }
    }
}
