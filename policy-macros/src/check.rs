//! The semantic checks of a block, as a flat list of named rules. Each rule reports every
//! violation it finds; the block expands only when no rule fired.

use std::collections::{BTreeMap, BTreeSet};

use syn::{Ident, LitStr};
use zero_trust_rules::{
    ALL_PODS, PortRange, Protocol, check_dns1123_label, check_port_name, check_port_range,
    kubernetes_name_of, parse_cidr, parse_except, ports_are_checked,
};

use crate::ast::{
    BlockDecl, CidrDecl, FlowDecl, Input, Item, NamespaceDecl, PortDecl, PortNumber, WorkloadDecl,
    doc_text,
};
use crate::checked::{
    Checked, CheckedCidr, CheckedEnd, CheckedFlow, CheckedNamespace, CheckedWorkload,
};
use crate::ctxt::{Errors, SpanRange};
use crate::ports::{Listening, list, port_number, ports_are_listed_once};
use crate::reserved::{imports_are_not_reserved, name_is_not_reserved};
use crate::resolve::{Declared, Imports, declarations, end_text, ident_text, resolve_end};
use crate::selector::{Selects, check_selector};
use crate::suggest::Suggester;

pub fn check(input: &Input) -> syn::Result<Checked<'_>> {
    let mut errors = Errors::default();
    let mut namespaces = Vec::new();
    let mut cidrs = Vec::new();
    let mut uses = Vec::new();
    let mut flow_decls = Vec::new();
    for item in &input.items {
        match item {
            Item::Namespace(decl) => namespaces.push(check_namespace(decl, &mut errors)),
            Item::Cidr(decl) => cidrs.push(check_cidr(decl, &mut errors)),
            Item::Use(decl) => {
                imports_are_not_reserved(&decl.tree, &mut errors);
                uses.push(decl);
            }
            Item::Flow(decl) => flow_decls.push(decl),
            Item::Clusters(_) => {}
        }
    }
    names_are_declared_once(&namespaces, &cidrs, &mut errors);
    kubernetes_names_are_unique(&namespaces, &mut errors);

    let declared = declarations(&namespaces, &cidrs);
    let imports = Imports::of(&uses);
    let mut suggester = Suggester::new(declared.keys().chain(imports.names.iter()));

    let mut flows = Vec::new();
    for decl in flow_decls {
        let from = resolve_end(&decl.from, &declared, &imports, &mut suggester, &mut errors);
        let to = resolve_end(&decl.to, &declared, &imports, &mut suggester, &mut errors);
        let named = |name: &Ident| named_port(to.as_ref(), name, &declared);
        let mut names = Vec::new();
        let ports = check_ports(&decl.ports, &named, &mut names, &mut errors);
        ports_are_listed_once(&ports, &mut errors);
        port_names_are_listed_once(&names, &mut errors);
        if let (Some(from), Some(to)) = (from, to) {
            flow_ports_are_listened_on(decl, &to, &ports, &declared, &mut errors);
            flow_has_a_managed_end(decl, &from, &to, &declared, &mut errors);
            flows.push(CheckedFlow {
                decl,
                from,
                to,
                ports,
                names: names.into_iter().map(|(n, p, _)| (n, p)).collect(),
            });
        }
    }
    flows_are_written_once(&flows, &mut errors);
    let clusters = crate::clusters::check(input, &flows, &mut errors);

    errors.finish(Checked {
        namespaces,
        cidrs,
        uses,
        flows,
        clusters,
    })
}

fn check_namespace<'a>(decl: &'a NamespaceDecl, errors: &mut Errors) -> CheckedNamespace<'a> {
    let name = match name_is_not_reserved(&decl.ident, "namespace", errors) {
        true => kubernetes_name(&decl.ident, decl.rename.as_ref(), "namespace", errors),
        // One error for the name: the reserved one, not the Kubernetes one too.
        false => kubernetes_name(
            &decl.ident,
            decl.rename.as_ref(),
            "",
            &mut Errors::default(),
        ),
    };
    let workloads: Vec<_> = decl
        .workloads
        .iter()
        .map(|w| check_workload(w, errors))
        .collect();
    let mut ports: Vec<PortRange> = workloads
        .iter()
        .flat_map(|w| w.ports.iter().copied())
        .collect();
    ports.sort();
    ports.dedup();
    let selector = decl
        .selector
        .as_ref()
        .map(|labels| check_selector(labels, Selects::Namespaces, errors));
    CheckedNamespace {
        docs: doc_text(&decl.docs),
        ident: &decl.ident,
        name,
        managed: decl.external.is_none(),
        selector,
        workloads,
        ports,
    }
}

