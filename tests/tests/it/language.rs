//! The constructs of the language beyond one workload per flow line: `any` ports, external
//! ends declared without ports, set-based selectors. Each is pinned as YAML and proven
//! (read back, validated and evaluated) to allow exactly what it declares.

use std::collections::BTreeMap;

use zero_trust::emit::emit;
use zero_trust::{Cluster, Policy};

/// Emits the parts, proves the files, and returns them.
fn emit_proven(parts: &[&'static Policy]) -> BTreeMap<String, String> {
    let cluster = Cluster::assemble(parts).expect("cluster assembles");
    let files = emit(&cluster).expect("renders").files;
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    if let Err(problems) = zero_trust::verify::prove_emitted(&cluster, dir.path()) {
        panic!("{problems:#?}");
    }
    files
}

/// The YAML document of the policy `name` in `file`.
fn policy<'f>(files: &'f BTreeMap<String, String>, file: &str, name: &str) -> &'f str {
    files[file]
        .split("\n---\n")
        .find(|document| document.contains(&format!("  name: {name}\n")))
        .unwrap_or_else(|| panic!("no policy {name} in {file}"))
}

mod any_ports {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace shop { web: any; batch; cache: 6379 }
        external namespace prod_database {}
        external namespace partners { partner_api ["app" = "partner-api"] }
        batch -> partners:any;
        batch -> web:any/tcp, 53/udp;
        batch -> prod_database:5432, 6379;
        batch -> partner_api:8443;
    }
}

#[test]
fn any_is_a_rule_without_ports_and_any_tcp_a_port_without_a_number() {
    let files = emit_proven(&[&any_ports::POLICY]);
    // `partners: any` has no `ports`; `any/tcp` is a port with a protocol only; the
    // external `prod_database` and `partner_api`, declared without ports, accept any.
    assert_eq!(
        policy(&files, "10-allow-shop.yaml", "batch.egress"),
        r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  labels:
    app.kubernetes.io/managed-by: zero-trust
    zero-trust.dev/policy-source: default
  name: batch.egress
  namespace: shop
spec:
  egress:
  - to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: partners
  - ports:
    - port: 5432
      protocol: TCP
    - port: 6379
      protocol: TCP
    to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: prod-database
  - ports:
    - port: 8443
      protocol: TCP
    to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: partners
      podSelector:
        matchLabels:
          app: partner-api
  - ports:
    - protocol: TCP
    - port: 53
      protocol: UDP
    to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: shop
      podSelector:
        matchLabels:
          app: web
  podSelector:
    matchLabels:
      app: batch
  policyTypes:
  - Egress"#
    );
}

mod set_based {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace shop {
            web ["tier" in ["web", "api"], "canary", !"legacy"]: 8080;
            batch ["app" = "batch", "track" not in ["beta"]];
            // Selects the pods nobody labelled too: a selector of `!` alone.
            unlabelled [!"app"]: 9000
        }
        batch -> web:8080;
        web -> unlabelled:9000;
    }
}

#[test]
fn set_based_selectors_are_match_expressions_anded_with_match_labels() {
    let files = emit_proven(&[&set_based::POLICY]);
    // verify.sh finds the pods with kubectl's set-based syntax.
    assert!(
        files["verify.sh"].contains(
            "  [shop/batch]='app=batch,track notin (beta)'\n  [shop/unlabelled]='!app'\n  [shop/web]='tier in (web,api),canary,!legacy'\n"
        ),
        "{}",
        files["verify.sh"]
    );
    // `values` only for `In` and `NotIn`, as the API server requires.
    assert_eq!(
        policy(&files, "10-allow-shop.yaml", "web.ingress"),
        r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  labels:
    app.kubernetes.io/managed-by: zero-trust
    zero-trust.dev/policy-source: default
  name: web.ingress
  namespace: shop
spec:
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: shop
      podSelector:
        matchExpressions:
        - key: track
          operator: NotIn
          values:
          - beta
        matchLabels:
          app: batch
    ports:
    - port: 8080
      protocol: TCP
  podSelector:
    matchExpressions:
    - key: tier
      operator: In
      values:
      - web
      - api
    - key: canary
      operator: Exists
    - key: legacy
      operator: DoesNotExist
  policyTypes:
  - Ingress
"#
    );
}

mod reasons {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace shop { web: 8080; batch }
        /// Nightly reports | read the catalogue.
        batch -> web:8080;
        /// Resolve names.
        * -> crate::language::reasons::web:8080;
    }
}

#[test]
fn a_flows_doc_comment_is_kept_in_its_policies_and_in_flows_md() {
    let files = emit_proven(&[&reasons::POLICY]);
    let ingress = policy(&files, "10-allow-shop.yaml", "web.ingress");
    assert!(
        ingress.contains(
            "  annotations:\n    zero-trust.dev/reasons: |-\n      * -> web:8080: Resolve names.\n      batch -> web:8080: Nightly reports | read the catalogue.\n"
        ),
        "{ingress}"
    );
    let egress = policy(&files, "10-allow-shop.yaml", "batch.egress");
    assert!(
        egress.contains("    zero-trust.dev/reasons: |-\n      * -> web:8080: Resolve names.\n      batch -> web:8080: Nightly reports | read the catalogue.\n"),
        "{egress}"
    );
    assert!(
        files["FLOWS-shop.md"].contains(
            "| `shop/batch` | `shop/web` | 8080 | TCP | Nightly reports \\| read the catalogue. |"
        ),
        "{}",
        files["FLOWS-shop.md"]
    );
}

