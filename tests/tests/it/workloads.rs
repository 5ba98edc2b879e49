//! The policies checked against the real workloads: the manifests of deploy/ (which
//! `cargo xtask emit` checks through zero-trust.toml), and each mistake the checks exist
//! for, built in memory as a variant of the guide's policies or of its manifests, with its
//! message pinned.

use std::path::Path;

use zero_trust::Cluster;
use zero_trust::emit::emit;
use zero_trust::workloads::proof::prove_on_pods;
use zero_trust::workloads::{Mode, Workloads, check, emitted_policies, named_ports_are_defined};

/// The guide's cluster in one block, with `$platform` declaring ingress-nginx and
/// kube-system and `$api` the namespace prod-api: the variants change only those.
macro_rules! guide {
    ({ $($api:tt)* } { $($platform:tt)* }) => {
        use zero_trust::zero_trust;
        zero_trust! {
            $($api)*
            namespace prod_auth    { auth_service: 8080 }
            namespace prod_image   { image_service: 5000 }
            namespace prod_storage { minio: 9000 }
            $($platform)*
            cidr public_internet = "0.0.0.0/0" except "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16";

            ingress_nginx -> main_api:3000;
            main_api -> auth_service:8080;
            main_api -> image_service:5000;
            image_service -> prod_storage:9000;
            main_api -> public_internet:443, 80;
            * -> kube_dns:53/udp, 53/tcp;
        }
    };
}

mod mistyped_value {
    guide!({ namespace prod_api { main_api: 3000 } } {
        external namespace ingress_nginx { controller ["app.kubernetes.io/name" = "ingress-nginx"] }
        external namespace kube_system   { kube_dns ["k8s-app" = "kube-dn"]: 53/udp, 53/tcp }
    });
}

mod mistyped_key {
    guide!({ namespace prod_api { main_api: 3000 } } {
        external namespace ingress_nginx { controller ["app.kubernetes.io/nam" = "ingress-nginx"] }
        external namespace kube_system   { kube_dns ["k8s-app" = "kube-dns"]: 53/udp, 53/tcp }
    });
}

mod renamed {
    guide!({ namespace prod_api { main_api as "main-svc": 3000 } } {
        external namespace ingress_nginx { controller ["app.kubernetes.io/name" = "ingress-nginx"] }
        external namespace kube_system   { kube_dns ["k8s-app" = "kube-dns"]: 53/udp, 53/tcp }
    });
}

mod two_selectors {
    guide!({ namespace prod_api { main_api: 3000; shop ["app.kubernetes.io/part-of" = "shop"] } } {
        external namespace ingress_nginx { controller ["app.kubernetes.io/name" = "ingress-nginx"] }
        external namespace kube_system   { kube_dns ["k8s-app" = "kube-dns"]: 53/udp, 53/tcp }
    });
}

fn deploy() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy"))
}

/// deploy/ with `edit` applied to the text of `file`; named as in deploy/.
fn manifests_with(file: &str, edit: impl Fn(&str) -> String) -> Workloads {
    let mut workloads = Workloads::default();
    let mut names: Vec<_> = std::fs::read_dir(deploy())
        .expect("deploy/")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    for path in names {
        let name = format!("deploy/{}", path.file_name().unwrap().to_string_lossy());
        let text = std::fs::read_to_string(&path).expect("read");
        let text = if name.ends_with(file) {
            edit(&text)
        } else {
            text
        };
        workloads.extend(Workloads::from_text(&name, &text).expect("loads"));
    }
    workloads
}