fn check_workload<'a>(decl: &'a WorkloadDecl, errors: &mut Errors) -> CheckedWorkload<'a> {
    let name = match name_is_not_reserved(&decl.ident, "workload", errors) {
        true => kubernetes_name(&decl.ident, decl.rename.as_ref(), "workload", errors),
        false => kubernetes_name(
            &decl.ident,
            decl.rename.as_ref(),
            "",
            &mut Errors::default(),
        ),
    };
    workload_name_is_not_reserved(&decl.ident, &name, errors);
    let (labels, expressions) = match &decl.labels {
        None => (vec![("app".to_owned(), name.clone())], Vec::new()),
        Some(labels) => {
            let selector = check_selector(labels, Selects::Pods, errors);
            (selector.labels, selector.expressions)
        }
    };
    let ports = check_ports(&decl.ports, &|_| None, &mut Vec::new(), errors);
    ports_are_listed_once(&ports, errors);
    let named_ports = named_ports_are_single_and_unique(decl, errors);
    CheckedWorkload {
        docs: doc_text(&decl.docs),
        ident: &decl.ident,
        name,
        labels,
        expressions,
        named_ports,
        ports: ports.into_iter().map(|(p, _)| p).collect(),
    }
}

fn check_cidr<'a>(decl: &'a CidrDecl, errors: &mut Errors) -> CheckedCidr<'a> {
    let blocks = decl
        .blocks
        .iter()
        .map(|block| check_block(block, errors))
        .collect();
    blocks_are_listed_once(decl, errors);
    name_is_not_reserved(&decl.ident, "cidr", errors);
    CheckedCidr {
        docs: doc_text(&decl.docs),
        ident: &decl.ident,
        blocks,
    }
}

/// Rule: the CIDR is canonical and every `except` a strict subset of it (the API server's
/// `ValidateIPBlock`).
fn check_block(block: &BlockDecl, errors: &mut Errors) -> (String, Vec<String>) {
    let cidr = match parse_cidr(&block.cidr.value()) {
        Ok(cidr) => Some(cidr),
        Err(error) => {
            errors.push(block.cidr.span(), error);
            None
        }
    };
    let mut except = Vec::new();
    for entry in &block.except {
        match cidr.as_ref().map(|cidr| parse_except(cidr, &entry.value())) {
            Some(Ok(block)) => except.push(block.to_string()),
            Some(Err(error)) => errors.push(entry.span(), error),
            None => {}
        }
    }
    except_is_listed_once(block, errors);
    (block.cidr.value(), except)
}

/// Rule: an `except` entry is listed once.
fn except_is_listed_once(block: &BlockDecl, errors: &mut Errors) {
    let mut seen = BTreeSet::new();
    for entry in &block.except {
        if !seen.insert(entry.value()) {
            errors.push(
                entry.span(),
                format!("except `{}` is listed twice; remove one", entry.value()),
            );
        }
    }
}

/// Rule: a block of a cidr is listed once.
fn blocks_are_listed_once(decl: &CidrDecl, errors: &mut Errors) {
    let mut seen = BTreeSet::new();
    for block in &decl.blocks {
        if !seen.insert(block.cidr.value()) {
            errors.push(
                block.cidr.span(),
                format!(
                    "block `{}` is listed twice in cidr `{}`; list each block once, with all its excepts",
                    block.cidr.value(),
                    decl.ident
                ),
            );
        }
    }
}

/// Rule: a Kubernetes name is a DNS-1123 label; by default the identifier with `_` as `-`.
fn kubernetes_name(
    ident: &Ident,
    rename: Option<&LitStr>,
    what: &str,
    errors: &mut Errors,
) -> String {
    if let Some(rename) = rename {
        let name = rename.value();
        if let Err(why) = check_dns1123_label(&name) {
            errors.push(rename.span(), format!("{what} name `{name}` {why}"));
        }
        return name;
    }
    let name = kubernetes_name_of(&ident_text(ident));
    if let Err(why) = check_dns1123_label(&name) {
        errors.push(
            ident.span(),
            format!("{what} `{ident}` maps to the Kubernetes name `{name}`, which {why}; rename it or give the name with `as \"...\"`"),
        );
    }
    name
}

