//! The Mermaid flowcharts of the review pages: a namespace's page (the namespace and its
//! direct neighbours), and, through [`draw_within_bounds`], the diagram of a diff
//! (`super::change`).
//!
//! Mermaid refuses a diagram over 50,000 characters (its `maxTextSize`) or 500 edges (its
//! `maxEdges`), and one of a few dozen edges is already hard to follow. So the diagram is
//! drawn at the most detailed level that stays within [`MAX_DIAGRAM_EDGES`] and
//! [`MAX_DIAGRAM_CHARS`]:
//!
//! 1. every end its own node, one edge per flow;
//! 2. the ends in the focus (the page's namespace; the namespaces a diff touches) as nodes,
//!    every other namespace one node, one edge per pair of nodes with the number of flows;
//! 3. every namespace one node, the focus's busiest neighbours one node each, the rest as
//!    one node: within the bounds by construction for one namespace in focus; a diff that
//!    touches many draws its busiest edges only, changes first, and says so.

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

pub struct Diagram {
    pub text: String,
    /// Why and how the diagram is summarized, when it is.
    pub summary_note: Option<String>,
}

/// How much a drawing was summarized to fit the bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Every end its own node, one edge per flow.
    Flows,
    /// The ends of the focus namespaces their own nodes, every other namespace one node.
    Neighbours,
    /// Every namespace one node; the busiest neighbours of the focus drawn, the rest one node.
    Namespaces,
}

/// A node: the subgraph it sits in (a namespace's name and label), its id and its label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub group: Option<(String, String)>,
    pub id: String,
    pub label: String,
}

/// An end of an edge, drawn on its own or, summarized, as its namespace.
#[derive(Clone, Debug)]
pub struct End {
    pub node: Node,
    /// The node of its namespace; none for an end drawn as itself at every level (a CIDR,
    /// an address, `*`).
    pub namespace: Option<Node>,
    /// Every managed pod (`*`): drawn first and never among the "other neighbours".
    pub everywhere: bool,
}

/// What an edge says of its flows: allowed (a page), or added, removed or unchanged (a diff).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    Allowed,
    Added,
    Removed,
    Unchanged,
}

/// One flow to draw: its ends, its ports as a label, and what changed.
#[derive(Clone, Debug)]
pub struct Edge {
    pub from: End,
    pub to: End,
    pub ports: String,
    pub change: Change,
}

/// A drawing within the bounds, and the size the full one would have had when summarized.
pub struct Drawing {
    pub text: String,
    pub level: Level,
    /// Edges and characters drawn flow by flow, when that did not fit.
    pub full_size: Option<(usize, usize)>,
    /// Edges left out at the last level (never on a page, see [`draw`]).
    pub omitted_edges: usize,
}

/// The page of `namespace`: its flows and its direct neighbours.
pub fn render(cluster: &Cluster, namespace: &str, flows: &[&Flow]) -> Diagram {
    let edges: Vec<Edge> = flows
        .iter()
        .map(|flow| Edge {
            from: end(cluster, &flow.from),
            to: end(cluster, &flow.to),
            ports: ports_label(flow),
            change: Change::Allowed,
        })
        .collect();
    let drawing = draw_within_bounds(&edges, &BTreeSet::from([namespace.to_owned()]));
    let summary_note = drawing.full_size.map(|(edges, chars)| {
        let level = match drawing.level {
            Level::Neighbours => "every other namespace is one node",
            _ => "the namespace and every neighbouring namespace are one node each",
        };
        format!(
            "The diagram is summarized: drawn flow by flow it would have {edges} edges and \
             {chars} characters, over this page's bound of {MAX_DIAGRAM_EDGES} edges and \
             {MAX_DIAGRAM_CHARS} characters (which keeps it readable, and under Mermaid's \
             limit of 50,000 characters). Here {level}, with one edge per pair of nodes \
             labelled with its number of flows (both ways: out of and into this namespace). \
             The table lists every flow."
        )
    });
    Diagram {
        text: drawing.text,
        summary_note,
    }
}

/// `edges` drawn at the most detailed level within [`MAX_DIAGRAM_EDGES`] and
/// [`MAX_DIAGRAM_CHARS`]; the ends in the `focus` namespaces are the last to be summarized.
pub fn draw_within_bounds(edges: &[Edge], focus: &BTreeSet<String>) -> Drawing {
    let full = draw(edges, focus, Level::Flows);
    if full.fits() {
        return Drawing {
            text: full.text,
            level: Level::Flows,
            full_size: None,
            omitted_edges: 0,
        };
    }
    let (drawn, level) = match draw(edges, focus, Level::Neighbours) {
        drawn if drawn.fits() => (drawn, Level::Neighbours),
        _ => (draw(edges, focus, Level::Namespaces), Level::Namespaces),
    };
    Drawing {
        text: drawn.text,
        level,
        full_size: Some((full.edges, full.text.len())),
        omitted_edges: drawn.omitted,
    }
}

