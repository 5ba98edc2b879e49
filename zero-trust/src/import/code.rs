//! The imported declarations as Rust: one `zero_trust!` block per managed namespace, the
//! shared pieces (external namespaces, CIDRs, `*` flows) in `shared.rs`, and `mod.rs`
//! assembling `PARTS`. Laid out as a person writes them (see `policies/src/`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use zero_trust_rules::{PortRange, Protocol, kubernetes_name_of};

use super::decls::{Declarations, EndRef, FileOf, FlowDecl, NamespaceDecl, Spelling};
use super::plan::PodSelector;
use crate::model::{Operator, every_port};

/// File name (`prod_api.rs`, `shared.rs`, `mod.rs`) → its text. `preamble` opens every
/// file's doc comment: where the policies came from and the assumptions made.
pub fn render(decls: &Declarations, preamble: &[String]) -> BTreeMap<String, String> {
    let mut files: BTreeMap<FileOf, Block> = BTreeMap::new();
    for (n, namespace) in decls.namespaces.iter().enumerate() {
        let file = decls.file_of_end(EndRef::Namespace(n));
        files.entry(file).or_default().namespaces.push(namespace);
    }
    for cidr in &decls.cidrs {
        let line = format!(
            "cidr {} = {};",
            cidr.ident,
            cidr_text(&cidr.cidr, &cidr.except)
        );
        files.entry(FileOf::Shared).or_default().cidrs.push(line);
    }
    for flow in &decls.flows {
        let file = decls.file_of_flow(flow);
        let block = files.entry(file.clone()).or_default();
        for end in [flow.from, flow.to] {
            let home = decls.file_of_end(end);
            if home != file && end != EndRef::AllManaged {
                block
                    .uses
                    .entry(decls.file_name(&home))
                    .or_default()
                    .insert(decls.end_text(end));
            }
        }
        block.flows.push(flow);
    }
    let mut out = BTreeMap::new();
    let mut parts = Vec::new();
    for (file, block) in &files {
        let name = decls.file_name(file);
        let what = match file {
            FileOf::Namespace(n) => format!("namespace `{}`", decls.namespaces[*n].name),
            FileOf::Shared => {
                "what several namespaces share: namespaces zero-trust does not manage, CIDRs, and flows from every managed namespace".to_owned()
            }
        };
        out.insert(format!("{name}.rs"), block.render(decls, &what, preamble));
        parts.push(name);
    }
    out.insert("mod.rs".to_owned(), assembly(&parts, preamble));
    out
}

#[derive(Default)]
struct Block<'d> {
    /// File → identifiers this block names from it.
    uses: BTreeMap<String, BTreeSet<String>>,
    namespaces: Vec<&'d NamespaceDecl>,
    cidrs: Vec<String>,
    flows: Vec<&'d FlowDecl>,
}

impl Block<'_> {
    fn render(&self, decls: &Declarations, what: &str, preamble: &[String]) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "//! Imported: {what}.");
        for line in preamble {
            let _ = writeln!(text, "//! {line}");
        }
        text.push_str("\nuse zero_trust::zero_trust;\n\nzero_trust! {\n");
        for (file, idents) in &self.uses {
            let idents: Vec<&str> = idents.iter().map(String::as_str).collect();
            let list = match idents[..] {
                [one] => one.to_owned(),
                _ => format!("{{{}}}", idents.join(", ")),
            };
            let _ = writeln!(text, "    use super::{file}::{list};");
        }
        if !self.uses.is_empty() {
            text.push('\n');
        }
        for namespace in &self.namespaces {
            text.push_str(&namespace_text(namespace));
        }
        for cidr in &self.cidrs {
            let _ = writeln!(text, "    {cidr}");
        }
        for flow in &self.flows {
            text.push('\n');
            let said_by: Vec<&str> = flow.said_by.iter().map(String::as_str).collect();
            let _ = writeln!(text, "    // from {}", said_by.join(", "));
            for line in decls.reason_lines(flow) {
                let _ = writeln!(text, "    /// {line}");
            }
            let _ = writeln!(
                text,
                "    {} -> {}:{};",
                decls.end_text(flow.from),
                decls.end_text(flow.to),
                flow_ports_text(flow)
            );
        }
        text.push_str("}\n");
        text
    }
}

