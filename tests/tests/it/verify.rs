//! The proof that the emitted YAML allows exactly what the policies declare, and that it
//! catches each way a file can be edited by hand.

use std::path::Path;

use zero_trust::emit::emit;
use zero_trust::verify::prove_emitted;

/// The guide's cluster, emitted into a fresh folder, with `edit` applied to one file.
fn prove_with(
    file: &str,
    edit: impl Fn(&str) -> String,
) -> Result<zero_trust::verify::Proof, Vec<String>> {
    let cluster = policies::cluster().expect("assembles");
    let emitted = emit(&cluster).expect("renders");
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in &emitted.files {
        let text = if name == file {
            edit(text)
        } else {
            text.clone()
        };
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    prove_emitted(&cluster, dir.path())
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the mutation must apply: `{from}` not in\n{text}"
    );
    text.replacen(from, to, 1)
}

#[test]
fn the_emitted_guide_cluster_allows_exactly_its_flows() {
    let proof = prove_with("", str::to_owned).expect("proved");
    assert_eq!(proof.policies, 20);
}

#[test]
fn the_committed_k8s_allows_exactly_the_guides_flows() {
    let cluster = policies::cluster().expect("assembles");
    let k8s = Path::new(env!("CARGO_MANIFEST_DIR")).join("../k8s");
    prove_emitted(&cluster, &k8s).expect("committed k8s/ proved");
}

/// `cargo xtask emit` proves the rollout with the policies the proof read back from the
/// staged folder, instead of reading the YAML a second time: the same answer.
#[test]
fn the_rollout_proven_from_the_policies_read_back_is_the_one_proven_from_the_text() {
    use zero_trust::rollout::{in_rollout_order, prove_emitted_rollout, read_manifests};
    let cluster = policies::cluster().expect("assembles");
    let emitted = emit(&cluster).expect("renders");
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in &emitted.files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let read_back = prove_emitted(&cluster, dir.path()).expect("proved").loaded;
    assert_eq!(read_back.len(), 20);
    let read_back = in_rollout_order(&emitted.plan, read_back).expect("in the plan");
    let from_text = read_manifests("k8s", &emitted.files).expect("reads");
    let from_text = in_rollout_order(&emitted.plan, from_text).expect("in the plan");
    let names = |policies: &[zero_trust::eval::LoadedPolicy]| {
        policies
            .iter()
            .map(|p| p.display_name())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&read_back), names(&from_text));
    assert_eq!(names(&read_back)[0], "prod-api/main-api.egress");
    for old in [Vec::new(), from_text.clone()] {
        assert_eq!(
            prove_emitted_rollout(&cluster, &old, &read_back),
            prove_emitted_rollout(&cluster, &old, &from_text)
        );
    }
    let proof = prove_emitted_rollout(&cluster, &[], &read_back).expect("safe");
    assert_eq!(proof.steps.len(), 20);
}

#[test]
fn a_policy_the_rollout_never_writes_is_an_error() {
    let cluster = policies::cluster().expect("assembles");
    let emitted = emit(&cluster).expect("renders");
    let mut policies = zero_trust::rollout::read_manifests("k8s", &emitted.files).expect("reads");
    let mut extra = policies[0].clone();
    extra.policy.metadata.name = Some("extra".to_owned());
    policies.push(extra);
    let error = zero_trust::rollout::in_rollout_order(&emitted.plan, policies).unwrap_err();
    assert_eq!(
        error,
        "prod-api/extra is emitted but the rollout never writes it"
    );
    let error = zero_trust::rollout::in_rollout_order(&emitted.plan, Vec::new()).unwrap_err();
    assert!(
        error.starts_with("the rollout writes ")
            && error.ends_with(" but no emitted manifest holds it"),
        "{error}"
    );
}

fn assert_caught(errors: Vec<String>, needles: &[&str]) {
    let text = errors.join("\n");
    for needle in needles {
        assert!(text.contains(needle), "`{needle}` not in:\n{text}");
    }
}

#[test]
fn a_changed_port_is_caught_naming_the_file_and_policy() {
    let errors = prove_with("10-allow-prod-auth.yaml", |t| {
        replace_once(t, "port: 8080", "port: 8081")
    })
    .unwrap_err();
    assert_caught(
        errors,
        &[
            "prod-api/main-api -> prod-auth/auth-service: the ingress of prod-auth/auth-service allows 8081/tcp but the policies declare 8080/tcp",
            "prod-auth/auth-service.ingress",
            "10-allow-prod-auth.yaml",
        ],
    );
}

#[test]
fn a_dropped_rule_is_caught() {
    let errors = prove_with("10-allow-prod-api.yaml", |t| {
        replace_once(t, "  - ports:\n    - port: 5000\n      protocol: TCP\n    to:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: prod-image\n      podSelector:\n        matchLabels:\n          app: image-service\n", "")
    })
    .unwrap_err();
    assert_caught(
        errors,
        &[
            "prod-api/main-api -> prod-image/image-service: the egress of prod-api/main-api allows nothing but the policies declare 5000/tcp",
            "prod-api/main-api.egress",
        ],
    );
}

#[test]
fn a_widened_selector_is_caught() {
    let errors = prove_with("10-allow-prod-api.yaml", |t| {
        replace_once(
            t,
            "  podSelector:\n    matchLabels:\n      app: main-api\n  policyTypes:\n  - Egress",
            "  podSelector: {}\n  policyTypes:\n  - Egress",
        )
    })
    .unwrap_err();
    assert_caught(
        errors,
        &[
            "prod-api/<any other pod> -> prod-auth/auth-service: the egress of prod-api/<any other pod> allows 8080/tcp but the policies declare nothing",
            "prod-api/main-api.egress spec.egress[1]",
        ],
    );
}

#[test]
fn a_peer_split_into_two_items_is_caught() {
    // namespaceSelector and podSelector as two items are ORed: any pod of prod-api, or any
    // pod labelled app=main-api anywhere.
    let errors = prove_with("10-allow-prod-auth.yaml", |t| {
        replace_once(
            t,
            "          kubernetes.io/metadata.name: prod-api\n      podSelector:",
            "          kubernetes.io/metadata.name: prod-api\n    - podSelector:",
        )
    })
    .unwrap_err();
    assert_caught(
        errors,
        &[
            "prod-api/<any other pod> -> prod-auth/auth-service: the ingress of prod-auth/auth-service allows 8080/tcp but the policies declare nothing",
            "prod-auth/auth-service.ingress spec.ingress[0]",
        ],
    );
}

#[test]
fn a_lost_default_deny_is_caught() {
    let errors = prove_with("20-default-deny.yaml", |t| {
        replace_once(t, "  namespace: prod-auth\nspec:\n  podSelector: {}\n  policyTypes:\n  - Ingress\n  - Egress\n", "  namespace: prod-auth\nspec:\n  podSelector: {}\n  policyTypes:\n  - Egress\n")
    })
    .unwrap_err();
    // auth-service stays isolated by its own ingress policy; any other pod of prod-auth
    // is now open to the world.
    assert_caught(
        errors,
        &[
            "prod-auth/<any other pod> is isolated for Ingress in the policies but is not in the YAML",
        ],
    );
}

#[test]
fn a_file_that_is_not_yaml_is_reported_with_its_position() {
    let errors = prove_with("10-allow-prod-api.yaml", |t| {
        format!("{t}\n  bad: [indent\n")
    })
    .unwrap_err();
    assert_caught(errors, &["10-allow-prod-api.yaml:"]);
}