/// Rule: no workload is called `all-pods`, the name of the namespace-wide policies.
fn workload_name_is_not_reserved(ident: &Ident, name: &str, errors: &mut Errors) {
    if name == ALL_PODS {
        errors.push(ident.span(), format!("the workload name `{ALL_PODS}` is reserved for namespace-wide policies; choose another name with `as \"...\"`"));
    }
}

/// Rule: ports are `FIRST_PORT..=LAST_PORT`, ranges non-empty and ascending, protocols
/// tcp/udp/sctp; a name is resolved by `named` (`None`: already reported); one left to the
/// target's pods goes to `names` with its protocol.
fn check_ports(
    decls: &[PortDecl],
    named: &dyn Fn(&Ident) -> Option<Result<PortByName, String>>,
    names: &mut Vec<(String, Protocol, SpanRange)>,
    errors: &mut Errors,
) -> Vec<(PortRange, SpanRange)> {
    let mut ports = Vec::new();
    for decl in decls {
        if let PortNumber::Named(name) = &decl.number {
            match (&decl.protocol, named(name)) {
                (Some(protocol), Some(Ok(PortByName::Number(_)))) => errors.push(
                    protocol.span(),
                    format!("a named port carries its protocol from its declaration; remove `/{protocol}`"),
                ),
                (_, Some(Ok(PortByName::Number(port)))) => ports.push((port, decl.span())),
                (_, Some(Ok(PortByName::LeftToPods))) => {
                    // The container port's name, as identifiers become Kubernetes names.
                    let text = kubernetes_name_of(&ident_text(name));
                    match (check_port_name(&text), protocol(decl, errors)) {
                        (Err(why), _) => errors.push(
                            name.span(),
                            format!("port name `{text}` {why}"),
                        ),
                        (Ok(()), Some(protocol)) => names.push((text, protocol, decl.span())),
                        (Ok(()), None) => {}
                    }
                }
                (_, Some(Err(why))) => errors.push(name.span(), why),
                (_, None) => {}
            }
            continue;
        }
        let Some(protocol) = protocol(decl, errors) else {
            continue;
        };
        let (first, last) = match &decl.number {
            PortNumber::Any(_) => {
                let every = match &decl.protocol {
                    Some(_) => vec![protocol],
                    None => Protocol::ALL.to_vec(),
                };
                ports.extend(
                    every
                        .into_iter()
                        .map(|p| (PortRange::every(p), decl.span())),
                );
                continue;
            }
            PortNumber::Range { first, last } => (first, last),
            PortNumber::Named(_) => continue,
        };
        let Some(first) = port_number(first, errors) else {
            continue;
        };
        let last = match last {
            Some(last) => match port_number(last, errors) {
                Some(last) => Some(last),
                None => continue,
            },
            None => None,
        };
        match check_port_range(first, last) {
            Ok((first, last)) => ports.push((
                PortRange {
                    protocol,
                    first,
                    last,
                },
                decl.span(),
            )),
            Err(why) => errors.push(decl.span(), why),
        }
    }
    ports
}

/// The port's protocol: TCP unless written, in lowercase.
fn protocol(decl: &PortDecl, errors: &mut Errors) -> Option<Protocol> {
    let Some(word) = &decl.protocol else {
        return Some(Protocol::Tcp);
    };
    if let Some(protocol) = Protocol::from_dsl(&word.to_string()) {
        return Some(protocol);
    }
    let lowercase = word.to_string().to_ascii_lowercase();
    let message = match Protocol::from_dsl(&lowercase) {
        Some(_) => format!("protocols are written in lowercase; write `{lowercase}`"),
        None => format!("unknown protocol `{word}`; write `tcp`, `udp` or `sctp`"),
    };
    errors.push(word.span(), message);
    None
}