fn namespace_text(namespace: &NamespaceDecl) -> String {
    let head = match (&namespace.selector, namespace.managed) {
        (Some(selector), _) => format!(
            "external namespaces {} [{}]",
            namespace.ident,
            selector_text(selector)
        ),
        (None, managed) => {
            let keyword = if managed {
                "namespace"
            } else {
                "external namespace"
            };
            let rename = if kubernetes_name_of(&namespace.ident) == namespace.name {
                String::new()
            } else {
                format!(" as {:?}", namespace.name)
            };
            format!("{keyword} {}{rename}", namespace.ident)
        }
    };
    let mut text = format!("    {head} {{");
    if namespace.workloads.is_empty() {
        text.push_str("}\n");
        return text;
    }
    text.push('\n');
    let last = namespace.workloads.len() - 1;
    for (i, workload) in namespace.workloads.iter().enumerate() {
        let mut line = format!("        {}", workload.ident);
        match workload.spelling() {
            Spelling::Default => {}
            Spelling::Renamed(name) => line.push_str(&format!(" as {name:?}")),
            Spelling::Selector(selector) => {
                line.push_str(&format!(" [{}]", selector_text(selector)));
            }
        }
        if !workload.ports.is_empty() {
            line.push_str(&format!(": {}", ports_text(&workload.ports)));
        }
        if i != last {
            line.push(';');
        }
        text.push_str(&line);
        text.push('\n');
    }
    text.push_str("    }\n");
    text
}

/// `"app" = "web", "tier" in ["a", "b"], "canary", !"legacy"`.
fn selector_text(selector: &PodSelector) -> String {
    let quoted = |values: &[String]| {
        let values: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
        format!("[{}]", values.join(", "))
    };
    let mut parts: Vec<String> = selector
        .labels
        .iter()
        .map(|(k, v)| format!("{k:?} = {v:?}"))
        .collect();
    for (key, operator, values) in &selector.expressions {
        parts.push(match operator {
            Operator::In => format!("{key:?} in {}", quoted(values)),
            Operator::NotIn => format!("{key:?} not in {}", quoted(values)),
            Operator::Exists => format!("{key:?}"),
            Operator::DoesNotExist => format!("!{key:?}"),
        });
    }
    parts.join(", ")
}

/// `8080, 53/udp, 30000..=32767`: TCP, the DSL's default, goes unwritten; every port of
/// every protocol is `any`, every port of one `any/udp`.
/// A flow's numbers (`ports_text`), then its port names as the DSL writes them (`dns_tcp`,
/// `dns/udp`).
fn flow_ports_text(flow: &FlowDecl) -> String {
    let names = flow.port_names.iter().map(|name| match name.protocol {
        Protocol::Tcp => name.ident.clone(),
        protocol => format!("{}/{}", name.ident, protocol.as_dsl()),
    });
    let numbers = (!flow.ports.is_empty()).then(|| ports_text(&flow.ports));
    numbers
        .into_iter()
        .chain(names)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn ports_text(ports: &[PortRange]) -> String {
    if every_port(ports) {
        return "any".to_owned();
    }
    let texts: Vec<String> = ports.iter().map(PortRange::to_dsl).collect();
    texts.join(", ")
}

fn cidr_text(cidr: &ipnet::IpNet, except: &[ipnet::IpNet]) -> String {
    let mut text = format!("\"{cidr}\"");
    if !except.is_empty() {
        let except: Vec<String> = except.iter().map(|e| format!("\"{e}\"")).collect();
        text.push_str(&format!(" except {}", except.join(", ")));
    }
    text
}

fn assembly(parts: &[String], preamble: &[String]) -> String {
    let mut text = String::from(
        "//! The imported cluster: every block below, assembled. To emit it, add\n\
         //! `pub mod <this folder>;` to `policies/src/lib.rs` and use this `PARTS` there.\n",
    );
    for line in preamble {
        let _ = writeln!(text, "//! {line}");
    }
    text.push('\n');
    for part in parts {
        let _ = writeln!(text, "pub mod {part};");
    }
    text.push_str("\n/// Every block of the imported cluster.\npub const PARTS: &[&zero_trust::Policy] = &[\n");
    for part in parts {
        let _ = writeln!(text, "    &{part}::POLICY,");
    }
    text.push_str("];\n");
    text
}
