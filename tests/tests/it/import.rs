//! `cargo xtask import`: existing NetworkPolicies become `zero_trust!` code, and the
//! report says exactly what the translation changes.
//!
//! The guide's own YAML (`tests/fixtures/import/guide.yaml`) is imported twice: as it is,
//! where its custom `name` namespace label cannot be written and is reported, and with
//! `--namespace-label name`. The code of the second is committed in `src/imported_guide/`
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

/// The report with the fixture's path made relative, as a user sees it from the root.
fn report_text(imported: &Imported) -> String {
    imported
        .report
        .to_string()
        .replace(&format!("{}/", root().display()), "")
        .replace("tests/../", "")
}

#[test]
fn the_guide_as_written_names_its_custom_namespace_label_and_what_it_costs() {
    let imported = import_with(&guide(), None);
    let report = report_text(&imported);
    let hint = "selects namespaces by label, which `zero_trust!` cannot write yet; if every namespace carries `name` set to its own name, pass `--namespace-label name`";
    for (policy, field) in [
        (
            "prod-api/allow-ingress-from-nginx",
            "spec.ingress[0].from[0]",
        ),
        (
            "prod-api/allow-egress-to-auth-service",
            "spec.egress[0].to[0]",
        ),
        (
            "prod-api/allow-egress-to-image-service",
            "spec.egress[0].to[0]",
        ),
        (
            "prod-auth/allow-ingress-from-main-api",
            "spec.ingress[0].from[0]",
        ),
        (
            "prod-image/allow-ingress-from-main-api",
            "spec.ingress[0].from[0]",
        ),
        ("prod-image/allow-egress-to-minio", "spec.egress[0].to[0]"),
    ] {
        assert!(
            report
                .lines()
                .any(|line| line.starts_with(&format!("left out: {policy} ("))
                    && line.contains(&format!("{field}: `namespaceSelector` name="))
                    && line.ends_with(hint)),
            "{policy} {field} is not reported as left out:\n{report}"
        );
    }
    assert!(
        report.contains(
            "lost, because a rule that allowed it cannot be written in `zero_trust!` (see \"left out\"):\n  [name=ingress-nginx]/<any other pod> -> prod-api/[app=main-api]: 3000/tcp\n"
        ),
        "{report}"
    );
    assert!(!imported.report.is_exact());
}

#[test]
fn the_guide_with_its_name_label_imports_to_the_committed_code() {
    let imported = import_with(&guide(), Some("name"));
    let committed = root().join("tests/src/imported_guide");
    if std::env::var_os("ZT_BLESS").is_some() {
        std::fs::create_dir_all(&committed).expect("creates");
        for (name, text) in &imported.files {
            std::fs::write(committed.join(name), text).expect("writes");
        }
    }
    for (name, text) in &imported.files {
        let on_disk = std::fs::read_to_string(committed.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}; refresh with ZT_BLESS=1"));
        assert_eq!(&on_disk, text, "{name} differs; refresh with ZT_BLESS=1");
    }
    let report = report_text(&imported);
    assert!(
        report.starts_with("assumed: every namespace carries the label `name` set to its own name, so a selector on `name` names one namespace (zero-trust selects it by `kubernetes.io/metadata.name`)\n"),
        "{report}"
    );
}

/// The committed code compiles (it is part of this crate) and emits, byte for byte, the
/// YAML the import evaluated for its report.
#[test]
fn the_committed_guide_code_emits_what_the_import_proved() {
    let cluster = Cluster::assemble(zero_trust_tests::imported_guide::PARTS).expect("assembles");
    let emitted = emit(&cluster).expect("renders").files;
    let imported = import_with(&guide(), Some("name"));
    assert_eq!(
        emitted.keys().collect::<Vec<_>>(),
        imported.emitted.keys().collect::<Vec<_>>()
    );
    for (name, text) in &emitted {
        assert!(
            *text == imported.emitted[name],
            "{name} differs between the committed code and the import's proof"
        );
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
    let mut inputs = Inputs::default();
    zero_trust::eval::load_str(&mut inputs, Path::new("shop.yaml"), yaml).expect("loads");
    let imported = import_with(&inputs, None);
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
