//! Expansion of a checked block into compact static data: one `const` per declared name
//! (so other files can name it by path or `use`) and one `POLICY` listing what the block
//! declares. Flows whose target lives in another file get `const` assertions, so rustc
//! checks their ports at compile time too.

use std::collections::{BTreeSet, HashMap};

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::Ident;
use zero_trust_rules::{PortRange, Protocol};

use crate::ast::{EndpointRef, Input, Item};
use crate::check::{Checked, CheckedEnd, CheckedFlow, LocalKind, end_text, ident_text};

pub fn expand(checked: &Checked) -> TokenStream {
    let private = private();
    let mut items = TokenStream::new();
    for namespace in &checked.namespaces {
        let ident = namespace.ident;
        let (ident_str, name, managed) = (ident_text(ident), &namespace.name, namespace.managed);
        let namespace_ports = ports(&namespace.ports);
        items.extend(quote! {
            #[allow(non_upper_case_globals)]
            pub const #ident: #private::Namespace = #private::Namespace {
                ident: #ident_str, name: #name, managed: #managed, ports: &[#namespace_ports],
            };
        });
        for workload in &namespace.workloads {
            let ident = workload.ident;
            let (ident_str, name) = (ident_text(ident), &workload.name);
            let (keys, values): (Vec<_>, Vec<_>) = workload.labels.iter().cloned().unzip();
            let ports = ports(&workload.ports);
            let namespace_ident = namespace.ident;
            items.extend(quote! {
                #[allow(non_upper_case_globals)]
                pub const #ident: #private::Workload = #private::Workload {
                    ident: #ident_str, name: #name, namespace: &#namespace_ident,
                    selector: &[#(#private::Label { key: #keys, value: #values }),*],
                    ports: &[#ports],
                };
            });
        }
    }
    for cidr in &checked.cidrs {
        let ident = cidr.ident;
        let (ident_str, block, except) = (ident_text(ident), &cidr.cidr, &cidr.except);
        items.extend(quote! {
            #[allow(non_upper_case_globals)]
            pub const #ident: #private::CidrBlock = #private::CidrBlock {
                ident: #ident_str, cidr: #block, except: &[#(#except),*],
            };
        });
    }
    for item in &checked.uses {
        items.extend(quote!(#item));
    }

    let namespace_idents = checked.namespaces.iter().map(|n| n.ident);
    let workload_idents = checked
        .namespaces
        .iter()
        .flat_map(|n| n.workloads.iter().map(|w| w.ident));
    let cidr_idents = checked.cidrs.iter().map(|c| c.ident);
    let flows = flow_data(&checked.flows);
    items.extend(quote! {
        /// Everything this `zero_trust!` block declares; list it among the cluster's parts.
        pub const POLICY: #private::Policy = #private::Policy {
            file: ::core::file!(),
            namespaces: &[#(&#namespace_idents),*],
            workloads: &[#(&#workload_idents),*],
            cidrs: &[#(&#cidr_idents),*],
            flows: #flows,
        };
    });
    let managed_locals: BTreeSet<String> = checked
        .namespaces
        .iter()
        .filter(|n| n.managed)
        .flat_map(|n| std::iter::once(n.ident).chain(n.workloads.iter().map(|w| w.ident)))
        .map(ident_text)
        .collect();
    let mut assertions = TokenStream::new();
    for flow in &checked.flows {
        assertions.extend(foreign_assertions(flow, &managed_locals));
    }
    if !assertions.is_empty() {
        items.extend(assertion_helpers());
        items.extend(assertions);
    }
    items
}

/// What the cross-file assertions call: one `const fn` call per assertion costs rustc
/// about half of an inline condition and `panic!`. `#[track_caller]` makes a failure
/// point at the assertion's (user's) tokens, not here.
fn assertion_helpers() -> TokenStream {
    let private = private();
    quote! {
        #[doc(hidden)]
        #[allow(dead_code)]
        #[track_caller]
        const fn __zero_trust_expect_port(
            to: #private::Endpoint,
            port: #private::PortRange,
            message: &str,
        ) {
            if !to.accepts_port(&port) {
                ::core::panic!("{}", message)
            }
        }
        #[doc(hidden)]
        #[allow(dead_code)]
        #[track_caller]
        const fn __zero_trust_expect_managed(
            from: #private::Endpoint,
            to: #private::Endpoint,
            message: &str,
        ) {
            if !from.is_managed() && !to.is_managed() {
                ::core::panic!("{}", message)
            }
        }
    }
}

/// The checks the macro cannot make itself because an end is declared in another block:
/// evaluated by rustc in `const` items spanned at the offending tokens.
fn foreign_assertions(flow: &CheckedFlow, managed_locals: &BTreeSet<String>) -> TokenStream {
    let mut assertions = TokenStream::new();
    if let CheckedEnd::Foreign(_) = &flow.to {
        let target = end_text(&flow.decl.to);
        for (port, span) in &flow.ports {
            let message = format!(
                "`{target}` does not listen on {port}; declare the port where `{target}` is declared, or fix the flow"
            );
            let to = endpoint(&flow.to);
            let port = ports(&[*port]);
            assertions.extend(respan(
                quote! {
                    const _: () = __zero_trust_expect_port(#to, #port, #message);
                },
                *span,
            ));
        }
    }
    // A local end in a managed namespace, or `*`, settles the question without rustc.
    let foreign = |end: &CheckedEnd| matches!(end, CheckedEnd::Foreign(_));
    let known_managed = |end: &CheckedEnd| match end {
        CheckedEnd::AllManaged => true,
        CheckedEnd::Local(ident, _) => managed_locals.contains(&ident_text(ident)),
        CheckedEnd::Foreign(_) => false,
    };
    if (foreign(&flow.from) || foreign(&flow.to))
        && !known_managed(&flow.from)
        && !known_managed(&flow.to)
    {
        let arrow = &flow.decl.arrow;
        let span = arrow.spans[0]
            .join(arrow.spans[1])
            .unwrap_or(arrow.spans[0]);
        let (from, to) = (endpoint(&flow.from), endpoint(&flow.to));
        let message = format!(
            "neither end of `{}` is in a managed namespace, so it would write no policy; zero-trust writes policies only into managed namespaces",
            flow.text
        );
        assertions.extend(respan(
            quote! {
                const _: () = __zero_trust_expect_managed(#from, #to, #message);
            },
            span,
        ));
    }
    assertions
}

/// Blocks with more flows than this get them as a table (see [`flow_table`]).
const FLOW_TABLE_THRESHOLD: usize = 32;

/// `POLICY.flows`: struct literals for a small block, so the expansion reads like the
/// model; a table for a large one, since rustc type-checks, borrow-checks and
/// const-evaluates every literal, about four times the cost of a table row.
fn flow_data(flows: &[CheckedFlow]) -> TokenStream {
    if flows.len() > FLOW_TABLE_THRESHOLD {
        return flow_table(flows);
    }
    let private = private();
    let flows = flows.iter().map(|flow| {
        let (from, to) = (endpoint(&flow.from), endpoint(&flow.to));
        let ports = ports(&flow.ports.iter().map(|(port, _)| *port).collect::<Vec<_>>());
        let text = &flow.text;
        quote!(#private::Flow { from: #from, to: #to, ports: &[#ports], text: #text })
    });
    quote!(&[#(#flows),*])
}

/// The flows of a large block as rows of indices into its distinct ends and port lists,
/// turned into `Flow`s by one loop that rustc evaluates at compile time. Every end and
/// port list is written once, and a row is four literals.
fn flow_table(flows: &[CheckedFlow]) -> TokenStream {
    let private = private();
    let mut ends: Vec<TokenStream> = Vec::new();
    let mut end_index: HashMap<String, usize> = HashMap::new();
    let mut port_lists: Vec<TokenStream> = Vec::new();
    let mut port_index: HashMap<Vec<PortRange>, usize> = HashMap::new();
    let mut rows = Vec::with_capacity(flows.len());
    for flow in flows {
        // Keyed by the end as written: a block declares each name once, so equal text is
        // the same end, and the tokens are built once per end rather than per flow.
        let mut index_of = |end: &CheckedEnd, written: &EndpointRef| {
            let next = ends.len();
            let index = *end_index.entry(end_text(written)).or_insert(next);
            if index == next {
                ends.push(endpoint(end));
            }
            index as u32
        };
        let from = index_of(&flow.from, &flow.decl.from);
        let to = index_of(&flow.to, &flow.decl.to);
        let list: Vec<PortRange> = flow.ports.iter().map(|(port, _)| *port).collect();
        let next = port_lists.len();
        let ports_at = *port_index.entry(list.clone()).or_insert(next);
        if ports_at == next {
            let tokens = ports(&list);
            port_lists.push(quote!(&[#tokens]));
        }
        let (ports_at, text) = (ports_at as u32, &flow.text);
        rows.push(quote!((#from, #to, #ports_at, #text)));
    }
    let count = flows.len();
    quote!({
        const ENDS: &[#private::Endpoint] = &[#(#ends),*];
        const PORTS: &[&[#private::PortRange]] = &[#(#port_lists),*];
        const ROWS: [(u32, u32, u32, &str); #count] = [#(#rows),*];
        const FLOWS: [#private::Flow; #count] = {
            // Through a reference: indexing the const itself would copy it each time.
            let rows = &ROWS;
            let mut flows = [#private::Flow {
                from: #private::Endpoint::AllManaged,
                to: #private::Endpoint::AllManaged,
                ports: &[],
                text: "",
            }; #count];
            let mut i = 0;
            while i < rows.len() {
                let (from, to, ports, text) = rows[i];
                flows[i] = #private::Flow {
                    from: ENDS[from as usize],
                    to: ENDS[to as usize],
                    ports: PORTS[ports as usize],
                    text,
                };
                i += 1;
            }
            flows
        };
        &FLOWS
    })
}

fn endpoint(end: &CheckedEnd) -> TokenStream {
    let private = private();
    match end {
        CheckedEnd::AllManaged => quote!(#private::Endpoint::AllManaged),
        // The kind is known here, so no method call for rustc to resolve per flow.
        CheckedEnd::Local(ident, LocalKind::Namespace) => {
            quote!(#private::Endpoint::Namespace(&#ident))
        }
        CheckedEnd::Local(ident, LocalKind::Workload) => {
            quote!(#private::Endpoint::Workload(&#ident))
        }
        CheckedEnd::Local(ident, LocalKind::Cidr) => quote!(#private::Endpoint::Cidr(&#ident)),
        // Spanned at the path and kept from `respan` by the invisible group, so an error
        // about the path is reported once, at the path.
        CheckedEnd::Foreign(path) => {
            let span = syn::spanned::Spanned::span(path);
            let call = quote_spanned!(span=> (&#path).endpoint());
            TokenTree::Group(Group::new(Delimiter::None, call)).into()
        }
    }
}

/// Gives every token `span`, so that rustc reports a failed `const` assertion at the
/// user's token rather than at the macro call.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree
                && group.delimiter() == Delimiter::None
            {
                // An end named by path: keeps its own spans.
            } else if let TokenTree::Group(group) = &tree {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                tree = TokenTree::Group(respanned);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

fn ports(ports: &[PortRange]) -> TokenStream {
    let private = private();
    let ports = ports.iter().map(|port| {
        let protocol = match port.protocol {
            Protocol::Tcp => quote!(Tcp),
            Protocol::Udp => quote!(Udp),
            Protocol::Sctp => quote!(Sctp),
        };
        let (first, last) = (port.first, port.last);
        quote!(#private::PortRange { protocol: #private::Protocol::#protocol, first: #first, last: #last })
    });
    quote!(#(#ports),*)
}

fn private() -> TokenStream {
    quote!(::zero_trust::__private)
}

/// After an error, still declare every name the block meant to declare (and its `use`s),
/// so that code naming them elsewhere compiles and one mistake gives one error.
pub fn fallback(input: &Input) -> TokenStream {
    let private = private();
    let mut seen = BTreeSet::new();
    let mut items = TokenStream::new();
    let mut declare = |ident: &Ident, value: TokenStream| {
        if seen.insert(ident_text(ident)) {
            items.extend(quote! {
                #[allow(non_upper_case_globals, dead_code)]
                pub const #ident: #value;
            });
        }
    };
    let mut uses = TokenStream::new();
    for item in &input.items {
        match item {
            Item::Namespace(namespace) => {
                declare(
                    &namespace.ident,
                    quote!(#private::Namespace = #private::ERRORED_NAMESPACE),
                );
                for workload in &namespace.workloads {
                    declare(
                        &workload.ident,
                        quote!(#private::Workload = #private::ERRORED_WORKLOAD),
                    );
                }
            }
            Item::Cidr(cidr) => declare(
                &cidr.ident,
                quote!(#private::CidrBlock = #private::ERRORED_CIDR),
            ),
            Item::Use(item) => uses.extend(quote!(#item)),
            Item::Flow(_) => {}
        }
    }
    items.extend(uses);
    items.extend(quote! {
        #[allow(dead_code)]
        pub const POLICY: #private::Policy = #private::ERRORED_POLICY;
    });
    items
}
