//! Expansion of a checked block into compact static data: one `const` per declared name
//! (so other files can name it by path or `use`) and one `POLICY` listing what the block
//! declares. Flows whose target lives in another file get `const` assertions, so rustc
//! checks their ports at compile time too.

use std::collections::{BTreeSet, HashMap};

use proc_macro2::{Delimiter, Group, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;
use zero_trust_rules::{PortRange, Protocol};

use crate::ast::{EndpointRef, Input, Item, doc_text};
use crate::checked::{Checked, CheckedEnd, CheckedExpression, CheckedFlow, LocalKind};
use crate::reserved::{imports_reserved, reserved};
use crate::resolve::{end_text, ident_text};

/// A selector's `matchLabels` and `matchExpressions` as the model's const slices.
fn selector_parts(
    labels: &[(String, String)],
    expressions: &[CheckedExpression],
) -> (TokenStream, TokenStream) {
    let (keys, values): (Vec<_>, Vec<_>) = labels.iter().cloned().unzip();
    let expressions = expressions.iter().map(|expression| {
        let (key, values) = (&expression.key, &expression.values);
        let operator = Ident::new(expression.operator, proc_macro2::Span::call_site());
        quote!(::zero_trust::__private::Expression {
            key: #key, operator: ::zero_trust::__private::Operator::#operator, values: &[#(#values),*],
        })
    });
    (
        quote!(&[#(::zero_trust::__private::Label { key: #keys, value: #values }),*]),
        quote!(&[#(#expressions),*]),
    )
}

pub fn expand(checked: &Checked) -> TokenStream {
    let mut items = TokenStream::new();
    for namespace in &checked.namespaces {
        let ident = namespace.ident;
        let (ident_str, name, managed) = (ident_text(ident), &namespace.name, namespace.managed);
        let namespace_ports = ports(&namespace.ports);
        let docs = doc_attribute(&namespace.docs);
        let selector = match &namespace.selector {
            None => quote!(::core::option::Option::None),
            Some(selector) => {
                let (labels, expressions) = selector_parts(&selector.labels, &selector.expressions);
                quote!(::core::option::Option::Some(::zero_trust::__private::Selector {
                    labels: #labels, expressions: #expressions,
                }))
            }
        };
        items.extend(quote! {
            #docs
            #[allow(non_upper_case_globals)]
            pub const #ident: ::zero_trust::__private::Namespace = ::zero_trust::__private::Namespace {
                ident: #ident_str, name: #name, managed: #managed, ports: &[#namespace_ports],
                selector: #selector,
            };
        });
        for workload in &namespace.workloads {
            let ident = workload.ident;
            let (ident_str, name) = (ident_text(ident), &workload.name);
            let (labels, expressions) = selector_parts(&workload.labels, &workload.expressions);
            let ports = ports(&workload.ports);
            let namespace_ident = namespace.ident;
            let docs = doc_attribute(&workload.docs);
            items.extend(quote! {
                #docs
                #[allow(non_upper_case_globals)]
                pub const #ident: ::zero_trust::__private::Workload = ::zero_trust::__private::Workload {
                    ident: #ident_str, name: #name, namespace: &#namespace_ident,
                    selector: #labels,
                    expressions: #expressions,
                    ports: &[#ports],
                };
            });
        }
    }
    for cidr in &checked.cidrs {
        let ident = cidr.ident;
        let ident_str = ident_text(ident);
        let blocks = cidr.blocks.iter().map(|(block, except)| {
            quote!(::zero_trust::__private::AddressBlock { cidr: #block, except: &[#(#except),*] })
        });
        let docs = doc_attribute(&cidr.docs);
        items.extend(quote! {
            #docs
            #[allow(non_upper_case_globals)]
            pub const #ident: ::zero_trust::__private::CidrBlock = ::zero_trust::__private::CidrBlock {
                ident: #ident_str, blocks: &[#(#blocks),*],
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
    let table = FlowTable::new(&checked.flows);
    let flows = table.flows();
    let cluster_fields = crate::clusters::policy_fields(checked);
    items.extend(quote! {
        /// Everything this `zero_trust!` block declares; list it among the cluster's parts.
        pub const POLICY: ::zero_trust::__private::Policy = ::zero_trust::__private::Policy {
            file: ::core::file!(),
            namespaces: &[#(&#namespace_idents),*],
            workloads: &[#(&#workload_idents),*],
            cidrs: &[#(&#cidr_idents),*],
            flows: #flows,
            #cluster_fields
        };
    });
    items.extend(table.tables());
    items.extend(table.foreign_checks(checked));
    items
}

/// A block's flows as data: every distinct end and port list written once (as the hidden
/// `__ZERO_TRUST_ENDS` and `__ZERO_TRUST_PORTS`), and each flow a row of three literals
/// turned into a `Flow` by one loop that rustc evaluates at compile time. For 50,000 flows
/// that is a quarter of what rustc would spend on as many struct literals.
struct FlowTable<'a> {
    flows: &'a [CheckedFlow<'a>],
    /// The distinct ends and port lists, each followed by a comma, in index order.
    ends: TokenStream,
    port_lists: TokenStream,
    /// Per flow: the indices of its source, destination and port list, and its reason.
    rows: Vec<(u32, u32, u32, String)>,
}

impl<'a> FlowTable<'a> {
    fn new(flows: &'a [CheckedFlow<'a>]) -> FlowTable<'a> {
        let mut table = FlowTable {
            flows,
            ends: TokenStream::new(),
            port_lists: TokenStream::new(),
            rows: Vec::new(),
        };
        // Ends are keyed by their text: a block declares each name once, so equal text is
        // the same end.
        let mut end_index: HashMap<String, u32> = HashMap::new();
        let mut port_index: HashMap<Vec<PortRange>, u32> = HashMap::new();
        for flow in flows {
            let mut index_of = |end: &CheckedEnd, written: &EndpointRef| {
                let next = end_index.len() as u32;
                *end_index.entry(end_text(written)).or_insert_with(|| {
                    table.ends.extend(endpoint(end));
                    table.ends.extend(quote!(,));
                    next
                })
            };
            let from = index_of(&flow.from, &flow.decl.from);
            let to = index_of(&flow.to, &flow.decl.to);
            let list: Vec<PortRange> = flow.ports.iter().map(|(port, _)| *port).collect();
            let next = port_index.len() as u32;
            let ports_at = *port_index.entry(list).or_insert_with_key(|list| {
                let tokens = ports(list);
                table.port_lists.extend(quote!(&[#tokens],));
                next
            });
            table
                .rows
                .push((from, to, ports_at, doc_text(&flow.decl.docs)));
        }
        table
    }

    /// `POLICY.flows`, built from the tables.
    fn flows(&self) -> TokenStream {
        let rows = bracketed(
            self.rows
                .iter()
                .map(|(from, to, ports, reason)| quote!((#from, #to, #ports, #reason))),
        );
        let count = self.flows.len();
        // Port names are rare: set where a flow has them, rather than a column per row.
        let names = self
            .flows
            .iter()
            .enumerate()
            .filter(|(_, f)| !f.names.is_empty())
            .map(|(i, flow)| {
                let names = flow.names.iter().map(|(name, protocol)| {
                    let protocol = protocol_tokens(*protocol);
                    quote!(::zero_trust::__private::PortName { name: #name, protocol: #protocol })
                });
                quote!(__zero_trust_flows[#i].port_names = &[#(#names),*];)
            });
        let names = quote!(#(#names)*);
        quote!({
            const ROWS: [(u32, u32, u32, &str); #count] = #rows;
            const FLOWS: [::zero_trust::__private::Flow; #count] = {
                // Through a reference: indexing the const itself would copy it each time.
                // The bindings are prefixed: a `let` cannot shadow a const, and the block's
                // names are consts of the module.
                let __zero_trust_rows = &ROWS;
                let mut __zero_trust_flows = [::zero_trust::__private::Flow {
                    from: ::zero_trust::__private::Endpoint::AllManaged,
                    to: ::zero_trust::__private::Endpoint::AllManaged,
                    ports: &[],
                    port_names: &[],
                    reason: "",
                }; #count];
                let mut __zero_trust_i = 0;
                while __zero_trust_i < __zero_trust_rows.len() {
                    let (__zero_trust_from, __zero_trust_to, __zero_trust_ports, __zero_trust_reason) =
                        __zero_trust_rows[__zero_trust_i];
                    __zero_trust_flows[__zero_trust_i] = ::zero_trust::__private::Flow {
                        from: __ZERO_TRUST_ENDS[__zero_trust_from as usize],
                        to: __ZERO_TRUST_ENDS[__zero_trust_to as usize],
                        ports: __ZERO_TRUST_PORTS[__zero_trust_ports as usize],
                        port_names: &[],
                        reason: __zero_trust_reason,
                    };
                    __zero_trust_i += 1;
                }
                #names
                __zero_trust_flows
            };
            &FLOWS
        })
    }

    /// The distinct ends and port lists, at module level where the checks can see them.
    fn tables(&self) -> TokenStream {
        // The lists already hold their commas; a group shares them without copying.
        let ends = Group::new(Delimiter::Bracket, self.ends.clone());
        let port_lists = Group::new(Delimiter::Bracket, self.port_lists.clone());
        quote! {
            #[doc(hidden)]
            const __ZERO_TRUST_ENDS: &[::zero_trust::__private::Endpoint] = &#ends;
            #[doc(hidden)]
            const __ZERO_TRUST_PORTS: &[&[::zero_trust::__private::PortRange]] = &#port_lists;
        }
    }

    /// The checks the macro cannot make itself because an end is declared in another block:
    /// `const` items that rustc evaluates, spanned at the offending tokens. Each indexes the
    /// tables rather than repeating the end and port, and each (end, port) is checked once.
    fn foreign_checks(&self, checked: &Checked) -> TokenStream {
        let managed_locals: BTreeSet<String> = checked
            .namespaces
            .iter()
            .filter(|n| n.managed)
            .flat_map(|n| std::iter::once(n.ident).chain(n.workloads.iter().map(|w| w.ident)))
            .map(ident_text)
            .collect();
        // A local end in a managed namespace, or `*`, settles the question without rustc.
        let known_managed = |end: &CheckedEnd| match end {
            CheckedEnd::AllManaged => true,
            CheckedEnd::Local(ident, _) => managed_locals.contains(&ident_text(ident)),
            CheckedEnd::Foreign(_) => false,
        };
        let foreign = |end: &CheckedEnd| matches!(end, CheckedEnd::Foreign(_));
        let mut checked_ports = BTreeSet::new();
        let mut checks = TokenStream::new();
        for (flow, &(from, to, ports_at, _)) in self.flows.iter().zip(&self.rows) {
            if foreign(&flow.to) {
                for (k, (port, span)) in flow.ports.iter().enumerate() {
                    if checked_ports.insert((to, *port)) {
                        checks.extend(quote_spanned! {span.start()=>
                            const _: () = ::zero_trust::__private::expect_port(
                                __ZERO_TRUST_ENDS[#to as usize],
                                __ZERO_TRUST_PORTS[#ports_at as usize][#k],
                            );
                        });
                    }
                }
            }
            if foreign(&flow.to) && !flow.names.is_empty() {
                let span = flow.decl.to.span_range().first;
                checks.extend(quote_spanned! {span=>
                    const _: () = ::zero_trust::__private::expect_port_name(
                        __ZERO_TRUST_ENDS[#to as usize],
                    );
                });
            }
            if (foreign(&flow.from) || foreign(&flow.to))
                && !known_managed(&flow.from)
                && !known_managed(&flow.to)
            {
                let arrow = flow.decl.arrow.spans[0];
                checks.extend(quote_spanned! {arrow=>
                    const _: () = ::zero_trust::__private::expect_managed_end(
                        __ZERO_TRUST_ENDS[#from as usize],
                        __ZERO_TRUST_ENDS[#to as usize],
                    );
                });
            }
        }
        checks
    }
}

/// A declaration's doc comment on the item it becomes, so rustdoc and editors show it.
fn doc_attribute(docs: &str) -> TokenStream {
    match docs {
        "" => TokenStream::new(),
        docs => quote!(#[doc = #docs]),
    }
}

/// `[a, b, ...]` as one token. Interpolating a list with `#(#items),*` copies every token
/// of every item; moving the items into a group copies none, which matters at 50,000 rows.
fn bracketed(items: impl IntoIterator<Item = TokenStream>) -> Group {
    let mut list = TokenStream::new();
    for item in items {
        list.extend(item);
        list.extend(quote!(,));
    }
    Group::new(Delimiter::Bracket, list)
}

fn endpoint(end: &CheckedEnd) -> TokenStream {
    match end {
        CheckedEnd::AllManaged => quote!(::zero_trust::__private::Endpoint::AllManaged),
        // The kind is known here, so no method call for rustc to resolve per flow.
        CheckedEnd::Local(ident, LocalKind::Namespace) => {
            quote!(::zero_trust::__private::Endpoint::Namespace(&#ident))
        }
        CheckedEnd::Local(ident, LocalKind::Workload) => {
            quote!(::zero_trust::__private::Endpoint::Workload(&#ident))
        }
        CheckedEnd::Local(ident, LocalKind::Cidr) => {
            quote!(::zero_trust::__private::Endpoint::Cidr(&#ident))
        }
        // Spanned at the path, so an error about the path is reported there, once: the
        // end is written once, in the block's table of ends.
        CheckedEnd::Foreign(path) => {
            let span = syn::spanned::Spanned::span(path);
            quote_spanned!(span=> (&#path).as_zero_trust_flow_end())
        }
    }
}

fn ports(ports: &[PortRange]) -> TokenStream {
    let ports = ports.iter().map(|port| {
        let protocol = protocol_tokens(port.protocol);
        let (first, last) = (port.first, port.last);
        quote!(::zero_trust::__private::PortRange { protocol: #protocol, first: #first, last: #last })
    });
    quote!(#(#ports),*)
}

fn protocol_tokens(protocol: Protocol) -> TokenStream {
    let variant = match protocol {
        Protocol::Tcp => quote!(Tcp),
        Protocol::Udp => quote!(Udp),
        Protocol::Sctp => quote!(Sctp),
    };
    quote!(::zero_trust::__private::Protocol::#variant)
}

/// After an error, still declare every name the block meant to declare (and its `use`s),
/// so that code naming them elsewhere compiles and one mistake gives one error.
pub fn fallback(input: &Input) -> TokenStream {
    let mut seen = BTreeSet::new();
    let mut items = TokenStream::new();
    let mut declare = |ident: &Ident, value: TokenStream| {
        // A reserved name is an error already; declaring it would add rustc's about the
        // clash with the generated item.
        let name = ident_text(ident);
        if reserved(&name).is_none() && seen.insert(name) {
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
                    quote!(
                        ::zero_trust::__private::Namespace =
                            ::zero_trust::__private::ERRORED_NAMESPACE
                    ),
                );
                for workload in &namespace.workloads {
                    declare(
                        &workload.ident,
                        quote!(
                            ::zero_trust::__private::Workload =
                                ::zero_trust::__private::ERRORED_WORKLOAD
                        ),
                    );
                }
            }
            Item::Cidr(cidr) => declare(
                &cidr.ident,
                quote!(::zero_trust::__private::CidrBlock = ::zero_trust::__private::ERRORED_CIDR),
            ),
            // One bringing in a reserved name would clash with the generated one.
            Item::Use(item) if imports_reserved(&item.tree) => {}
            // The fallback declares no flows, so nothing uses the imports; rustc's "unused
            // import" would tell the user to delete lines they need.
            Item::Use(item) => uses.extend(quote!(#[allow(unused_imports)] #item)),
            Item::Flow(_) | Item::Clusters(_) => {}
        }
    }
    items.extend(uses);
    items.extend(quote! {
        #[allow(dead_code)]
        pub const POLICY: ::zero_trust::__private::Policy = ::zero_trust::__private::ERRORED_POLICY;
    });
    items
}
