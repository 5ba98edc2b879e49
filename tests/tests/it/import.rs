//! `cargo xtask import`: existing NetworkPolicies become `zero_trust!` code, and the
//! report says exactly what the translation changes.
//!
//! The guide's own YAML (`tests/fixtures/import/guide.yaml`) is imported twice: as it is,
//! where each custom `name` namespace selector becomes namespaces selected by that label
//! (exact, and reported), and with `--namespace-label name`. The code of the second is committed in `src/imported_guide/`
//! and compiled with this crate, so the test also shows that the written code compiles
//! and emits what the import proved. Refresh it after a deliberate change with
//! `ZT_BLESS=1 cargo test -p zero-trust-tests --test it import::`, then read the diff.

use std::path::{Path, PathBuf};

use zero_trust::Cluster;
use zero_trust::emit::emit;
use zero_trust::eval::{Inputs, load_dir, load_file};
use zero_trust::import::{Assumptions, Imported, add_workloads, import};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn guide() -> Inputs {
    let mut inputs = Inputs::default();
    load_file(
        &mut inputs,
        &root().join("tests/fixtures/import/guide.yaml"),
    )
    .expect("loads");
    inputs
}

fn import_with(inputs: &Inputs, namespace_label: Option<&str>) -> Imported {
    let assumptions = Assumptions {
        namespace_label: namespace_label.map(str::to_owned),
    };
    import(inputs, &assumptions).expect("imports")
}

/// The import of `yaml`, read as the file `shop.yaml`.
fn import_yaml(yaml: &str) -> Imported {
    let mut inputs = Inputs::default();
    zero_trust::eval::load_str(&mut inputs, Path::new("shop.yaml"), yaml).expect("loads");
    import_with(&inputs, None)
}

/// Every file of the written code, one after the other.
fn all_code(imported: &Imported) -> String {
    imported
        .files
        .values()
        .cloned()
        .collect::<Vec<_>>()
        .join("\n")
}

/// The report with the fixture's path made relative, as a user sees it from the root.
fn report_text(imported: &Imported) -> String {
    imported
        .report
        .to_string()
        .replace(&format!("{}/", root().display()), "")
        .replace("tests/../", "")
}

#[test]
fn the_guide_as_written_imports_exactly_with_its_custom_namespace_label() {
    let imported = import_with(&guide(), None);
    let report = report_text(&imported);
    // Each `name: <ns>` selector becomes namespaces selected by that label, which is
    // exactly what the input says; the report names the label and the alternative.
    for (namespace, ident) in [
        ("ingress-nginx", "ingress_nginx_namespaces"),
        ("prod-api", "prod_api_namespaces"),
        ("prod-auth", "prod_auth_namespaces"),
        ("prod-image", "prod_image_namespaces"),
        ("prod-storage", "prod_storage_namespaces"),
    ] {
        let note = format!(
            "note: the namespaces `[name={namespace}]` are selected by labels, so they are imported as `external namespaces {ident}`: the code, like the input, writes nothing into them and selects them by those labels; if every namespace carries `name` set to its own name, `--namespace-label name` imports them as the namespaces they name\n"
        );
        assert!(report.contains(&note), "{note}is not in:\n{report}");
    }
    assert!(
        report.ends_with("no difference: the code allows exactly what the input allowed\n"),
        "{report}"
    );
    assert!(!report.contains("left out"), "{report}");
    assert!(imported.report.is_exact());
    let shared = &imported.files["shared.rs"];
    assert!(
        shared.contains("    external namespaces prod_auth_namespaces [\"name\" = \"prod-auth\"] {\n        prod_auth_namespaces_auth_service as \"auth-service\": 8080\n    }\n"),
        "{shared}"
    );
}

/// The two committed imports of the guide: as written, and with `--namespace-label name`.
const COMMITTED: [(&str, Option<&str>); 2] = [
    ("tests/src/imported_guide_as_written", None),
    ("tests/src/imported_guide", Some("name")),
];

#[test]
fn the_guide_imports_to_the_committed_code() {
    for (folder, namespace_label) in COMMITTED {
        let imported = import_with(&guide(), namespace_label);
        let committed = root().join(folder);
        if std::env::var_os("ZT_BLESS").is_some() {
            std::fs::create_dir_all(&committed).expect("creates");
            for (name, text) in &imported.files {
                std::fs::write(committed.join(name), text).expect("writes");
            }
        }
        for (name, text) in &imported.files {
            let on_disk = std::fs::read_to_string(committed.join(name))
                .unwrap_or_else(|e| panic!("{folder}/{name}: {e}; refresh with ZT_BLESS=1"));
            assert_eq!(
                &on_disk, text,
                "{folder}/{name} differs; refresh with ZT_BLESS=1"
            );
        }
    }
    let report = report_text(&import_with(&guide(), Some("name")));
    assert!(
        report.starts_with("assumed: every namespace carries the label `name` set to its own name, so a selector on `name` names one namespace (zero-trust selects it by `kubernetes.io/metadata.name`)\n"),
        "{report}"
    );
}

