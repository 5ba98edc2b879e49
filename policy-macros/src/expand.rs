//! Expansion of a checked block into compact static data: one `const` per declared name
//! (so other files can name it by path or `use`) and one `POLICY` listing what the block
//! declares. Flows whose target lives in another file get `const` assertions, so rustc
//! checks their ports at compile time too.

use std::collections::{BTreeSet, HashMap};

use proc_macro2::{Delimiter, Group, Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;
use zero_trust_rules::{PortRange, Protocol, push_flow_row};

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
        quote!(__zero_trust::Expression {
            key: #key, operator: __zero_trust::Operator::#operator, values: &[#(#values),*],
        })
    });
    (
        quote!(&[#(__zero_trust::Label { key: #keys, value: #values }),*]),
        quote!(&[#(#expressions),*]),
    )
}

pub fn expand(checked: &Checked) -> TokenStream {
    // The model's types under a short name: a path of one segment instead of three, in
    // every literal below (each `::` is two tokens). The name is reserved (`reserved.rs`).
    let mut items = quote!(
        use ::zero_trust::__private as __zero_trust;
    );
    let mut port_lists = PortLists::default();
    let mut workloads = TokenStream::new();
    let mut workload_index = 0usize;
    for namespace in &checked.namespaces {
        let ident = namespace.ident;
        let (ident_str, name, managed) = (ident_text(ident), &namespace.name, namespace.managed);
        let namespace_ports = port_lists.index(&namespace.ports);
        let docs = doc_attribute(&namespace.docs);
        let selector = match &namespace.selector {
            None => quote!(::core::option::Option::None),
            Some(selector) => {
                let (labels, expressions) = selector_parts(&selector.labels, &selector.expressions);
                quote!(::core::option::Option::Some(__zero_trust::Selector {
                    labels: #labels, expressions: #expressions,
                }))
            }
        };
        items.extend(quote! {
            #docs
            #[allow(non_upper_case_globals)]
            pub const #ident: __zero_trust::Namespace = __zero_trust::Namespace {
                ident: #ident_str, name: #name, managed: #managed,
                ports: __ZERO_TRUST_PORTS[#namespace_ports], selector: #selector,
            };
        });
        for workload in &namespace.workloads {
            let ident = workload.ident;
            let (ident_str, name) = (ident_text(ident), &workload.name);
            let (labels, expressions) = selector_parts(&workload.labels, &workload.expressions);
            let ports = port_lists.index(&workload.ports);
            let namespace_ident = namespace.ident;
            workloads.extend(quote! {
                __zero_trust::Workload {
                    ident: #ident_str, name: #name, namespace: &#namespace_ident,
                    selector: #labels, expressions: #expressions, ports: __ZERO_TRUST_PORTS[#ports],
                },
            });
            // Each name stays a `const` of its own, so other files name it by path or
            // `use` and its doc comment stays on it; its value is a row of the table.
            let docs = doc_attribute(&workload.docs);
            items.extend(quote! {
                #docs
                #[allow(non_upper_case_globals)]
                pub const #ident: __zero_trust::Workload = __ZERO_TRUST_WORKLOADS[#workload_index];
            });
            workload_index += 1;
        }
    }
    // The block's workloads as one table: rustc keeps one body for the data of them all,
    // and one small body (an index) per name.
    let workloads = Group::new(Delimiter::Bracket, workloads);
    items.extend(quote! {
        #[doc(hidden)]
        const __ZERO_TRUST_WORKLOADS: [__zero_trust::Workload; #workload_index] = #workloads;
    });
    for cidr in &checked.cidrs {
        let ident = cidr.ident;
        let ident_str = ident_text(ident);
        let blocks = cidr.blocks.iter().map(|(block, except)| {
            quote!(__zero_trust::AddressBlock { cidr: #block, except: &[#(#except),*] })
        });
        let docs = doc_attribute(&cidr.docs);
        items.extend(quote! {
            #docs
            #[allow(non_upper_case_globals)]
            pub const #ident: __zero_trust::CidrBlock = __zero_trust::CidrBlock {
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
    let table = FlowTable::new(&checked.flows, &mut port_lists);
    let flows = table.flows();
    let cluster_fields = crate::clusters::policy_fields(checked);
    items.extend(quote! {
        /// Everything this `zero_trust!` block declares; list it among the cluster's parts.
        pub const POLICY: __zero_trust::Policy = __zero_trust::Policy {
            file: ::core::file!(),
            namespaces: &[#(&#namespace_idents),*],
            workloads: &[#(&#workload_idents),*],
            cidrs: &[#(&#cidr_idents),*],
            flows: #flows,
            #cluster_fields
        };
    });
    items.extend(table.ends_table());
    items.extend(port_lists.table());
    items.extend(table.foreign_checks(checked));
    items
}

/// The distinct port lists of a block (of its namespaces, workloads and flows), each
/// written once in the hidden `__ZERO_TRUST_PORTS` and named by its index.
#[derive(Default)]
struct PortLists {
    index: HashMap<Vec<PortRange>, usize>,
    /// The lists, each followed by a comma, in index order.
    tokens: TokenStream,
}

impl PortLists {
    fn index(&mut self, list: &[PortRange]) -> usize {
        let next = self.index.len();
        let tokens = &mut self.tokens;
        *self.index.entry(list.to_vec()).or_insert_with(|| {
            let ports = ports(list);
            tokens.extend(quote!(&[#ports],));
            next
        })
    }

    fn table(&self) -> TokenStream {
        // The lists already hold their commas; a group shares them without copying.
        let lists = Group::new(Delimiter::Bracket, self.tokens.clone());
        quote! {
            #[doc(hidden)]
            const __ZERO_TRUST_PORTS: &[&[__zero_trust::PortRange]] = &#lists;
        }
    }
}

/// A block's flows as data: every distinct end and port list written once (as the hidden
/// `__ZERO_TRUST_ENDS` and [`PortLists`]), and each flow a row of three indices, all rows
/// one byte string (`zero_trust_rules::push_flow_row`), turned into a `Flow` by one loop
/// that rustc evaluates at compile time: one token for the whole table rather than
/// literals or struct literals per flow.
struct FlowTable<'a> {
    flows: &'a [CheckedFlow<'a>],
    /// The distinct ends, each followed by a comma, in index order.
    ends: TokenStream,
    /// Per flow: the indices of its source, destination and port list, and its reason.
    rows: Vec<(u32, u32, u32, String)>,
}

impl<'a> FlowTable<'a> {
    fn new(flows: &'a [CheckedFlow<'a>], port_lists: &mut PortLists) -> FlowTable<'a> {
        let mut table = FlowTable {
            flows,
            ends: TokenStream::new(),
            rows: Vec::new(),
        };
        // Ends are keyed by their text: a block declares each name once, so equal text is
        // the same end.
        let mut end_index: HashMap<String, u32> = HashMap::new();
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
            let ports_at = port_lists.index(&list) as u32;
            table
                .rows
                .push((from, to, ports_at, doc_text(&flow.decl.docs)));
        }
        table
    }

    /// `POLICY.flows`, built from the tables.
    fn flows(&self) -> TokenStream {
        let mut rows = Vec::new();
        for &(from, to, ports, _) in &self.rows {
            push_flow_row(&mut rows, [from, to, ports]);
        }
        let rows = Literal::byte_string(&rows);
        let count = self.flows.len();
        // Port names and reasons are rare: set where a flow has them, rather than a column
        // per row.
        let names = self
            .flows
            .iter()
            .enumerate()
            .filter(|(_, f)| !f.names.is_empty())
            .map(|(i, flow)| {
                let names = flow.names.iter().map(|(name, protocol)| {
                    let protocol = protocol_tokens(*protocol);
                    quote!(__zero_trust::PortName { name: #name, protocol: #protocol })
                });
                quote!(__zero_trust_flows[#i].port_names = &[#(#names),*];)
            });
        let names = quote!(#(#names)*);
        let reasons = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, (.., reason))| !reason.is_empty())
            .map(|(i, (.., reason))| quote!(__zero_trust_flows[#i].reason = #reason;));
        let reasons = quote!(#(#reasons)*);
        quote!({
            const FLOWS: [__zero_trust::Flow; #count] = {
                // The bindings are prefixed: a `let` cannot shadow a const, and the block's
                // names are consts of the module.
                let __zero_trust_rows: &[u8] = #rows;
                let mut __zero_trust_flows = [__zero_trust::Flow {
                    from: __zero_trust::Endpoint::AllManaged,
                    to: __zero_trust::Endpoint::AllManaged,
                    ports: &[],
                    port_names: &[],
                    reason: "",
                }; #count];
                let mut __zero_trust_i = 0;
                while __zero_trust_i < #count {
                    let (__zero_trust_from, __zero_trust_to, __zero_trust_ports) = (
                        __zero_trust::flow_row_cell(__zero_trust_rows, __zero_trust_i, 0),
                        __zero_trust::flow_row_cell(__zero_trust_rows, __zero_trust_i, 1),
                        __zero_trust::flow_row_cell(__zero_trust_rows, __zero_trust_i, 2),
                    );
                    __zero_trust_flows[__zero_trust_i] = __zero_trust::Flow {
                        from: __ZERO_TRUST_ENDS[__zero_trust_from],
                        to: __ZERO_TRUST_ENDS[__zero_trust_to],
                        ports: __ZERO_TRUST_PORTS[__zero_trust_ports],
                        port_names: &[],
                        reason: "",
                    };
                    __zero_trust_i += 1;
                }
                #names
                #reasons
                __zero_trust_flows
            };
            &FLOWS
        })
    }

    /// The distinct ends, at module level where the checks can see them.
    fn ends_table(&self) -> TokenStream {
        // The list already holds its commas; a group shares them without copying.
        let ends = Group::new(Delimiter::Bracket, self.ends.clone());
        quote! {
            #[doc(hidden)]
            const __ZERO_TRUST_ENDS: &[__zero_trust::Endpoint] = &#ends;
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
                        let (to, ports_at) = (to as usize, ports_at as usize);
                        checks.extend(quote_spanned! {span.start()=>
                            const _: () = __zero_trust::expect_port_at(
                                __ZERO_TRUST_ENDS, __ZERO_TRUST_PORTS, #to, #ports_at, #k,
                            );
                        });
                    }
                }
            }
            if foreign(&flow.to) && !flow.names.is_empty() {
                let span = flow.decl.to.span_range().first;
                checks.extend(quote_spanned! {span=>
                    const _: () = __zero_trust::expect_port_name(
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
                    const _: () = __zero_trust::expect_managed_end(
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

fn endpoint(end: &CheckedEnd) -> TokenStream {
    match end {
        CheckedEnd::AllManaged => quote!(__zero_trust::Endpoint::AllManaged),
        // The kind is known here, so no method call for rustc to resolve per flow.
        CheckedEnd::Local(ident, LocalKind::Namespace) => {
            quote!(__zero_trust::Endpoint::Namespace(&#ident))
        }
        CheckedEnd::Local(ident, LocalKind::Workload) => {
            quote!(__zero_trust::Endpoint::Workload(&#ident))
        }
        CheckedEnd::Local(ident, LocalKind::Cidr) => {
            quote!(__zero_trust::Endpoint::Cidr(&#ident))
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
        quote!(__zero_trust::PortRange { protocol: #protocol, first: #first, last: #last })
    });
    quote!(#(#ports),*)
}

fn protocol_tokens(protocol: Protocol) -> TokenStream {
    let variant = match protocol {
        Protocol::Tcp => quote!(Tcp),
        Protocol::Udp => quote!(Udp),
        Protocol::Sctp => quote!(Sctp),
    };
    quote!(__zero_trust::Protocol::#variant)
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