impl Drawn {
    fn fits(&self) -> bool {
        self.edges <= MAX_DIAGRAM_EDGES && self.text.len() <= MAX_DIAGRAM_CHARS
    }
}

/// The node `end` is drawn as at `level`, and whether it belongs to the focus.
fn node_at(end: &End, focus: &BTreeSet<String>, level: Level) -> (Node, bool) {
    let in_focus = end
        .node
        .group
        .as_ref()
        .is_some_and(|(namespace, _)| focus.contains(namespace));
    let node = match (&end.namespace, level) {
        (Some(namespace), Level::Namespaces) => namespace.clone(),
        (Some(namespace), Level::Neighbours) if !in_focus => namespace.clone(),
        _ => end.node.clone(),
    };
    (node, in_focus)
}

/// The nodes an edge is drawn between, and what it says of its flows.
type EdgeKey = (String, String, Change);

/// A flowchart, its number of edges, and how many edges it leaves out.
struct Drawn {
    text: String,
    edges: usize,
    omitted: usize,
}

/// The flowchart at `level`.
fn draw(edges: &[Edge], focus: &BTreeSet<String>, level: Level) -> Drawn {
    // At the last level, the neighbours with the most flows are drawn; the rest are one node.
    let mut kept: Option<BTreeSet<String>> = None;
    if level == Level::Namespaces {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for edge in edges {
            // What every managed pod reaches (DNS, say) is drawn first: it is the focus's too.
            let weight = match edge.from.everywhere || edge.to.everywhere {
                true => edges.len(),
                false => 1,
            };
            for end in [&edge.from, &edge.to] {
                let (node, in_focus) = node_at(end, focus, level);
                if !in_focus && !end.everywhere {
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
    let mut node_of: BTreeMap<String, Node> = BTreeMap::new();
    let mut grouped: BTreeMap<EdgeKey, Vec<&Edge>> = BTreeMap::new();
    let mut others: BTreeSet<String> = BTreeSet::new();
    // The nodes of the focus: a summarized edge is drawn from their side.
    let mut own: BTreeSet<String> = BTreeSet::new();
    for edge in edges {
        let [from, to] = [&edge.from, &edge.to].map(|end| {
            let (node, in_focus) = node_at(end, focus, level);
            if in_focus {
                own.insert(node.id.clone());
            }
            match &kept {
                Some(kept) if !in_focus && !end.everywhere && !kept.contains(&node.id) => {
                    others.insert(node.id);
                    node_of_others(0)
                }
                _ => node,
            }
        });
        grouped
            .entry((from.id.clone(), to.id.clone(), edge.change))
            .or_default()
            .push(edge);
        for node in [from, to] {
            node_of.insert(node.id.clone(), node);
        }
    }
    if !others.is_empty() {
        let others_node = node_of_others(others.len());
        node_of.insert(others_node.id.clone(), others_node);
    }
    // A page has one namespace in focus, so its last level is within the bounds; a change
    // can touch many, and then only its busiest edges are drawn, changes before the rest.
    let mut omitted = 0;
    if level == Level::Namespaces && grouped.len() > MAX_DIAGRAM_EDGES {
        let mut ranked: Vec<&EdgeKey> = grouped.keys().collect();
        ranked.sort_by_key(|key| {
            let unchanged = key.2 == Change::Unchanged;
            (unchanged, std::cmp::Reverse(grouped[*key].len()), *key)
        });
        let keep: BTreeSet<EdgeKey> = ranked
            .into_iter()
            .take(MAX_DIAGRAM_EDGES)
            .cloned()
            .collect();
        omitted = grouped.len() - keep.len();
        grouped.retain(|key, _| keep.contains(key));
    }
    let mut nodes: BTreeMap<Option<(String, String)>, BTreeMap<String, String>> = BTreeMap::new();
    for (from, to, _) in grouped.keys() {
        for node in [&node_of[from], &node_of[to]] {
            nodes
                .entry(node.group.clone())
                .or_default()
                .insert(node.id.clone(), node.label.clone());
        }
    }

    let mut text = String::from("flowchart LR\n");
    // The focus's namespaces first.
    let mut groups: Vec<_> = nodes.iter().collect();
    groups.sort_by_key(|(group, _)| !group.as_ref().is_some_and(|(n, _)| focus.contains(n)));
    for (group, members) in groups {
        let indent = if let Some((name, label)) = group {
            let _ = writeln!(text, "  subgraph sg_{}[\"{label}\"]", mermaid_id(name));
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
    // Summarized, a neighbour with flows both ways is one two-headed edge from the focus's
    // side, so that two labels don't overlap on the same path.
    let mut styles: BTreeMap<Change, Vec<usize>> = BTreeMap::new();
    let mut drawn = 0;
    for ((from, to, change), flows) in &grouped {
        let back = grouped.get(&(to.clone(), from.clone(), *change));
        let line = match (level, back) {
            (Level::Flows, _) | (_, None) => None,
            _ if from == to => None,
            (_, Some(back)) if own.contains(from) && !own.contains(to) => Some(format!(
                "  {from} <-->|\"{}{} out, {} in\"| {to}",
                change_prefix(*change),
                flows.len(),
                back.len()
            )),
            (_, Some(_)) if own.contains(to) && !own.contains(from) => continue,
            _ => None,
        };
        let line = line.unwrap_or_else(|| {
            format!(
                "  {from} -->|\"{}{}\"| {to}",
                change_prefix(*change),
                flows_label(flows)
            )
        });
        text.push_str(&line);
        text.push('\n');
        styles.entry(*change).or_default().push(drawn);
        drawn += 1;
    }
    for (change, indices) in styles {
        if let Some(style) = link_style(change) {
            let indices: Vec<String> = indices.iter().map(ToString::to_string).collect();
            let _ = writeln!(text, "  linkStyle {} {style}", indices.join(","));
        }
    }
    Drawn {
        text,
        edges: drawn,
        omitted,
    }
}

/// Said in words too, so the change reads without colours.
fn change_prefix(change: Change) -> &'static str {
    match change {
        Change::Allowed | Change::Unchanged => "",
        Change::Added => "added: ",
        Change::Removed => "removed: ",
    }
}

/// Added green, removed red and dashed, unchanged grey; a page's flows as Mermaid draws them.
fn link_style(change: Change) -> Option<&'static str> {
    match change {
        Change::Allowed => None,
        Change::Added => Some("stroke:#1a7f37,stroke-width:3px"),
        Change::Removed => Some("stroke:#cf222e,stroke-width:3px,stroke-dasharray:6 4"),
        Change::Unchanged => Some("stroke:#8c959f"),
    }
}

/// The ports of a single flow, or how many flows an edge stands for.
fn flows_label(flows: &[&Edge]) -> String {
    match flows {
        [flow] => flow.ports.clone(),
        flows => format!("{} flows", flows.len()),
    }
}

/// `TCP/80, 443 UDP/53`, or `any` for every port of every protocol.
fn ports_label(flow: &Flow) -> String {
    if every_port(flow.ports) {
        return "any".to_owned();
    }
    ports_by_protocol(flow)
        .into_iter()
        .map(|(protocol, ports)| format!("{}/{ports}", protocol.as_k8s()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn node_of_others(count: usize) -> Node {
    Node {
        group: None,
        id: "others".to_owned(),
        label: format!("{count} other neighbours"),
    }
}

/// A namespace drawn as one node.
pub fn namespace_node(name: &str, label: String) -> Node {
    Node {
        group: None,
        id: format!("ns_{}", mermaid_id(name)),
        label,
    }
}

fn namespace_label(cluster: &Cluster, namespace: &str) -> String {
    match cluster.namespaces.get(namespace) {
        Some(n) if n.selector.is_some() => format!("{} (external)", n.describe()),
        Some(n) if !n.managed => format!("{namespace} (external)"),
        _ => namespace.to_owned(),
    }
}

/// How an end of the model is drawn.
fn end(cluster: &Cluster, end: &Endpoint) -> End {
    let in_namespace = |namespace: &str, id: String, label: &str| End {
        node: Node {
            group: Some((namespace.to_owned(), namespace_label(cluster, namespace))),
            id,
            label: label.to_owned(),
        },
        namespace: Some(namespace_node(
            namespace,
            namespace_label(cluster, namespace),
        )),
        everywhere: false,
    };
    match end {
        Endpoint::Workload(w) => in_namespace(
            w.namespace.name,
            format!("w_{}_{}", mermaid_id(w.namespace.name), mermaid_id(w.name)),
            w.name,
        ),
        Endpoint::Namespace(n) => {
            in_namespace(n.name, format!("all_{}", mermaid_id(n.name)), "every pod")
        }
        Endpoint::Cidr(c) => {
            let mut label = c.ident.to_owned();
            for block in c.blocks {
                let _ = write!(label, "<br/>{}", block.cidr);
                if !block.except.is_empty() {
                    let _ = write!(label, "<br/>except {}", block.except.join(", "));
                }
            }
            End {
                node: Node {
                    group: None,
                    id: format!("cidr_{}", mermaid_id(c.ident)),
                    label,
                },
                namespace: None,
                everywhere: false,
            }
        }
        Endpoint::AllManaged => End {
            node: Node {
                group: None,
                id: "all_managed".to_owned(),
                label: "every managed pod".to_owned(),
            },
            namespace: None,
            everywhere: true,
        },
    }
}

/// Kubernetes names hold `-` and `.`, which Mermaid ids don't take.
pub fn mermaid_id(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
