//! The YAML that policies produce: the guide's cluster pinned byte for byte against the
//! committed `k8s/`, and the lowering rules on small clusters.

use std::path::Path;

use zero_trust::emit::emit;
use zero_trust::{Cluster, ClusterError, Policy};

fn render(parts: &[&'static Policy]) -> std::collections::BTreeMap<String, String> {
    let cluster = Cluster::assemble(parts).expect("cluster assembles");
    emit(&cluster).expect("renders").files
}

/// The committed `k8s/` is what `cargo xtask emit` writes for `policies/`; when this
/// fails, run `cargo xtask emit`, read the diff of k8s/ and commit it.
#[test]
fn committed_k8s_matches_the_guides_cluster() {
    let cluster = policies::cluster().expect("the guide's cluster assembles");
    let emitted = emit(&cluster).expect("renders");
    let k8s = Path::new(env!("CARGO_MANIFEST_DIR")).join("../k8s");
    for (name, text) in &emitted.files {
        let committed = std::fs::read_to_string(k8s.join(name)).unwrap_or_default();
        assert!(
            committed == *text,
            "k8s/{name} is stale; run `cargo xtask emit`"
        );
    }
    assert_eq!(emitted.summary.flows, 11);
    assert_eq!(emitted.summary.managed_namespaces, 5);
}

mod two_managed {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace shop { web: 8080; db ["app.kubernetes.io/name" = "postgres", "tier" = "db"]: 5432 }
        web -> db:5432;
    }
}

#[test]
fn a_flow_between_managed_ends_writes_both_halves_with_one_anded_peer() {
    let files = render(&[&two_managed::POLICY]);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "10-allow-shop.yaml",
            "20-default-deny.yaml",
            "FLOWS-shop.md",
            "FLOWS.md",
            "apply.sh",
            "verify.sh"
        ]
    );
    assert_eq!(
        files["10-allow-shop.yaml"],
        r#"# Written by `cargo xtask emit` from policies/; do not edit by hand.
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  labels:
    app.kubernetes.io/managed-by: zero-trust
    zero-trust.dev/policy-source: default
  name: db.ingress
  namespace: shop
spec:
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: shop
      podSelector:
        matchLabels:
          app: web
    ports:
    - port: 5432
      protocol: TCP
  podSelector:
    matchLabels:
      app.kubernetes.io/name: postgres
      tier: db
  policyTypes:
  - Ingress
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  labels:
    app.kubernetes.io/managed-by: zero-trust
    zero-trust.dev/policy-source: default
  name: web.egress
  namespace: shop
spec:
  egress:
  - ports:
    - port: 5432
      protocol: TCP
    to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: shop
      podSelector:
        matchLabels:
          app.kubernetes.io/name: postgres
          tier: db
  podSelector:
    matchLabels:
      app: web
  policyTypes:
  - Egress
"#
    );
    assert_eq!(
        files["20-default-deny.yaml"],
        r#"# Written by `cargo xtask emit` from policies/; do not edit by hand.
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  labels:
    app.kubernetes.io/managed-by: zero-trust
    zero-trust.dev/policy-source: default
  name: default-deny-all
  namespace: shop
spec:
  podSelector: {}
  policyTypes:
  - Ingress
  - Egress
"#
    );
}

mod edges {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace apps { gateway as "edge-gw": 30000..=32767, 8443/sctp }
        namespace tools {}
        external namespace monitoring { prometheus: 9090 }
        cidr office = "203.0.113.0/24";
        office -> gateway:30000..=32767;
        gateway -> prometheus:9090;
        tools -> *:8443/sctp;
    }
}

#[test]
fn external_and_cidr_ends_get_only_the_managed_half() {
    let files = render(&[&edges::POLICY]);
    let apps = &files["10-allow-apps.yaml"];
    // The CIDR is a source: ingress at the gateway, with the range as port + endPort.
    assert!(apps.contains("  name: edge-gw.ingress\n"), "{apps}");
    assert!(apps.contains("    - ipBlock:\n        cidr: 203.0.113.0/24\n    ports:\n    - endPort: 32767\n      port: 30000\n      protocol: TCP\n"), "{apps}");
    // The external namespace is a destination: egress at the gateway only.
    assert!(apps.contains("  name: edge-gw.egress\n"), "{apps}");
    assert!(
        !files.keys().any(|f| f.contains("monitoring")),
        "external namespaces are never written to"
    );
}

/// apply.sh learns which policies hold a port range, so its preflight can refuse a server
/// that would drop `endPort`; a cluster without a range gives it none to check.
#[test]
fn the_plan_names_the_policies_holding_a_port_range() {
    let cluster = Cluster::assemble(&[&edges::POLICY]).expect("cluster assembles");
    let emitted = emit(&cluster).expect("renders");
    assert_eq!(emitted.plan.port_range_policies, ["apps/edge-gw.ingress"]);
    assert!(
        emitted.files["apply.sh"].contains("port_range_policies=(\n  apps/edge-gw.ingress\n)\n")
    );
    let cluster = Cluster::assemble(&[&two_managed::POLICY]).expect("cluster assembles");
    let emitted = emit(&cluster).expect("renders");
    assert!(emitted.plan.port_range_policies.is_empty());
    assert!(emitted.files["apply.sh"].contains("\nport_range_policies=()\n"));
}

#[test]
fn every_managed_pod_is_one_namespace_selector_over_the_managed_names() {
    let files = render(&[&edges::POLICY]);
    let apps = &files["10-allow-apps.yaml"];
    assert!(apps.contains("  name: all-pods.ingress\n"), "{apps}");
    assert!(
        apps.contains("  - from:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: tools\n    ports:\n    - port: 8443\n      protocol: SCTP\n"),
        "{apps}"
    );
    let tools = &files["10-allow-tools.yaml"];
    assert!(
        tools.contains("    to:\n    - namespaceSelector:\n        matchExpressions:\n        - key: kubernetes.io/metadata.name\n          operator: In\n          values:\n          - apps\n          - tools\n"),
        "{tools}"
    );
}

mod part_a {
    use zero_trust::zero_trust;
    zero_trust! {
        use super::part_b::worker;
        namespace front { api: 80 }
        api -> worker:9000;
    }
}

mod part_b {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace back { worker: 9000 }
    }
}

mod part_b_again {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace back { worker: 9000 }
    }
}

#[test]
fn output_does_not_depend_on_the_order_of_parts() {
    assert_eq!(
        render(&[&part_a::POLICY, &part_b::POLICY]),
        render(&[&part_b::POLICY, &part_a::POLICY])
    );
}

#[test]
fn a_flow_to_a_block_missing_from_the_cluster_is_an_error() {
    let errors = Cluster::assemble(&[&part_a::POLICY]).unwrap_err();
    assert_eq!(errors.len(), 1);
    let message = errors[0].to_string();
    assert!(matches!(errors[0], ClusterError::NotInCluster { .. }));
    assert!(message.contains("flow `api -> worker:9000`"), "{message}");
    assert!(
        message.contains("workload `worker` (`back/worker`)"),
        "{message}"
    );
    assert!(
        message.contains("add the block that declares it to the cluster's parts"),
        "{message}"
    );
}

#[test]
fn a_namespace_declared_in_two_blocks_is_an_error() {
    let errors =
        Cluster::assemble(&[&part_a::POLICY, &part_b::POLICY, &part_b_again::POLICY]).unwrap_err();
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages[0].starts_with("namespace `back` is declared in both"),
        "{messages:?}"
    );
    assert!(
        messages[1].starts_with("workload `back/worker` is declared in both"),
        "{messages:?}"
    );
}
