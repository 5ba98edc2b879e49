//! The Mermaid flowchart of a namespace's page: the namespace and its direct neighbours.
//!
//! Mermaid refuses a diagram over 50,000 characters (its `maxTextSize`) or 500 edges (its
//! `maxEdges`), and one of a few dozen edges is already hard to follow. So the diagram is
//! drawn at the most detailed level that stays within [`MAX_DIAGRAM_EDGES`] and
//! [`MAX_DIAGRAM_CHARS`]:
//!
//! 1. every end its own node, one edge per flow;
//! 2. the namespace's own workloads as nodes, every other namespace one node, one edge per
//!    pair of nodes with the number of flows;
//! 3. the namespace as one node, its busiest neighbours one node each, the rest as one
//!    node, which is within the bounds by construction.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::cluster::Cluster;
use crate::model::{Endpoint, Flow, every_port};

use super::ports_by_protocol;

/// The most edges a page's diagram draws.
pub const MAX_DIAGRAM_EDGES: usize = 40;
/// The most characters of a page's diagram: well under Mermaid's `maxTextSize` (50,000).
pub const MAX_DIAGRAM_CHARS: usize = 20_000;
/// Neighbours drawn one by one at the last level: with an edge each, one for the flows
/// inside the namespace, one with the others and a few of `*`, the diagram stays within
/// the bound and stays readable.
const MAX_NEIGHBOURS: usize = 24;

/// The node of `*`: never among the others, since it holds the page's namespace too.
const ALL_MANAGED: &str = "all_managed";

pub struct Diagram {
    pub text: String,
    /// Why and how the diagram is summarized, when it is.
    pub summary_note: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Flows,
    Neighbours,
    Namespaces,
}

/// A node: the subgraph it sits in (a namespace), its id and its label.
struct Node {
    group: Option<String>,
    id: String,
    label: String,
}

pub fn render(cluster: &Cluster, namespace: &str, flows: &[&Flow]) -> Diagram {
    let full = draw(cluster, namespace, flows, Level::Flows);
    if fits(&full) {
        return Diagram {
            text: full.0,
            summary_note: None,
        };
    }
    let (level, drawn) = match draw(cluster, namespace, flows, Level::Neighbours) {
        drawn if fits(&drawn) => ("every other namespace is one node", drawn),
        _ => (
            "the namespace and every neighbouring namespace are one node each",
            draw(cluster, namespace, flows, Level::Namespaces),
        ),
    };
    let note = format!(
        "The diagram is summarized: drawn flow by flow it would have {} edges and {} \
         characters, over this page's bound of {MAX_DIAGRAM_EDGES} edges and \
         {MAX_DIAGRAM_CHARS} characters (which keeps it readable, and under Mermaid's limit \
         of 50,000 characters). Here {level}, with one edge per pair of nodes labelled with \
         its number of flows (both ways: out of and into this namespace). The table lists \
         every flow.",
        full.1,
        full.0.len()
    );
    Diagram {
        text: drawn.0,
        summary_note: Some(note),
    }
}

fn fits((text, edges): &(String, usize)) -> bool {
    *edges <= MAX_DIAGRAM_EDGES && text.len() <= MAX_DIAGRAM_CHARS
}

