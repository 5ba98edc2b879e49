//! The review pages of `k8s/`: `FLOWS.md`, an index of the managed namespaces and their
//! flows in and out, and one `FLOWS-<namespace>.md` per managed namespace with its flows as
//! a table and a Mermaid flowchart of the namespace and its direct neighbours (`diagram`).
//! kubectl ignores them (it reads only `.yaml`, `.yml` and `.json`).
//!
//! The pages sit next to the manifests, not in a subfolder: emit replaces only the files
//! at the top of `k8s/` that carry the generated header.

pub(crate) mod change;
mod diagram;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use zero_trust_rules::Protocol;

use crate::cluster::Cluster;
use crate::model::{Endpoint, Flow, every_port};

use super::FLOWS_MD;
use super::GENERATED_HEADER;

pub use diagram::{MAX_DIAGRAM_CHARS, MAX_DIAGRAM_EDGES};

/// The page of a managed namespace.
pub fn page_file(namespace: &str) -> String {
    format!("FLOWS-{namespace}.md")
}

/// `FLOWS.md` and the page of every managed namespace, by file name.
pub fn render_flows_md(cluster: &Cluster) -> BTreeMap<String, String> {
    let mut flows: Vec<&Flow> = cluster.flows.iter().collect();
    flows.sort_by_key(|flow| (flow.from.key(), flow.to.key()));

    let mut files = BTreeMap::new();
    files.insert(FLOWS_MD.to_owned(), index(cluster, &flows));
    for namespace in cluster.managed_namespaces() {
        let name = namespace.name;
        let mine: Vec<&Flow> = flows
            .iter()
            .copied()
            .filter(|flow| touches(&flow.from, name, true) || touches(&flow.to, name, true))
            .collect();
        files.insert(page_file(name), page(cluster, name, &mine));
    }
    files
}

/// Whether an end holds pods of `namespace` (`*` holds those of every managed one).
fn touches(end: &Endpoint, namespace: &str, managed: bool) -> bool {
    match end {
        Endpoint::Workload(w) => w.namespace.name == namespace,
        Endpoint::Namespace(n) => n.name == namespace,
        Endpoint::AllManaged => managed,
        Endpoint::Cidr(_) => false,
    }
}

fn index(cluster: &Cluster, flows: &[&Flow]) -> String {
    let mut text = format!("<!-- {GENERATED_HEADER} -->\n# Allowed flows\n\n");
    let _ = writeln!(
        text,
        "{} flows between {} managed namespaces; everything else is denied. Each managed \
         namespace has a page with its flows and a diagram of it and its direct neighbours.\n",
        flows.len(),
        cluster.managed_namespaces().count()
    );
    text.push_str("| namespace | flows in | flows out | page |\n| --- | --- | --- | --- |\n");
    for namespace in cluster.namespaces.values() {
        let (name, managed) = (namespace.name, namespace.managed);
        let count = |side: fn(&Flow) -> &Endpoint| {
            flows
                .iter()
                .filter(|flow| touches(side(flow), name, managed))
                .count()
        };
        let (flows_in, flows_out) = (count(|f| &f.to), count(|f| &f.from));
        if flows_in + flows_out == 0 {
            continue;
        }
        let page = if managed {
            format!("[{}]({})", page_file(name), page_file(name))
        } else {
            "external: on its neighbours' pages".to_owned()
        };
        let _ = writeln!(
            text,
            "| `{}` | {flows_in} | {flows_out} | {page} |",
            namespace.describe()
        );
    }
    let everywhere: Vec<&Flow> = flows
        .iter()
        .copied()
        .filter(|flow| {
            matches!(flow.from, Endpoint::AllManaged) || matches!(flow.to, Endpoint::AllManaged)
        })
        .collect();
    if !everywhere.is_empty() {
        text.push_str(
            "\nFlows of every managed pod (`*`), counted above and shown on every page:\n\n",
        );
        table(&mut text, &everywhere);
    }
    // A flow on no page (neither end in a managed namespace) is listed here, so that every
    // flow is shown somewhere.
    let elsewhere: Vec<&Flow> = flows
        .iter()
        .copied()
        .filter(|flow| {
            !cluster
                .managed_namespaces()
                .any(|n| touches(&flow.from, n.name, true) || touches(&flow.to, n.name, true))
        })
        .collect();
    if !elsewhere.is_empty() {
        text.push_str("\nFlows between ends outside the managed namespaces:\n\n");
        table(&mut text, &elsewhere);
    }
    text
}

fn page(cluster: &Cluster, namespace: &str, flows: &[&Flow]) -> String {
    let mut text = format!(
        "<!-- {GENERATED_HEADER} -->\n# Allowed flows of `{namespace}`\n\n\
         [All namespaces]({FLOWS_MD}). "
    );
    let flows_in = flows
        .iter()
        .filter(|f| touches(&f.to, namespace, true))
        .count();
    let flows_out = flows
        .iter()
        .filter(|f| touches(&f.from, namespace, true))
        .count();
    let _ = writeln!(
        text,
        "{flows_in} flows into `{namespace}`, {flows_out} out of it; everything else is denied.\n"
    );
    let diagram = diagram::render(cluster, namespace, flows);
    if let Some(note) = &diagram.summary_note {
        let _ = writeln!(text, "{note}\n");
    }
    text.push_str("```mermaid\n");
    text.push_str(&diagram.text);
    text.push_str("```\n\n");
    table(&mut text, flows);
    text
}

fn table(text: &mut String, flows: &[&Flow]) {
    text.push_str(
        "| source | destination | ports | protocol | why |\n| --- | --- | --- | --- | --- |\n",
    );
    for flow in flows {
        let (from, to) = (describe(&flow.from), describe(&flow.to));
        // The reason is the flow's doc comment; a `|` in it would end the cell.
        let why = flow.reason.replace('|', "\\|");
        if every_port(flow.ports) {
            let _ = writeln!(text, "| {from} | {to} | any | any | {why} |");
            continue;
        }
        for (protocol, ports) in ports_by_protocol(flow) {
            let protocol = protocol.as_k8s();
            let _ = writeln!(text, "| {from} | {to} | {ports} | {protocol} | {why} |");
        }
    }
}

/// `8080, 30000-32767` per protocol, in order, then the port names (`dns`).
fn ports_by_protocol(flow: &Flow) -> BTreeMap<Protocol, String> {
    let mut sorted = flow.ports.to_vec();
    sorted.sort();
    let mut by_protocol: BTreeMap<Protocol, Vec<String>> = BTreeMap::new();
    for port in sorted {
        let text = if port.is_every() {
            "any".to_owned()
        } else if port.is_single() {
            port.first.to_string()
        } else {
            format!("{}-{}", port.first, port.last)
        };
        by_protocol.entry(port.protocol).or_default().push(text);
    }
    for name in flow.port_names {
        let names = by_protocol.entry(name.protocol).or_default();
        names.push(name.name.to_owned());
    }
    by_protocol
        .into_iter()
        .map(|(protocol, ports)| (protocol, ports.join(", ")))
        .collect()
}

fn describe(end: &Endpoint) -> String {
    match end {
        Endpoint::Workload(w) if w.namespace.selector.is_some() => {
            format!("`{}` in `{}`", w.name, w.namespace.describe())
        }
        Endpoint::Workload(w) => format!("`{}/{}`", w.namespace.name, w.name),
        Endpoint::Namespace(n) => format!("every pod of `{}`", n.describe()),
        Endpoint::Cidr(c) => format!("`{}` ({})", c.ident, c.describe()),
        Endpoint::AllManaged => "every managed pod".to_owned(),
    }
}
