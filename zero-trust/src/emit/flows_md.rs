//! `k8s/FLOWS.md`: the allowed flows for reviewers, as a table and a Mermaid flowchart
//! grouped by namespace, in the spirit of the guide's traffic-flow diagram. kubectl ignores
//! it (it reads only `.yaml`, `.yml` and `.json`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use zero_trust_rules::{PortRange, Protocol};

use crate::cluster::Cluster;
use crate::model::{Endpoint, Flow};

use super::GENERATED_HEADER;

pub fn render_flows_md(cluster: &Cluster) -> String {
    let mut flows: Vec<&Flow> = cluster.flows.iter().collect();
    flows.sort_by_key(|flow| (flow.from.key(), flow.to.key()));

    let mut text = format!("<!-- {GENERATED_HEADER} -->\n# Allowed flows\n\n");
    let _ = writeln!(
        text,
        "{} flows between {} managed namespaces; everything else is denied.\n",
        flows.len(),
        cluster.managed_namespaces().count()
    );
    text.push_str("| source | destination | ports | protocol |\n| --- | --- | --- | --- |\n");
    for flow in &flows {
        for (protocol, ports) in ports_by_protocol(flow.ports) {
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} |",
                describe(&flow.from),
                describe(&flow.to),
                ports,
                protocol.as_k8s()
            );
        }
    }
    text.push_str("\n```mermaid\n");
    text.push_str(&mermaid(cluster, &flows));
    text.push_str("```\n");
    text
}

/// `8080, 30000-32767` per protocol, in order.
fn ports_by_protocol(ports: &[PortRange]) -> BTreeMap<Protocol, String> {
    let mut sorted = ports.to_vec();
    sorted.sort();
    let mut by_protocol: BTreeMap<Protocol, Vec<String>> = BTreeMap::new();
    for port in sorted {
        let text = if port.is_single() {
            port.first.to_string()
        } else {
            format!("{}-{}", port.first, port.last)
        };
        by_protocol.entry(port.protocol).or_default().push(text);
    }
    by_protocol
        .into_iter()
        .map(|(protocol, ports)| (protocol, ports.join(", ")))
        .collect()
}

fn describe(end: &Endpoint) -> String {
    match end {
        Endpoint::Workload(w) => format!("`{}/{}`", w.namespace.name, w.name),
        Endpoint::Namespace(n) => format!("every pod of `{}`", n.name),
        Endpoint::Cidr(c) if c.except.is_empty() => format!("`{}` ({})", c.ident, c.cidr),
        Endpoint::Cidr(c) => format!("`{}` ({} except {})", c.ident, c.cidr, c.except.join(", ")),
        Endpoint::AllManaged => "every managed pod".to_owned(),
    }
}

/// A flowchart: one subgraph per namespace that a flow touches, CIDRs and `*` outside.
fn mermaid(cluster: &Cluster, flows: &[&Flow]) -> String {
    let mut nodes: BTreeMap<Option<&str>, BTreeMap<String, String>> = BTreeMap::new();
    for flow in flows {
        for end in [&flow.from, &flow.to] {
            let (group, id, label) = node(end);
            nodes.entry(group).or_default().insert(id, label);
        }
    }
    let mut text = String::from("flowchart LR\n");
    for (group, members) in &nodes {
        let indent = if let Some(namespace) = group {
            let kind = match cluster.namespaces.get(namespace) {
                Some(n) if !n.managed => " (external)",
                _ => "",
            };
            let _ = writeln!(
                text,
                "  subgraph ns_{}[\"{namespace}{kind}\"]",
                mermaid_id(namespace)
            );
            "    "
        } else {
            "  "
        };
        for (id, label) in members {
            let _ = writeln!(text, "{indent}{id}[\"{label}\"]");
        }
        if group.is_some() {
            text.push_str("  end\n");
        }
    }
    for flow in flows {
        let label: Vec<String> = ports_by_protocol(flow.ports)
            .into_iter()
            .map(|(protocol, ports)| format!("{}/{ports}", protocol.as_k8s()))
            .collect();
        let _ = writeln!(
            text,
            "  {} -->|\"{}\"| {}",
            node(&flow.from).1,
            label.join(" "),
            node(&flow.to).1
        );
    }
    text
}

/// (namespace group, node id, label) of an end.
fn node(end: &Endpoint) -> (Option<&'static str>, String, String) {
    match end {
        Endpoint::Workload(w) => (
            Some(w.namespace.name),
            format!("w_{}_{}", mermaid_id(w.namespace.name), mermaid_id(w.name)),
            w.name.to_owned(),
        ),
        Endpoint::Namespace(n) => (
            Some(n.name),
            format!("all_{}", mermaid_id(n.name)),
            "every pod".to_owned(),
        ),
        Endpoint::Cidr(c) => (
            None,
            format!("cidr_{}", mermaid_id(c.ident)),
            format!("{} {}", c.ident, c.cidr),
        ),
        Endpoint::AllManaged => (
            None,
            "all_managed".to_owned(),
            "every managed pod".to_owned(),
        ),
    }
}

/// Kubernetes names hold `-` and `.`, which Mermaid ids don't take.
fn mermaid_id(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