/// Rule: a port name (`http = 8080`) names one port and is given once per workload.
fn named_ports_are_single_and_unique(
    decl: &WorkloadDecl,
    errors: &mut Errors,
) -> Vec<(String, PortRange)> {
    let mut named: Vec<(String, PortRange)> = Vec::new();
    for port in &decl.ports {
        let Some(name) = &port.name else { continue };
        // The port's own mistakes are reported by `check_ports` already.
        let checked = check_ports(
            std::slice::from_ref(port),
            &|_| None,
            &mut Vec::new(),
            &mut Errors::default(),
        );
        let text = ident_text(name);
        match checked.as_slice() {
            [(range, _)] if range.is_single() => {
                if named.iter().any(|(n, _)| *n == text) {
                    errors.push(
                        name.span(),
                        format!("port name `{text}` is given twice; name each port once"),
                    );
                } else {
                    named.push((text, *range));
                }
            }
            [] => {}
            _ => errors.push(
                port.span(),
                format!("a port name names one port, as a container port does; write `{text} = 8080`, or leave the range unnamed"),
            ),
        }
    }
    named
}

/// What a port name in a flow stands for.
enum PortByName {
    /// The number the target's declaration gives the name.
    Number(PortRange),
    /// The name itself, which the target's pods resolve.
    LeftToPods,
}

/// Rule: a port name in a flow names a port its target declares (resolved to the number
/// here), or is left to the target's pods where zero-trust cannot know their ports: an
/// external workload that names none, an external namespace, or an end of another block
/// (checked in the expansion to be external).
fn named_port(
    to: Option<&CheckedEnd>,
    name: &Ident,
    declared: &BTreeMap<String, Declared>,
) -> Option<Result<PortByName, String>> {
    let text = ident_text(name);
    let workload = match to? {
        CheckedEnd::Local(ident, _) => match declared[&ident_text(ident)] {
            Declared::Workload(_, workload) => workload,
            Declared::Namespace(namespace) if !namespace.managed => {
                return Some(Ok(PortByName::LeftToPods));
            }
            _ => {
                return Some(Err(format!(
                    "`{text}` names a port of a workload, and `{ident}` is none; write the port number"
                )));
            }
        },
        CheckedEnd::Foreign(_) => return Some(Ok(PortByName::LeftToPods)),
        CheckedEnd::AllManaged => {
            return Some(Err(format!(
                "`{text}` names a port of a workload, and `*` is every managed pod; write the port number"
            )));
        }
    };
    let external = match to? {
        CheckedEnd::Local(ident, _) => {
            matches!(declared[&ident_text(ident)], Declared::Workload(namespace, _) if !namespace.managed)
        }
        _ => false,
    };
    let found = workload.named_ports.iter().find(|(n, _)| *n == text);
    Some(match (found, workload.named_ports.as_slice()) {
        (Some((_, port)), _) => Ok(PortByName::Number(*port)),
        (None, []) if external => Ok(PortByName::LeftToPods),
        (None, []) => Err(format!(
            "workload `{}` names no ports; name one where it is declared, as in `{text} = 8080`",
            workload.ident
        )),
        (None, named) => {
            let names: Vec<String> = named.iter().map(|(n, p)| format!("{n} = {p}")).collect();
            Err(format!(
                "workload `{}` has no port named `{text}`; named: {}",
                workload.ident,
                names.join(", ")
            ))
        }
    })
}

/// Rule: namespace, workload and cidr identifiers of a block are distinct, since each
/// becomes an item of the module.
fn names_are_declared_once(
    namespaces: &[CheckedNamespace],
    cidrs: &[CheckedCidr],
    errors: &mut Errors,
) {
    let mut seen: BTreeMap<String, &Ident> = BTreeMap::new();
    let idents = namespaces
        .iter()
        .flat_map(|n| std::iter::once(n.ident).chain(n.workloads.iter().map(|w| w.ident)))
        .chain(cidrs.iter().map(|c| c.ident));
    for ident in idents {
        if seen.insert(ident_text(ident), ident).is_some() {
            errors.push(
                ident.span(),
                format!("`{ident}` is declared twice; rename one of them"),
            );
        }
    }
}

/// Rule: namespaces have distinct Kubernetes names, and so do the workloads of one
/// namespace (their policies are named after them).
fn kubernetes_names_are_unique(namespaces: &[CheckedNamespace], errors: &mut Errors) {
    let mut namespace_names = BTreeMap::new();
    for namespace in namespaces {
        // Identical identifiers are `names_are_declared_once`'s to report.
        if let Some(first) = namespace_names.insert(namespace.name.as_str(), namespace.ident)
            && ident_text(first) != ident_text(namespace.ident)
        {
            errors.push(namespace.ident.span(), format!("namespace `{}` has the Kubernetes name `{}` of `{first}` too; give one another name", namespace.ident, namespace.name));
        }
        let mut workload_names = BTreeMap::new();
        for workload in &namespace.workloads {
            if let Some(first) = workload_names.insert(workload.name.as_str(), workload.ident)
                && ident_text(first) != ident_text(workload.ident)
            {
                errors.push(workload.ident.span(), format!("workload `{}` has the Kubernetes name `{}` of `{first}` too; give one another name", workload.ident, workload.name));
            }
        }
    }
}

