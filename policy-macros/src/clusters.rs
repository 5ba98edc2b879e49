//! Declarations and flows limited to some clusters: the block's `clusters staging, prod;`
//! line and `#[clusters(prod)]` before a namespace, workload, cidr or flow — their syntax,
//! their rules, and the `clusters` and `limits` fields of `POLICY`.
//!
//! Why a line in the block rather than a check against the assembly's `CLUSTERS`: the
//! macro sees only its block, and a `const` check could not build a "did you mean"
//! message (a const panic takes no formatted text) nor say which flow leaves its ends'
//! clusters. With the names in the block, an unknown one is an error at its token with a
//! suggestion, and a flow reaching a declaration absent from one of its clusters is an
//! error at the flow. `cargo xtask emit` checks that the assembly declares every name of
//! every block's line.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, Token};

use crate::ast::{Input, Item};
use crate::checked::{Checked, CheckedEnd, CheckedFlow};
use crate::ctxt::{Errors, SpanRange};
use crate::resolve::{end_text, ident_text};
use crate::suggest::Suggester;

syn::custom_keyword!(clusters);

/// `#[clusters(staging, prod)]`: the item is in these clusters only.
pub struct ClustersAttr {
    pub span: SpanRange,
    pub names: Vec<Ident>,
}

/// `clusters staging, prod;`: the clusters this block's attributes may name.
pub struct ClustersDecl {
    pub keyword: Span,
    pub names: Vec<Ident>,
}

/// Whether the next item is a `clusters` line (and not a flow from a workload so named).
pub fn peek_decl(input: ParseStream) -> bool {
    input.peek(clusters) && input.peek2(Ident)
}

impl Parse for ClustersDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let keyword = input.parse::<clusters>()?.span;
        let mut names = vec![input.parse::<Ident>()?];
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            names.push(input.parse()?);
        }
        if !input.is_empty() {
            input.parse::<Token![;]>().map_err(|error| {
                syn::Error::new(
                    error.span(),
                    "expected `;` or `,` and another cluster, as in `clusters staging, prod;`",
                )
            })?;
        }
        Ok(ClustersDecl { keyword, names })
    }
}

/// The attribute as `#[clusters(...)]`, if it is one (its name is `clusters`).
pub fn from_attribute(attribute: &syn::Attribute) -> Option<syn::Result<ClustersAttr>> {
    if !attribute.path().is_ident("clusters") {
        return None;
    }
    let span = SpanRange {
        first: attribute.pound_token.span,
        last: attribute.bracket_token.span.close(),
    };
    let names = attribute
        .parse_args_with(Punctuated::<Ident, Token![,]>::parse_terminated)
        .map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected the clusters in parentheses, as in `#[clusters(staging, prod)]`",
            )
        });
    Some(names.and_then(|names| {
        if names.is_empty() {
            return Err(span.error(
                "`#[clusters()]` names no cluster; name at least one, as in `#[clusters(prod)]`",
            ));
        }
        Ok(ClustersAttr {
            span,
            names: names.into_iter().collect(),
        })
    }))
}

/// The clusters each declaration of a block is in, by the text of its identifier.
pub struct BlockClusters {
    /// The `clusters` line's names; empty without one.
    pub declared: Vec<String>,
    /// Declarations limited by an attribute (a workload also by its namespace's).
    pub limited: BTreeMap<String, BTreeSet<String>>,
}

/// The rules of cluster limits; returns what the expansion needs.
pub fn check(input: &Input, flows: &[CheckedFlow], errors: &mut Errors) -> BlockClusters {
    let declared = clusters_are_declared_once(input, errors);
    let mut suggester = Suggester::new(declared.iter());
    let mut limited = BTreeMap::new();
    let mut limit =
        |ident: &Ident, attr: &Option<ClustersAttr>, within: Option<&BTreeSet<String>>| {
            let mut names = match attr {
                Some(attr) => names_are_declared(attr, &declared, &mut suggester, errors),
                None => within.cloned().unwrap_or_default(),
            };
            if let (Some(_), Some(within)) = (attr, within) {
                names.retain(|name| within.contains(name));
            }
            if attr.is_some() || within.is_some() {
                limited.insert(ident_text(ident), names.clone());
            }
            names
        };
    for item in &input.items {
        match item {
            Item::Namespace(namespace) => {
                let names = limit(&namespace.ident, &namespace.clusters, None);
                let within = namespace.clusters.as_ref().map(|_| &names);
                for workload in &namespace.workloads {
                    limit(&workload.ident, &workload.clusters, within);
                }
            }
            Item::Cidr(cidr) => {
                limit(&cidr.ident, &cidr.clusters, None);
            }
            _ => {}
        }
    }
    for flow in flows {
        if let Some(attr) = &flow.decl.clusters {
            names_are_declared(attr, &declared, &mut suggester, errors);
        }
    }
    let block = BlockClusters { declared, limited };
    flows_stay_where_their_ends_are(flows, &block, errors);
    block
}