/// The findings of the checks, one line each.
fn findings(cluster: &Cluster, workloads: &Workloads) -> Vec<String> {
    check(cluster, workloads, Mode::Manifests)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn cluster_of(policy: &'static zero_trust::Policy) -> Cluster {
    Cluster::assemble(&[policy]).expect("assembles")
}

#[test]
fn the_guides_policies_select_the_shipped_workloads_without_a_finding() {
    let cluster = policies::cluster().expect("assembles");
    let workloads = Workloads::read(deploy()).expect("deploy/ loads");
    assert_eq!(findings(&cluster, &workloads), Vec::<String>::new());
    let emitted = emit(&cluster).expect("renders");
    let policies = emitted_policies(&emitted.files).expect("loads");
    prove_on_pods(&cluster, &policies, &workloads).expect("proved on the real pods");
}

#[test]
fn a_mistyped_label_value_is_an_error_with_the_labels_there() {
    let found = findings(
        &cluster_of(&mistyped_value::POLICY),
        &manifests_with("", str::to_owned),
    );
    assert_eq!(
        found,
        [
            "error: workload `kube_dns` (kube-system/kube-dns) selects `k8s-app: kube-dn`, which \
         matches no pod template in kube-system; there, kube-system/deployment/coredns \
         (deploy/kube-dns.yaml, document 1, line 2) carries k8s-app: kube-dns; fix the \
         selector where `kube_dns` is declared in policies/, or the labels of the template; \
         did you mean `k8s-app: kube-dns`?"
        ]
    );
}

#[test]
fn a_mistyped_label_key_is_an_error() {
    let found = findings(
        &cluster_of(&mistyped_key::POLICY),
        &manifests_with("", str::to_owned),
    );
    assert_eq!(
        found,
        [
            "error: workload `controller` (ingress-nginx/controller) selects \
         `app.kubernetes.io/nam: ingress-nginx`, which matches no pod template in ingress-nginx; \
         there, ingress-nginx/deployment/ingress-nginx-controller (deploy/ingress-nginx.yaml, \
         document 1, line 2) carries app.kubernetes.io/component: controller, \
         app.kubernetes.io/instance: ingress-nginx, app.kubernetes.io/name: ingress-nginx; fix \
         the selector where `controller` is declared in policies/, or the labels of the \
         template; did you mean `app.kubernetes.io/name: ingress-nginx`?"
        ]
    );
}

#[test]
fn a_renamed_workload_is_an_error() {
    let found = findings(
        &cluster_of(&renamed::POLICY),
        &manifests_with("", str::to_owned),
    );
    assert_eq!(
        found,
        [
            "error: workload `main_api` (prod-api/main-svc) selects `app: main-svc`, which matches \
         no pod template in prod-api; there, prod-api/deployment/main-api \
         (deploy/prod-api.yaml, document 1, line 2) carries app: main-api, \
         app.kubernetes.io/part-of: shop, version: v1; fix the selector where `main_api` is \
         declared in policies/, or the labels of the template; did you mean `app: main-api`?",
            "warning: pod template prod-api/deployment/main-api (deploy/prod-api.yaml, document 1, \
         line 2) in managed namespace prod-api is selected by no workload: its pods get default \
         deny and only the flows of the whole namespace; declare it in policies/ (by its \
         labels) or remove it"
        ]
    );
}

#[test]
fn a_port_no_container_declares_is_a_warning() {
    let cluster = policies::cluster().expect("assembles");
    let workloads = manifests_with("prod-auth.yaml", |t| {
        t.replace("containerPort: 8080", "containerPort: 8081")
    });
    assert_eq!(
        findings(&cluster, &workloads),
        [
            "warning: flow `main_api -> auth_service:8080`: no container of the pods it reaches \
         declares 8080/tcp (containerPort); prod-auth/deployment/auth-service \
         (deploy/prod-auth.yaml, document 1, line 2) declares 8081/tcp; fix the port of the \
         flow, or declare it in the manifest (containerPorts are optional, so the traffic may \
         still work)"
        ]
    );
}

#[test]
fn a_template_no_workload_selects_is_a_warning() {
    let cluster = policies::cluster().expect("assembles");
    let workloads = manifests_with("prod-api.yaml", |t| {
        format!(
            "{t}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: metrics-exporter, namespace: prod-api}}\nspec:\n  selector: {{matchLabels: {{app: metrics-exporter}}}}\n  template:\n    metadata: {{labels: {{app: metrics-exporter}}}}\n    spec: {{containers: [{{name: c, ports: [{{containerPort: 9100}}]}}]}}\n"
        )
    });
    assert_eq!(
        findings(&cluster, &workloads),
        [
            "warning: pod template prod-api/deployment/metrics-exporter (deploy/prod-api.yaml, \
         document 3, line 30) in managed namespace prod-api is selected by no workload: its \
         pods get default deny and only the flows of the whole namespace; declare it in \
         policies/ (by its labels) or remove it"
        ]
    );
}

#[test]
fn a_namespace_the_manifests_lack_is_a_warning() {
    let cluster = policies::cluster().expect("assembles");
    let workloads = manifests_with("", str::to_owned);
    let mut without = Workloads::default();
    for (file, text) in [
        (
            "deploy/prod-api.yaml",
            include_str!("../../../deploy/prod-api.yaml"),
        ),
        (
            "deploy/ingress-nginx.yaml",
            include_str!("../../../deploy/ingress-nginx.yaml"),
        ),
    ] {
        without.extend(Workloads::from_text(file, text).expect("loads"));
    }
    assert_eq!(findings(&cluster, &workloads), Vec::<String>::new());
    assert_eq!(
        findings(&cluster, &without),
        [
            "warning: namespace `kube-system` of the policies is not in the manifests, so no pod \
             of it could be checked; add its Namespace and workloads to the manifests, or fix \
             its name in policies/",
            "warning: no namespace of the manifests matches monitoring (namespaces \
             kubernetes.io/metadata.name in (monitoring,observability)), so its flows reach no \
             pod yet; label the namespaces it stands for, or fix its selector in policies/",
            "warning: namespace `prod-auth` of the policies is not in the manifests, so no pod \
             of it could be checked; add its Namespace and workloads to the manifests, or fix \
             its name in policies/",
            "warning: namespace `prod-database` of the policies is not in the manifests, so no \
             pod of it could be checked; add its Namespace and workloads to the manifests, or \
             fix its name in policies/",
            "warning: namespace `prod-image` of the policies is not in the manifests, so no pod \
             of it could be checked; add its Namespace and workloads to the manifests, or fix \
             its name in policies/",
            "warning: namespace `prod-storage` of the policies is not in the manifests, so no pod \
             of it could be checked; add its Namespace and workloads to the manifests, or fix \
             its name in policies/",
            "warning: namespace `shop` of the policies is not in the manifests, so no pod of it \
             could be checked; add its Namespace and workloads to the manifests, or fix its name \
             in policies/",
        ]
    );
}

#[test]
fn a_template_two_workloads_select_is_a_warning() {
    let found = findings(
        &cluster_of(&two_selectors::POLICY),
        &manifests_with("", str::to_owned),
    );
    assert_eq!(
        found,
        [
            "warning: pod template prod-api/deployment/main-api (deploy/prod-api.yaml, document 1, \
         line 2) is selected by workloads `main_api` and `shop`: its pods get the union of \
         their flows; make the selectors tell them apart if that is not meant"
        ]
    );
}

/// The emitted YAML, edited by hand, evaluated on the real pods: the mismatch names the
/// pod template, its file and the flow.
#[test]
fn the_proof_on_the_real_pods_names_the_template_its_file_and_the_flow() {
    let cluster = policies::cluster().expect("assembles");
    let mut files = emit(&cluster).expect("renders").files;
    let auth = files.get_mut("10-allow-prod-auth.yaml").expect("emitted");
    assert!(auth.contains("port: 8080"));
    *auth = auth.replacen("port: 8080", "port: 8081", 1);
    let policies = emitted_policies(&files).expect("loads");
    let problems = prove_on_pods(&cluster, &policies, &manifests_with("", str::to_owned))
        .expect_err("the edit is caught");
    assert_eq!(
        problems,
        [
            "prod-api/deployment/main-api -> prod-auth/deployment/auth-service: the ingress of \
             prod-auth/deployment/auth-service allows 8081/tcp but the policies declare 8080/tcp \
             (e.g. 8080/TCP); decided by prod-auth/auth-service.ingress \
             (k8s/10-allow-prod-auth.yaml, document 1, line 3), prod-auth/default-deny-all \
             (k8s/20-default-deny.yaml, document 2, line 17); pod template \
             prod-api/deployment/main-api (deploy/prod-api.yaml, document 1, line 2), \
             prod-auth/deployment/auth-service (deploy/prod-auth.yaml, document 1, line 2)"
        ]
    );
}

#[test]
fn a_named_port_no_selected_container_defines_is_an_error() {
    let policy = |port: &str| {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: web, namespace: prod-api}}\nspec:\n  podSelector: {{matchLabels: {{app: main-api}}}}\n  ingress:\n  - ports: [{{port: {port}}}]\n  egress:\n  - to: [{{namespaceSelector: {{}}, podSelector: {{matchLabels: {{app: minio}}}}}}]\n    ports: [{{port: {port}}}]\n"
        )
    };
    let workloads = manifests_with("", str::to_owned);
    let findings = |port: &str| {
        let inputs = zero_trust::eval::Inputs::from_yaml("web.yaml", &policy(port)).expect("loads");
        named_ports_are_defined(&inputs.policies, &workloads)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    // main-api names its port `http`; MinIO names `s3` and `console`.
    assert_eq!(
        findings("http"),
        [
            "error: NetworkPolicy `prod-api/web` (web.yaml, document 1, line 1) spec.egress[0] \
          names port `http` (TCP), which no container of the pods it reaches defines: \
          prod-storage/statefulset/minio (deploy/prod-storage.yaml, document 1, line 2); name \
          the containerPort `http` in the manifest, or write the port's number"
        ]
    );
    assert_eq!(findings("s3").len(), 1, "{:?}", findings("s3"));
    assert!(findings("s3")[0].contains("spec.ingress[0] names port `s3`"));
}