/// Rule: a flow names only ports its target listens on (a workload's ports, or any
/// workload's of a namespace target), where they are checked (`ports_are_checked`).
/// Foreign targets are checked in the expansion.
fn flow_ports_are_listened_on(
    decl: &FlowDecl,
    to: &CheckedEnd,
    ports: &[(PortRange, SpanRange)],
    declared: &BTreeMap<String, Declared>,
    errors: &mut Errors,
) {
    let CheckedEnd::Local(ident, _) = to else {
        return;
    };
    let (subject, listed, managed) = match declared[&ident_text(ident)] {
        Declared::Workload(namespace, workload) => (
            format!("workload `{ident}` does not listen"),
            &workload.ports,
            namespace.managed,
        ),
        Declared::Namespace(namespace) => (
            format!("no workload of namespace `{ident}` listens"),
            &namespace.ports,
            namespace.managed,
        ),
        Declared::Cidr => return,
    };
    if !ports_are_checked(managed, listed) {
        return;
    }
    // `any` stands for a port of each protocol; one error says it for all three. (Any
    // other `any/...` of the flow overlaps it, which is its own error.)
    let any = decl
        .ports
        .iter()
        .find(|p| matches!(p.number, PortNumber::Any(_)) && p.protocol.is_none());
    let mut any_reported = false;
    let listening = Listening::new(listed, ports.len());
    let mut fix = None;
    for (port, span) in ports {
        if !listening.covers(port) {
            let fix = fix.get_or_insert_with(|| match listed.as_slice() {
                [] => "declare the ports it listens on, as in `name: 8080`".to_owned(),
                ports => format!("declared: {}", list(ports)),
            });
            match any {
                Some(_) if port.is_every() && any_reported => {}
                Some(any) if port.is_every() => {
                    any_reported = true;
                    errors.push(
                        any.span(),
                        format!("{subject} on every port (`any`); {fix}"),
                    );
                }
                _ => errors.push(*span, format!("{subject} on {port}; {fix}")),
            }
        }
    }
}

/// Rule: a flow names each port name once (per protocol).
fn port_names_are_listed_once(names: &[(String, Protocol, SpanRange)], errors: &mut Errors) {
    for (i, (name, protocol, span)) in names.iter().enumerate() {
        if names[..i]
            .iter()
            .any(|(n, p, _)| n == name && p == protocol)
        {
            errors.push(
                *span,
                format!("port `{name}` is listed twice; list it once"),
            );
        }
    }
}

/// Rule: at least one end of a flow is managed, or the flow would write nothing.
fn flow_has_a_managed_end(
    decl: &FlowDecl,
    from: &CheckedEnd,
    to: &CheckedEnd,
    declared: &BTreeMap<String, Declared>,
    errors: &mut Errors,
) {
    let unmanaged = |end: &CheckedEnd| match end {
        CheckedEnd::Local(ident, _) => match declared[&ident_text(ident)] {
            Declared::Namespace(namespace) | Declared::Workload(namespace, _) => !namespace.managed,
            Declared::Cidr => true,
        },
        CheckedEnd::AllManaged | CheckedEnd::Foreign(_) => false,
    };
    if unmanaged(from) && unmanaged(to) {
        errors.push(
            decl.arrow_span(),
            "neither end of this flow is in a managed namespace, so it would write no policy; zero-trust writes policies only into managed namespaces",
        );
    }
}

/// Rule: a flow between the same two ends is written once; list all its ports on one line.
fn flows_are_written_once(flows: &[CheckedFlow], errors: &mut Errors) {
    let mut seen = BTreeSet::new();
    for flow in flows {
        let key = (end_text(&flow.decl.from), end_text(&flow.decl.to));
        if !seen.insert(key.clone()) {
            errors.push(
                flow.decl.ends_span(),
                format!(
                    "the flow `{} -> {}` is written twice; list all its ports on one line",
                    key.0, key.1
                ),
            );
        }
    }
}