/// The flowchart at `level` and its number of edges.
fn draw(cluster: &Cluster, namespace: &str, flows: &[&Flow], level: Level) -> (String, usize) {
    // At the last level, the neighbours with the most flows are drawn; the rest are one node.
    let mut kept: Option<BTreeSet<String>> = None;
    if level == Level::Namespaces {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for flow in flows {
            // What every managed pod reaches (DNS, say) is drawn first: it is this
            // namespace's too.
            let weight = match (flow.from, flow.to) {
                (Endpoint::AllManaged, _) | (_, Endpoint::AllManaged) => flows.len(),
                _ => 1,
            };
            for end in [&flow.from, &flow.to] {
                let node = node(cluster, namespace, end, level);
                if node.id != own_id(namespace) && node.id != ALL_MANAGED {
                    *counts.entry(node.id).or_default() += weight;
                }
            }
        }
        if counts.len() > MAX_NEIGHBOURS {
            let mut busiest: Vec<(usize, String)> =
                counts.into_iter().map(|(id, n)| (n, id)).collect();
            busiest.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            kept = Some(
                busiest
                    .into_iter()
                    .take(MAX_NEIGHBOURS)
                    .map(|(_, id)| id)
                    .collect(),
            );
        }
    }
    let mut nodes: BTreeMap<Option<String>, BTreeMap<String, String>> = BTreeMap::new();
    let mut edges: BTreeMap<(String, String), Vec<&Flow>> = BTreeMap::new();
    let mut others: BTreeSet<String> = BTreeSet::new();
    for flow in flows {
        let [from, to] = [&flow.from, &flow.to].map(|end| {
            let node = node(cluster, namespace, end, level);
            match &kept {
                Some(kept)
                    if node.id != own_id(namespace)
                        && node.id != ALL_MANAGED
                        && !kept.contains(&node.id) =>
                {
                    others.insert(node.id);
                    node_of_others(0)
                }
                _ => node,
            }
        });
        for node in [&from, &to] {
            nodes
                .entry(node.group.clone())
                .or_default()
                .insert(node.id.clone(), node.label.clone());
        }
        edges.entry((from.id, to.id)).or_default().push(flow);
    }
    if !others.is_empty() {
        let others_node = node_of_others(others.len());
        nodes
            .entry(None)
            .or_default()
            .insert(others_node.id, others_node.label);
    }

    let mut text = String::from("flowchart LR\n");
    // The page's namespace first.
    let mut groups: Vec<_> = nodes.iter().collect();
    groups.sort_by_key(|(group, _)| group.as_deref() != Some(namespace));
    for (group, members) in groups {
        let indent = if let Some(group) = group {
            let _ = writeln!(
                text,
                "  subgraph sg_{}[\"{}\"]",
                mermaid_id(group),
                namespace_label(cluster, group)
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
    // Summarized, a neighbour with flows both ways is one two-headed edge from the page's
    // side, so that two labels don't overlap on the same path.
    let own: BTreeSet<&String> = nodes
        .get(&Some(namespace.to_owned()))
        .into_iter()
        .flat_map(|members| members.keys())
        .collect();
    let is_own = |id: &String| own.contains(id) || *id == own_id(namespace);
    let mut drawn = 0;
    for ((from, to), flows) in &edges {
        let back = edges.get(&(to.clone(), from.clone()));
        let label = match (level, back) {
            (Level::Flows, _) | (_, None) => flows_label(flows),
            _ if from == to => flows_label(flows),
            (_, Some(back)) if is_own(from) && !is_own(to) => {
                let _ = writeln!(
                    text,
                    "  {from} <-->|\"{} out, {} in\"| {to}",
                    flows.len(),
                    back.len()
                );
                drawn += 1;
                continue;
            }
            (_, Some(_)) if is_own(to) && !is_own(from) => continue,
            _ => flows_label(flows),
        };
        let _ = writeln!(text, "  {from} -->|\"{label}\"| {to}");
        drawn += 1;
    }
    (text, drawn)
}

/// The ports of a single flow, or how many flows an edge stands for.
fn flows_label(flows: &[&Flow]) -> String {
    match flows {
        [flow] if every_port(flow.ports) => "any".to_owned(),
        [flow] => ports_by_protocol(flow.ports)
            .into_iter()
            .map(|(protocol, ports)| format!("{}/{ports}", protocol.as_k8s()))
            .collect::<Vec<_>>()
            .join(" "),
        flows => format!("{} flows", flows.len()),
    }
}

fn own_id(namespace: &str) -> String {
    format!("ns_{}", mermaid_id(namespace))
}

fn node_of_others(count: usize) -> Node {
    Node {
        group: None,
        id: "others".to_owned(),
        label: format!("{count} other neighbours"),
    }
}

fn namespace_label(cluster: &Cluster, namespace: &str) -> String {
    match cluster.namespaces.get(namespace) {
        Some(n) if !n.managed => format!("{namespace} (external)"),
        _ => namespace.to_owned(),
    }
}

/// The node an end is drawn as on the page of `namespace` at `level`.
fn node(cluster: &Cluster, namespace: &str, end: &Endpoint, level: Level) -> Node {
    let grouped = |name: &str| Node {
        group: None,
        id: format!("ns_{}", mermaid_id(name)),
        label: namespace_label(cluster, name),
    };
    match end {
        Endpoint::Workload(w)
            if level == Level::Flows
                || (level == Level::Neighbours && w.namespace.name == namespace) =>
        {
            Node {
                group: Some(w.namespace.name.to_owned()),
                id: format!("w_{}_{}", mermaid_id(w.namespace.name), mermaid_id(w.name)),
                label: w.name.to_owned(),
            }
        }
        Endpoint::Namespace(n)
            if level == Level::Flows || (level == Level::Neighbours && n.name == namespace) =>
        {
            Node {
                group: Some(n.name.to_owned()),
                id: format!("all_{}", mermaid_id(n.name)),
                label: "every pod".to_owned(),
            }
        }
        Endpoint::Workload(w) => grouped(w.namespace.name),
        Endpoint::Namespace(n) => grouped(n.name),
        Endpoint::Cidr(c) => {
            let mut label = c.ident.to_owned();
            for block in c.blocks {
                let _ = write!(label, "<br/>{}", block.cidr);
                if !block.except.is_empty() {
                    let _ = write!(label, "<br/>except {}", block.except.join(", "));
                }
            }
            Node {
                group: None,
                id: format!("cidr_{}", mermaid_id(c.ident)),
                label,
            }
        }
        Endpoint::AllManaged => Node {
            group: None,
            id: ALL_MANAGED.to_owned(),
            label: "every managed pod".to_owned(),
        },
    }
}

/// Kubernetes names hold `-` and `.`, which Mermaid ids don't take.
fn mermaid_id(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
