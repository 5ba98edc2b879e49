//! The semantic diff a reviewer reads: the flows a policy change opens or closes,
//! computed from what the YAML allows.

use std::collections::BTreeMap;

use zero_trust::diff::{FlowDiff, diff_manifests};
use zero_trust::emit::emit;
use zero_trust::verify::model_topology;
use zero_trust::{Cluster, Policy};

fn files(parts: &[&'static Policy]) -> (BTreeMap<String, String>, Cluster) {
    let cluster = Cluster::assemble(parts).expect("assembles");
    (emit(&cluster).expect("renders").files, cluster)
}

fn diff(old: &[&'static Policy], new: &[&'static Policy]) -> FlowDiff {
    let (old, _) = files(old);
    let (new, cluster) = files(new);
    diff_manifests(&old, &new, model_topology(&cluster)).expect("diffs")
}

mod before {
    zero_trust::zero_trust! {
        namespace shop { web: 8080; db: 5432; cache: 6379 }
        external namespace kube_system { kube_dns ["k8s-app" = "kube-dns"]: 53/udp }
        cidr payments = "203.0.113.0/24";
        web -> db:5432;
        web -> payments:443;
        * -> kube_dns:53/udp;
    }
}

mod one_more_flow {
    zero_trust::zero_trust! {
        namespace shop { web: 8080; db: 5432; cache: 6379 }
        external namespace kube_system { kube_dns ["k8s-app" = "kube-dns"]: 53/udp }
        cidr payments = "203.0.113.0/24";
        web -> db:5432;
        web -> payments:443;
        * -> kube_dns:53/udp;
        web -> cache:6379;
    }
}

mod reordered {
    zero_trust::zero_trust! {
        cidr payments = "203.0.113.0/24";
        external namespace kube_system { kube_dns ["k8s-app" = "kube-dns"]: 53/udp }
        namespace shop { cache: 6379; db: 5432; web: 8080 }
        * -> kube_dns:53/udp;
        web -> payments:443;
        web -> db:5432;
    }
}

mod narrower_cidr {
    zero_trust::zero_trust! {
        namespace shop { web: 8080; db: 5432; cache: 6379 }
        external namespace kube_system { kube_dns ["k8s-app" = "kube-dns"]: 53/udp }
        cidr payments = "203.0.113.0/25";
        web -> db:5432;
        web -> payments:443;
        * -> kube_dns:53/udp;
    }
}

#[test]
fn opening_one_flow_shows_exactly_that_flow() {
    let diff = diff(&[&before::POLICY], &[&one_more_flow::POLICY]);
    assert_eq!(diff.to_string(), "+ shop/web -> shop/cache: 6379/tcp\n");
    assert!(diff.removed.is_empty() && diff.isolation.is_empty());
}

#[test]
fn closing_it_again_shows_it_removed() {
    let diff = diff(&[&one_more_flow::POLICY], &[&before::POLICY]);
    assert_eq!(diff.to_string(), "- shop/web -> shop/cache: 6379/tcp\n");
}

#[test]
fn reordering_lines_changes_no_flow() {
    let diff = diff(&[&before::POLICY], &[&reordered::POLICY]);
    assert!(diff.is_empty(), "{diff}");
    assert_eq!(diff.to_markdown(), "No change to the allowed flows.\n");
}

#[test]
fn narrowing_a_cidr_removes_the_addresses_it_no_longer_covers() {
    let diff = diff(&[&before::POLICY], &[&narrower_cidr::POLICY]);
    assert_eq!(
        diff.to_string(),
        "- shop/web -> 203.0.113.128/25: 443/tcp\n"
    );
    // The table, then the drawing: the removed addresses with the flows of their ends
    // that stay (grey), the cut range red and dashed.
    assert_eq!(
        diff.to_markdown(),
        r#"| | source | destination | ports |
| --- | --- | --- | --- |
| removed | `shop/web` | `203.0.113.128/25` | 443/tcp |

```mermaid
flowchart LR
  subgraph sg_shop["shop"]
    p_shop_db["db"]
    p_shop_web["web"]
  end
  x_203_0_113_0_25["203.0.113.0/25"]
  x_203_0_113_128_25["203.0.113.128/25"]
  subgraph sg_kube_system["kube-system"]
    p_kube_system_kube_dns["kube-dns"]
  end
  p_shop_web -->|"53/udp"| p_kube_system_kube_dns
  p_shop_web -->|"5432/tcp"| p_shop_db
  p_shop_web -->|"443/tcp"| x_203_0_113_0_25
  p_shop_web -->|"removed: 443/tcp"| x_203_0_113_128_25
  linkStyle 3 stroke:#cf222e,stroke-width:3px,stroke-dasharray:6 4
  linkStyle 0,1,2 stroke:#8c959f
```
"#
    );
}

/// The Mermaid block that ends the Markdown of a diff.
fn diagram_of(markdown: &str) -> &str {
    &markdown[markdown.find("```mermaid\n").expect("a diagram")..]
}

#[test]
fn an_opened_flow_is_drawn_added_among_the_flows_of_its_ends() {
    let diff = diff(&[&before::POLICY], &[&one_more_flow::POLICY]);
    assert_eq!(
        diagram_of(&diff.to_markdown()),
        r#"```mermaid
flowchart LR
  subgraph sg_shop["shop"]
    p_shop_cache["cache"]
    p_shop_db["db"]
    p_shop_web["web"]
  end
  x_203_0_113_0_24["203.0.113.0/24"]
  subgraph sg_kube_system["kube-system"]
    p_kube_system_kube_dns["kube-dns"]
  end
  p_shop_cache -->|"53/udp"| p_kube_system_kube_dns
  p_shop_web -->|"53/udp"| p_kube_system_kube_dns
  p_shop_web -->|"added: 6379/tcp"| p_shop_cache
  p_shop_web -->|"5432/tcp"| p_shop_db
  p_shop_web -->|"443/tcp"| x_203_0_113_0_24
  linkStyle 2 stroke:#1a7f37,stroke-width:3px
  linkStyle 0,1,3,4 stroke:#8c959f
```
"#
    );
}

/// A change too large to draw flow by flow is summarized within the pages' bounds, and the
/// Markdown says so.
#[test]
fn a_large_change_is_summarized_and_says_so() {
    let (old, _) = files(&[&before::POLICY]);
    let cluster = policies::cluster().expect("assembles");
    let new = emit(&cluster).expect("renders").files;
    let diff = diff_manifests(&old, &new, model_topology(&cluster)).expect("diffs");
    let markdown = diff.to_markdown();
    let diagram = diagram_of(&markdown);
    assert!(
        diagram.matches(" -->|").count() + diagram.matches(" <-->|").count()
            <= zero_trust::emit::flows_md::MAX_DIAGRAM_EDGES,
        "{diagram}"
    );
    assert!(
        markdown.contains("The diagram is summarized: drawn flow by flow it would have "),
        "{markdown}"
    );
}

#[test]
fn the_guides_cluster_against_itself_changes_nothing() {
    let cluster = policies::cluster().expect("assembles");
    let files = emit(&cluster).expect("renders").files;
    let diff = diff_manifests(&files, &files, model_topology(&cluster)).expect("diffs");
    assert!(diff.is_empty(), "{diff}");
}

#[test]
fn flows_md_shows_the_opened_flow_too() {
    let (before, _) = files(&[&before::POLICY]);
    let (after, _) = files(&[&one_more_flow::POLICY]);
    // The index counts it; the namespace's page lists and draws it.
    assert!(after["FLOWS.md"].contains("[FLOWS-shop.md](FLOWS-shop.md)"));
    assert_ne!(before["FLOWS.md"], after["FLOWS.md"]);
    let row = "| `shop/web` | `shop/cache` | 6379 | TCP |";
    let page = "FLOWS-shop.md";
    assert!(!before[page].contains(row), "{}", before[page]);
    assert!(after[page].contains(row), "{}", after[page]);
    assert!(after[page].contains("  w_shop_web -->|\"TCP/6379\"| w_shop_cache\n"));
    // The reordered block changes no FLOWS page either.
    let (reordered, _) = files(&[&reordered::POLICY]);
    assert_eq!(before["FLOWS.md"], reordered["FLOWS.md"]);
    assert_eq!(before[page], reordered[page]);
}

/// Where neither side has an ipBlock, the addresses outside the cluster are still
/// compared: a rule to every destination that changes its port changes what reaches them.
#[test]
fn connections_to_addresses_are_compared_even_without_ip_blocks() {
    use zero_trust::eval::{NamespaceInfo, PodInfo, Topology};
    let egress_on = |port: u16| {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: out, namespace: shop}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress: [{{ports: [{{port: {port}}}]}}]\n"
        )
    };
    let base = Topology {
        namespaces: vec![NamespaceInfo::named("shop")],
        pods: vec![PodInfo::new("shop", "web", &[("app", "web")])],
    };
    let diff = diff_manifests(
        &BTreeMap::from([("out.yaml".to_owned(), egress_on(80))]),
        &BTreeMap::from([("out.yaml".to_owned(), egress_on(443))]),
        base,
    )
    .expect("diffs");
    for everywhere in ["0.0.0.0/0", "::/0"] {
        let to = |changes: &[zero_trust::diff::FlowChange]| {
            changes
                .iter()
                .find(|c| c.source == "shop/web" && c.destination == everywhere)
                .map(|c| c.ports.to_string())
        };
        assert_eq!(to(&diff.removed).as_deref(), Some("80/tcp"), "{diff}");
        assert_eq!(to(&diff.added).as_deref(), Some("443/tcp"), "{diff}");
    }
}

mod selected_before {
    zero_trust::zero_trust! {
        namespace shop { web ["tier" in ["web", "api"]]: 8080, 8081; lb }
        external namespaces payments ["team" = "payments"] {}
        payments -> web:8080;
        lb -> web:8080;
    }
}

mod selected_after {
    zero_trust::zero_trust! {
        namespace shop { web ["tier" in ["web", "api"]]: 8080, 8081; lb }
        external namespaces payments ["team" = "payments"] {}
        payments -> web:8081;
        lb -> web:8081;
    }
}

/// From the YAML alone (no model, as `cargo xtask diff --dirs` compares two folders), a
/// change to flows of a set-based selector and of namespaces selected by labels is seen:
/// the topology gets a pod and a namespace carrying labels those selectors select.
#[test]
fn changes_to_set_based_and_label_selected_ends_are_seen_from_the_yaml_alone() {
    let (old, _) = files(&[&selected_before::POLICY]);
    let (new, _) = files(&[&selected_after::POLICY]);
    let changes = diff_manifests(&old, &new, zero_trust::eval::Topology::default()).expect("diffs");
    let text = |changes: &[zero_trust::diff::FlowChange]| -> Vec<String> {
        changes
            .iter()
            .map(|c| format!("{} -> {}: {}", c.source, c.destination, c.ports))
            .collect()
    };
    assert_eq!(
        text(&changes.added),
        [
            "[team=payments]/<any other pod> -> shop/[tier=web]: 8081/tcp",
            "shop/[app=lb] -> shop/[tier=web]: 8081/tcp",
        ]
    );
    assert_eq!(
        text(&changes.removed),
        [
            "[team=payments]/<any other pod> -> shop/[tier=web]: 8080/tcp",
            "shop/[app=lb] -> shop/[tier=web]: 8080/tcp",
        ]
    );
}