/// The committed code compiles (it is part of this crate) and emits, byte for byte, the
/// YAML the import evaluated for its report.
#[test]
fn the_committed_guide_code_emits_what_the_import_proved() {
    let parts = [
        zero_trust_tests::imported_guide_as_written::PARTS,
        zero_trust_tests::imported_guide::PARTS,
    ];
    for ((folder, namespace_label), parts) in COMMITTED.into_iter().zip(parts) {
        let cluster = Cluster::assemble(parts).expect("assembles");
        let emitted = emit(&cluster).expect("renders").files;
        let imported = import_with(&guide(), namespace_label);
        assert_eq!(
            emitted.keys().collect::<Vec<_>>(),
            imported.emitted.keys().collect::<Vec<_>>(),
            "{folder}"
        );
        for (name, text) in &emitted {
            assert!(
                *text == imported.emitted[name],
                "{name} differs between the code in {folder} and the import's proof"
            );
        }
    }
}

/// The committed `k8s/`, imported with the workloads of `deploy/` (which say that minio
/// is who listens on 9000 in prod-storage, since image-service's flow goes to the whole
/// namespace), gives code that allows exactly what it allows.
#[test]
fn the_committed_k8s_imports_back_to_code_that_allows_the_same() {
    let mut inputs = load_dir(&root().join("k8s")).expect("loads");
    add_workloads(
        &mut inputs,
        load_dir(&root().join("deploy")).expect("loads"),
    );
    let imported = import_with(&inputs, None);
    assert!(
        imported.report.is_exact(),
        "the round trip changes something:\n{}",
        imported.report
    );
    let storage = &imported.files["prod_storage.rs"];
    assert!(storage.contains("minio: 9000"), "{storage}");
}

/// Without the workloads, nothing says who listens in prod-storage: the flow to the
/// whole namespace is left out, with what to do.
#[test]
fn a_flow_to_a_whole_managed_namespace_needs_its_workloads() {
    let inputs = load_dir(&root().join("k8s")).expect("loads");
    let report = import_with(&inputs, None).report.to_string();
    assert!(
        report.contains("the flow image_service -> prod_storage: it allows 9000/tcp to every pod of namespace `prod-storage`, and no workload of that namespace is known to listen there; give its workloads with --workloads, or declare the one that listens"),
        "{report}"
    );
}

/// Set-based pod selectors become the DSL's `in`, exists and the others, and a policy's
/// `description` the flow's doc comment; the translation is exact.
#[test]
fn set_based_selectors_and_reasons_come_through() {
    let yaml = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-from-canaries
  namespace: shop
  annotations: {description: Canaries call the web tier.}
spec:
  podSelector:
    matchExpressions: [{key: tier, operator: In, values: [web, api]}]
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchExpressions: [{key: canary, operator: Exists}, {key: legacy, operator: DoesNotExist}]}}]
    ports: [{port: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: canaries-out, namespace: shop}
spec:
  podSelector:
    matchExpressions: [{key: canary, operator: Exists}, {key: legacy, operator: DoesNotExist}]
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchExpressions: [{key: tier, operator: In, values: [web, api]}]}}]
    ports: [{port: 8080}]
"#;
    let imported = import_yaml(yaml);
    assert!(imported.report.is_exact(), "{}", imported.report);
    let shop = &imported.files["shop.rs"];
    for line in [
        "canary [\"canary\", !\"legacy\"];",
        "tier_api_web [\"tier\" in [\"api\", \"web\"]]: 8080",
        "    /// Canaries call the web tier.\n    canary -> tier_api_web:8080;",
    ] {
        assert!(shop.contains(line), "{line:?} is not in:\n{shop}");
    }
}

/// A rule without `from` (or `to`) matches every source (destination): every pod of every
/// namespace and every address. Import writes that as flows from namespaces selected by
/// `[]` and from both default networks, which allow exactly the same.
#[test]
fn a_rule_without_peers_becomes_every_namespace_and_every_address() {
    let yaml = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-public, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress, Egress]
  ingress:
  - ports: [{port: 443}]
  egress:
  - {}
"#;
    let imported = import_yaml(yaml);
    assert!(imported.report.is_exact(), "{}", imported.report);
    let code = all_code(&imported);
    for line in [
        "    external namespaces every_namespace [] {}\n",
        "    cidr internet = \"0.0.0.0/0\";\n",
        "    cidr internet_v6 = \"::/0\";\n",
        "    every_namespace -> web:443;\n",
        "    internet -> web:443;\n",
        "    internet_v6 -> web:443;\n",
        "    web -> every_namespace:any;\n",
        "    web -> internet:any;\n",
        "    web -> internet_v6:any;\n",
    ] {
        assert!(code.contains(line), "{line}is not in:\n{code}");
    }
}

/// A port name is resolved on the destination's pods: towards pods the code does not
/// manage it is written as the name (exact), towards managed pods it is left out and said.
#[test]
fn port_names_towards_unmanaged_pods_come_through() {
    let yaml = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-dns, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports: [{port: dns, protocol: UDP}, {port: dns-tcp}, {port: 9153}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-in, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: lb}}}]
    ports: [{port: http}]
"#;
    let imported = import_yaml(yaml);
    let report = report_text(&imported);
    let code = all_code(&imported);
    assert!(
        code.contains("    web -> kube_dns:9153, dns/udp, dns_tcp;\n"),
        "{code}"
    );
    assert!(
        report.contains("left out: shop/web-in (shop.yaml, document 3, line 19): spec.ingress[0].ports: the port name(s) `http` are resolved on pods the code manages, whose ports `zero_trust!` declares by number; write the numbers\n"),
        "{report}"
    );
}