#[test]
fn unselected_templates_of_a_namespace_are_one_warning() {
    let cluster = policies::cluster().expect("assembles");
    let workloads = manifests_with("prod-api.yaml", |t| {
        let mut text = t.to_owned();
        for i in 0..12 {
            text.push_str(&format!("---\napiVersion: v1\nkind: Pod\nmetadata: {{name: debug-{i:02}, namespace: prod-api, labels: {{run: debug}}}}\nspec: {{containers: [{{name: c}}]}}\n"));
        }
        text
    });
    let found = findings(&cluster, &workloads);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(
            "warning: pod templates prod-api/debug-00 (deploy/prod-api.yaml, document 3, line 30), \
             prod-api/debug-01 (deploy/prod-api.yaml, document 4, line 35)"
        ),
        "{}",
        found[0]
    );
    assert!(
        found[0].ends_with(
            "prod-api/debug-09 (deploy/prod-api.yaml, document 12, line 75) and 2 more in \
             managed namespace prod-api are selected by no workload: their pods get default deny \
             and only the flows of the whole namespace; declare each in policies/ (by its labels) \
             or remove it"
        ),
        "{}",
        found[0]
    );
}

#[test]
fn a_network_policy_in_the_manifests_is_a_warning() {
    let cluster = policies::cluster().expect("assembles");
    let workloads = manifests_with("prod-api.yaml", |t| {
        format!(
            "{t}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: chart-allow-all, namespace: prod-api}}\nspec: {{podSelector: {{}}, ingress: [{{}}]}}\n"
        )
    });
    assert_eq!(
        findings(&cluster, &workloads),
        [
            "warning: the manifests hold NetworkPolicy `prod-api/chart-allow-all` \
          (deploy/prod-api.yaml, document 3, line 30): policies are additive, so it allows more \
          than k8s/, and the proof does not cover it; write its flows in policies/ and remove it \
          (for a Helm chart, usually `networkPolicy.enabled: false`)"
        ]
    );
}