mod cidr_blocks {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace shop { web }
        cidr internet = "0.0.0.0/0" except "10.0.0.0/8", "192.168.0.0/16"; "::/0" except "fc00::/7";
        web -> internet:443;
    }
}

#[test]
fn a_cidr_of_several_blocks_is_one_ip_block_peer_per_block_in_one_rule() {
    let files = emit_proven(&[&cidr_blocks::POLICY]);
    let egress = policy(&files, "10-allow-shop.yaml", "web.egress");
    assert!(
        egress.contains(
            "  egress:
  - ports:
    - port: 443
      protocol: TCP
    to:
    - ipBlock:
        cidr: 0.0.0.0/0
        except:
        - 10.0.0.0/8
        - 192.168.0.0/16
    - ipBlock:
        cidr: ::/0
        except:
        - fc00::/7
"
        ),
        "{egress}"
    );
    assert!(
        files["FLOWS-shop.md"].contains(
            "`internet` (0.0.0.0/0 except 10.0.0.0/8, 192.168.0.0/16; ::/0 except fc00::/7)"
        ),
        "{}",
        files["FLOWS-shop.md"]
    );
}

mod named_ports {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace shop { web: http = 8080, metrics = 9090/tcp; lb }
        lb -> web:http, metrics;
    }
}

#[test]
fn a_named_port_is_written_as_the_number_it_names() {
    let files = emit_proven(&[&named_ports::POLICY]);
    let egress = policy(&files, "10-allow-shop.yaml", "lb.egress");
    assert!(
        egress.contains("  - ports:\n    - port: 8080\n      protocol: TCP\n    - port: 9090\n      protocol: TCP\n"),
        "{egress}"
    );
}

mod selected_namespaces {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace shop { web: 8080, 9090; batch }
        /// The payments team's namespaces, wherever they run.
        external namespaces payments ["team" = "payments"] { api ["app" = "api"]: 8443 }
        external namespaces monitoring ["kubernetes.io/metadata.name" in ["monitoring", "observability"]] {
            prometheus ["app.kubernetes.io/name" = "prometheus"]
        }
        external namespaces everywhere [] {}
        payments -> web:8080;
        batch -> api:8443;
        prometheus -> *:9090;
        everywhere -> web:8080;
    }
}

#[test]
fn namespaces_selected_by_labels_are_one_peer_of_namespace_and_pod_selectors() {
    let files = emit_proven(&[&selected_namespaces::POLICY]);
    let web_ingress = policy(&files, "10-allow-shop.yaml", "web.ingress");
    assert_eq!(
        web_ingress.split_once("spec:\n").expect("spec").1,
        r#"  ingress:
  - from:
    - namespaceSelector: {}
    ports:
    - port: 8080
      protocol: TCP
  - from:
    - namespaceSelector:
        matchLabels:
          team: payments
    ports:
    - port: 8080
      protocol: TCP
  - from:
    - namespaceSelector:
        matchExpressions:
        - key: kubernetes.io/metadata.name
          operator: In
          values:
          - monitoring
          - observability
      podSelector:
        matchLabels:
          app.kubernetes.io/name: prometheus
    ports:
    - port: 9090
      protocol: TCP
  podSelector:
    matchLabels:
      app: web
  policyTypes:
  - Ingress"#
    );
    let batch_egress = policy(&files, "10-allow-shop.yaml", "batch.egress");
    assert!(
        batch_egress.contains(
            "    to:\n    - namespaceSelector:\n        matchLabels:\n          team: payments\n      podSelector:\n        matchLabels:\n          app: api\n"
        ),
        "{batch_egress}"
    );
}

mod port_names {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace shop { web: 8080 }
        external namespace kube_system { kube_dns ["k8s-app" = "kube-dns"] }
        external namespace partners {}
        /// Names resolve on the DNS pods, whatever numbers they use.
        web -> kube_dns:dns/udp, dns_tcp;
        web -> partners:https, 8443;
    }
}

#[test]
fn a_port_name_to_an_external_target_is_written_as_the_name() {
    let files = emit_proven(&[&port_names::POLICY]);
    let egress = policy(&files, "10-allow-shop.yaml", "web.egress");
    assert_eq!(
        egress.split_once("spec:\n").expect("spec").1,
        r#"  egress:
  - ports:
    - port: 8443
      protocol: TCP
    - port: https
      protocol: TCP
    to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: partners
  - ports:
    - port: dns
      protocol: UDP
    - port: dns-tcp
      protocol: TCP
    to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
  podSelector:
    matchLabels:
      app: web
  policyTypes:
  - Egress
"#
    );
}