/// Rule: a block has at most one `clusters` line, naming each cluster once.
fn clusters_are_declared_once(input: &Input, errors: &mut Errors) -> Vec<String> {
    let mut declared: Vec<String> = Vec::new();
    let mut lines = input.items.iter().filter_map(|item| match item {
        Item::Clusters(decl) => Some(decl),
        _ => None,
    });
    if let Some(line) = lines.next() {
        for name in &line.names {
            let text = ident_text(name);
            if declared.contains(&text) {
                errors.push(
                    name.span(),
                    format!("cluster `{text}` is listed twice; list it once"),
                );
            } else {
                declared.push(text);
            }
        }
    }
    for again in lines {
        errors.push(
            again.keyword,
            "the block's clusters are already listed; list them all on one `clusters` line",
        );
    }
    declared
}

/// Rule: an attribute names only clusters of the block's `clusters` line.
fn names_are_declared<'n, I: Iterator<Item = &'n String>>(
    attr: &ClustersAttr,
    declared: &[String],
    suggester: &mut Suggester<'n, I>,
    errors: &mut Errors,
) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for name in &attr.names {
        let text = ident_text(name);
        if declared.contains(&text) {
            names.insert(text);
        } else if declared.is_empty() {
            errors.push(
                name.span(),
                format!("cluster `{text}` is not declared; list the clusters this block's attributes may name first, as in `clusters staging, {text};`"),
            );
        } else if let Some(close) = suggester.closest(&text) {
            errors.push(
                name.span(),
                format!("cluster `{text}` is not declared; did you mean `{close}`?"),
            );
        } else {
            errors.push(
                name.span(),
                format!(
                    "cluster `{text}` is not declared; the block's clusters are {}",
                    declared
                        .iter()
                        .map(|d| format!("`{d}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
    names
}

/// Rule: in every cluster a flow is in, each end declared in this block is there too. (An
/// end of another file is checked at `cargo xtask emit`, cluster by cluster.)
fn flows_stay_where_their_ends_are(
    flows: &[CheckedFlow],
    block: &BlockClusters,
    errors: &mut Errors,
) {
    if block.declared.is_empty() {
        return;
    }
    let all: BTreeSet<String> = block.declared.iter().cloned().collect();
    for flow in flows {
        let flow_clusters = match &flow.decl.clusters {
            Some(attr) => attr
                .names
                .iter()
                .map(ident_text)
                .filter(|n| all.contains(n))
                .collect(),
            None => all.clone(),
        };
        for end in [&flow.to, &flow.from] {
            let CheckedEnd::Local(ident, _) = end else {
                continue;
            };
            let Some(end_clusters) = block.limited.get(&ident_text(ident)) else {
                continue;
            };
            let missing: Vec<&String> = flow_clusters.difference(end_clusters).collect();
            if let Some(first) = missing.first() {
                let keep: Vec<&String> = flow_clusters.intersection(end_clusters).collect();
                let fix = if keep.is_empty() {
                    format!(
                        "declare `{}` in its clusters, or remove the flow",
                        ident_text(ident)
                    )
                } else {
                    let names: Vec<&str> = keep.iter().map(|s| s.as_str()).collect();
                    format!("limit the flow with `#[clusters({})]`", names.join(", "))
                };
                errors.push(
                    flow.decl.ends_span(),
                    format!(
                        "the flow `{} -> {}` is in cluster `{first}`, where `{}` is not declared; {fix}",
                        end_text(&flow.decl.from),
                        end_text(&flow.decl.to),
                        ident_text(ident),
                    ),
                );
                break;
            }
        }
    }
}

/// The `clusters` and `limits` fields of `POLICY`.
pub fn policy_fields(checked: &Checked) -> TokenStream {
    let block = &checked.clusters;
    let declared = &block.declared;
    let mut limits = Vec::new();
    let clusters = |names: &BTreeSet<String>| {
        let names = names.iter();
        quote!(&[#(#names),*])
    };
    for namespace in &checked.namespaces {
        if let Some(names) = block.limited.get(&ident_text(namespace.ident)) {
            let (ident, names) = (namespace.ident, clusters(names));
            limits.push(quote!(::zero_trust::__private::ClusterLimit {
                item: ::zero_trust::__private::Limited::Namespace(&#ident), clusters: #names,
            }));
        }
        for workload in &namespace.workloads {
            if let Some(names) = block.limited.get(&ident_text(workload.ident)) {
                let (ident, names) = (workload.ident, clusters(names));
                limits.push(quote!(::zero_trust::__private::ClusterLimit {
                    item: ::zero_trust::__private::Limited::Workload(&#ident), clusters: #names,
                }));
            }
        }
    }
    for cidr in &checked.cidrs {
        if let Some(names) = block.limited.get(&ident_text(cidr.ident)) {
            let (ident, names) = (cidr.ident, clusters(names));
            limits.push(quote!(::zero_trust::__private::ClusterLimit {
                item: ::zero_trust::__private::Limited::Cidr(&#ident), clusters: #names,
            }));
        }
    }
    for (index, flow) in checked.flows.iter().enumerate() {
        if let Some(attr) = &flow.decl.clusters {
            let names = clusters(&attr.names.iter().map(ident_text).collect());
            limits.push(quote!(::zero_trust::__private::ClusterLimit {
                item: ::zero_trust::__private::Limited::Flow(#index), clusters: #names,
            }));
        }
    }
    quote!(clusters: &[#(#declared),*], limits: &[#(#limits),*],)
}
