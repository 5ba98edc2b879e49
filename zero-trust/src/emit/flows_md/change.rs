//! The Mermaid diagram of a semantic diff (`cargo xtask diff` in Markdown, for a pull
//! request): the flows added and removed, and the unchanged flows of their ends (their
//! direct neighbours), drawn as the pages draw a namespace ([`super::diagram`]): within the
//! same bounds, summarized the same way, and saying so.

use std::collections::BTreeSet;

use crate::diff::{FlowChange, FlowDiff};

use super::diagram::{
    Change, Diagram, Edge, End, Level, MAX_DIAGRAM_CHARS, MAX_DIAGRAM_EDGES, Node,
    draw_within_bounds, mermaid_id, namespace_node,
};

/// The diagram of `diff`'s added and removed flows; none when no flow changed.
pub fn render(diff: &FlowDiff) -> Option<Diagram> {
    if diff.added.is_empty() && diff.removed.is_empty() {
        return None;
    }
    let edges: Vec<Edge> = [
        (Change::Added, &diff.added),
        (Change::Removed, &diff.removed),
        (Change::Unchanged, &diff.unchanged),
    ]
    .into_iter()
    .flat_map(|(change, flows)| flows.iter().map(move |flow| edge(diff, flow, change)))
    .collect();
    // The namespaces the change touches stay detailed longest.
    let focus: BTreeSet<String> = diff
        .added
        .iter()
        .chain(&diff.removed)
        .flat_map(|c| [&c.source, &c.destination])
        .filter_map(|end| diff.namespaces.get(end).cloned())
        .collect();
    let drawing = draw_within_bounds(&edges, &focus);
    let summary_note = drawing.full_size.map(|(edges, chars)| {
        let level = match drawing.level {
            Level::Neighbours => "every namespace the change does not touch is one node",
            _ => {
                "every namespace is one node, the busiest neighbours drawn and the rest as one node"
            }
        };
        let omitted = match drawing.omitted_edges {
            0 => String::new(),
            n => format!(" The {n} edges with the fewest flows are left out."),
        };
        format!(
            "The diagram is summarized: drawn flow by flow it would have {edges} edges and \
             {chars} characters, over the bound of {MAX_DIAGRAM_EDGES} edges and \
             {MAX_DIAGRAM_CHARS} characters (which keeps it readable, and under Mermaid's \
             limit of 50,000 characters). Here {level}, with one edge per pair of nodes and \
             kind of change, labelled with its number of flows.{omitted} The table lists \
             every changed flow."
        )
    });
    Some(Diagram {
        text: drawing.text,
        summary_note,
    })
}

fn edge(diff: &FlowDiff, flow: &FlowChange, change: Change) -> Edge {
    Edge {
        from: end(diff, &flow.source),
        to: end(diff, &flow.destination),
        ports: flow.ports.to_string(),
        change,
    }
}

/// A pod end in its namespace's subgraph; an address, or a pod of a namespace no policy
/// names, on its own.
fn end(diff: &FlowDiff, name: &str) -> End {
    let Some(namespace) = diff.namespaces.get(name) else {
        // Angle brackets would be read as HTML by Mermaid.
        let label = name.trim_start_matches('<').trim_end_matches('>');
        return End {
            node: Node {
                group: None,
                id: format!("x_{}", mermaid_id(name)),
                label: label.to_owned(),
            },
            namespace: None,
            everywhere: false,
        };
    };
    let pod = name
        .strip_prefix(namespace.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(name)
        .trim_start_matches('<')
        .trim_end_matches('>');
    End {
        node: Node {
            group: Some((namespace.clone(), namespace.clone())),
            id: format!("p_{}", mermaid_id(name)),
            label: pod.to_owned(),
        },
        namespace: Some(namespace_node(namespace, namespace.clone())),
        everywhere: false,
    }
}
