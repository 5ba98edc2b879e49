//! Parsing a `zero_trust!` block. Syntax errors stop at the first, at its token, saying
//! what was expected there.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Ident, LitInt, LitStr, Path, Token, braced, bracketed};

use crate::ast::{
    BlockDecl, CidrDecl, EndpointRef, FlowDecl, Input, Item, LabelDecl, LabelMatch, Labels,
    NamespaceDecl, PortDecl, PortNumber, WorkloadDecl,
};

mod kw {
    syn::custom_keyword!(namespace);
    syn::custom_keyword!(namespaces);
    syn::custom_keyword!(external);
    syn::custom_keyword!(cidr);
    syn::custom_keyword!(except);
    syn::custom_keyword!(any);
    syn::custom_keyword!(not);
}

/// Parses a whole block. syn reports a premature end of input at its scope, which for the
/// macro's tokens is the whole macro call; wrapped in a group spanned at the last token,
/// the end of input is that token instead.
pub fn parse_input(input: TokenStream) -> syn::Result<Input> {
    let Some(last) = input
        .clone()
        .into_iter()
        .last()
        .map(|tree| last_span(&tree))
    else {
        return syn::parse2(input);
    };
    let mut group = Group::new(Delimiter::Brace, input);
    group.set_span(last);
    let parse = |outer: ParseStream| {
        let content;
        braced!(content in outer);
        content.parse::<Input>()
    };
    parse.parse2(TokenTree::Group(group).into())
}

/// The span of a token's end: a group's closing delimiter, so that an error after a
/// `{ ... }` points at `}` rather than the whole block.
fn last_span(tree: &TokenTree) -> Span {
    match tree {
        TokenTree::Group(group) => group.span_close(),
        other => other.span(),
    }
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut items = Vec::new();
        let mut syntax_errors: Option<syn::Error> = None;
        let mut declaration_failed = false;
        while !input.is_empty() {
            let start = input.cursor();
            let declares = starts_declaration(input);
            match input.parse() {
                Ok(item) => items.push(item),
                Err(error) => {
                    declaration_failed |= declares;
                    match &mut syntax_errors {
                        Some(errors) => errors.combine(error),
                        None => syntax_errors = Some(error),
                    }
                    skip_to_next_item(input, input.cursor() != start)?;
                }
            }
        }
        Ok(Input {
            items,
            syntax_errors,
            declaration_failed,
        })
    }
}

/// Parses the inside of a group with `parse`; on an error, consumes the rest of it first.
/// syn turns a group left half-read into "unexpected token, expected `}`", which would
/// replace the real error once the parser goes on after it.
fn drained_on_error<T>(
    content: ParseStream,
    parse: impl FnOnce(ParseStream) -> syn::Result<T>,
) -> syn::Result<T> {
    parse(content).inspect_err(|_| {
        let _ = content.step(|cursor| {
            let mut rest = *cursor;
            while let Some((_, next)) = rest.token_tree() {
                rest = next;
            }
            Ok(((), rest))
        });
    })
}

/// Whether the next item declares names (so that its failure hides them from the rest).
fn starts_declaration(input: ParseStream) -> bool {
    let is_flow_source = input.peek2(Token![->]) || input.peek2(Token![::]);
    (!is_flow_source
        && (input.peek(kw::namespace) || input.peek(kw::external) || input.peek(kw::cidr)))
        || input.peek(Token![use])
        || input.peek(Token![pub])
        || misspelled_keyword(input).is_some()
}

/// Two identifiers in a row never start a flow; when the first is close to a keyword that
/// starts an item (`extenal namespace`), that keyword.
fn misspelled_keyword(input: ParseStream) -> Option<&'static str> {
    if !(input.peek(Ident) && input.peek2(Ident)) {
        return None;
    }
    let word: Ident = input.fork().parse().ok()?;
    let keywords: Vec<String> = ITEM_KEYWORDS.iter().map(|k| (*k).to_owned()).collect();
    let closest = crate::suggest::Suggester::new(keywords.iter()).closest(&word.to_string())?;
    ITEM_KEYWORDS.iter().copied().find(|k| *k == closest)
}

/// After a syntax error: skips to just after the next `;` or `{ ... }` at the top level,
/// or to just before a keyword that starts an item, whichever comes first. Skips at least
/// one token when the failed item consumed none, so parsing always moves on.
fn skip_to_next_item(input: ParseStream, consumed: bool) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        let mut skipped = consumed;
        while let Some((tree, next)) = rest.token_tree() {
            match &tree {
                TokenTree::Ident(ident)
                    if skipped
                        && ["namespace", "external", "cidr", "use"]
                            .contains(&ident.to_string().as_str()) =>
                {
                    return Ok(((), rest));
                }
                TokenTree::Punct(punct) if punct.as_char() == ';' => return Ok(((), next)),
                TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => {
                    return Ok(((), next));
                }
                _ => {}
            }
            skipped = true;
            rest = next;
        }
        Ok(((), rest))
    })
}

/// The keywords that start an item, for "did you mean" on a misspelled one.
const ITEM_KEYWORDS: [&str; 3] = ["namespace", "external", "cidr"];

/// The doc comments (`/// why`, which reach the macro as `#[doc = "..."]`) and the
/// `#[clusters(...)]` before an item or workload; any other attribute is an error.
fn parse_attributes(
    input: ParseStream,
) -> syn::Result<(Vec<LitStr>, Option<crate::clusters::ClustersAttr>)> {
    let mut docs = Vec::new();
    let mut clusters = None;
    for attribute in input.call(syn::Attribute::parse_outer)? {
        if let Some(limit) = crate::clusters::from_attribute(&attribute) {
            let limit = limit?;
            if clusters.is_some() {
                return Err(limit
                    .span
                    .error("`#[clusters(...)]` is given twice; list all the clusters in one"));
            }
            clusters = Some(limit);
            continue;
        }
        let doc = match &attribute.meta {
            syn::Meta::NameValue(meta) if meta.path.is_ident("doc") => match &meta.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(text),
                    ..
                }) => Some(text.clone()),
                _ => None,
            },
            _ => None,
        };
        match doc {
            Some(doc) => docs.push(doc),
            None => {
                return Err(syn::Error::new_spanned(
                    attribute,
                    "only doc comments (`/// why`) and `#[clusters(...)]` may stand before a flow or declaration",
                ));
            }
        }
    }
    Ok((docs, clusters))
}

impl Parse for Item {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let (docs, clusters) = parse_attributes(input)?;
        if crate::clusters::peek_decl(input) {
            if let Some(attr) = clusters {
                return Err(attr.span.error(
                    "`#[clusters(...)]` limits a namespace, workload, cidr or flow to some clusters, not the `clusters` line",
                ));
            }
            return input.parse().map(Item::Clusters);
        }
        let mut item = parse_item(input)?;
        match &mut item {
            Item::Namespace(decl) => (decl.docs, decl.clusters) = (docs, clusters),
            Item::Cidr(decl) => (decl.docs, decl.clusters) = (docs, clusters),
            Item::Flow(decl) => (decl.docs, decl.clusters) = (docs, clusters),
            Item::Use(decl) => {
                if let Some(attr) = clusters {
                    return Err(attr.span.error(
                        "`#[clusters(...)]` limits a namespace, workload, cidr or flow to some clusters, not a `use`",
                    ));
                }
                decl.attrs
                    .extend(docs.into_iter().map(|doc| syn::parse_quote!(#[doc = #doc])));
            }
            Item::Clusters(_) => {}
        }
        Ok(item)
    }
}

fn parse_item(input: ParseStream) -> syn::Result<Item> {
    // `namespace`, `external` and `cidr` start a declaration unless they are the source
    // of a flow (followed by `->` or `::`), so a workload may still be called `cidr`.
    let is_flow_source = input.peek2(Token![->]) || input.peek2(Token![::]);
    if input.peek(kw::external) && !is_flow_source {
        let external: kw::external = input.parse()?;
        if input.peek(kw::namespaces) {
            return parse_selected_namespaces(input, external.span).map(Item::Namespace);
        }
        if !input.peek(kw::namespace) {
            return Err(input.error("expected `namespace` or `namespaces` after `external`, as in `external namespace kube_system { ... }` or `external namespaces payments [\"team\" = \"payments\"] { ... }`"));
        }
        return parse_namespace(input, Some(external.span)).map(Item::Namespace);
    }
    if input.peek(kw::namespaces) && input.peek2(Ident) {
        let keyword: kw::namespaces = input.parse()?;
        return Err(syn::Error::new(
            keyword.span,
            "namespaces selected by labels are never written to, since which namespaces match can change; write `external namespaces`",
        ));
    }
    if input.peek(kw::namespace) && !is_flow_source {
        return parse_namespace(input, None).map(Item::Namespace);
    }
    if input.peek(kw::cidr) && !is_flow_source {
        return input.parse().map(Item::Cidr);
    }
    if input.peek(Token![use]) || (input.peek(Token![pub]) && input.peek2(Token![use])) {
        return input.parse().map(Item::Use);
    }
    if let Some(keyword) = misspelled_keyword(input) {
        let word: Ident = input.parse()?;
        return Err(syn::Error::new(
            word.span(),
            format!("unknown keyword `{word}`; did you mean `{keyword}`?"),
        ));
    }
    if input.peek(Ident)
        || input.peek(Token![*])
        || input.peek(Token![::])
        || input.peek(Token![crate])
        || input.peek(Token![super])
        || input.peek(Token![self])
    {
        return input.parse().map(Item::Flow);
    }
    Err(input.error(
            "expected `namespace`, `external namespace`, `cidr`, `use` or a flow like `main_api -> auth_service:8080;`",
        ))
}

fn parse_namespace(
    input: ParseStream,
    external: Option<proc_macro2::Span>,
) -> syn::Result<NamespaceDecl> {
    input.parse::<kw::namespace>()?;
    let ident: Ident = input.parse().map_err(|error| {
        syn::Error::new(
            error.span(),
            "expected the namespace's identifier, as in `namespace prod_api { ... }`; give its Kubernetes name with `as \"...\"` after it",
        )
    })?;
    let rename = parse_rename(input)?;
    let workloads = parse_workloads(input)?;
    Ok(NamespaceDecl {
        docs: Vec::new(),
        external,
        ident,
        rename,
        selector: None,
        workloads,
        clusters: None,
    })
}

/// `namespaces payments ["team" = "payments"] { workload; ... }`, after `external`.
fn parse_selected_namespaces(
    input: ParseStream,
    external: proc_macro2::Span,
) -> syn::Result<NamespaceDecl> {
    input.parse::<kw::namespaces>()?;
    let ident: Ident = input.parse().map_err(|error| {
        syn::Error::new(
            error.span(),
            "expected an identifier for the namespaces, as in `external namespaces payments [\"team\" = \"payments\"] { ... }`",
        )
    })?;
    if !input.peek(syn::token::Bracket) {
        return Err(input.error(
            "expected the namespaces' label selector, as in `[\"team\" = \"payments\"]`; `[]` selects every namespace",
        ));
    }
    let selector = parse_labels(input)?;
    let workloads = parse_workloads(input)?;
    Ok(NamespaceDecl {
        docs: Vec::new(),
        external: Some(external),
        ident,
        rename: None,
        selector: Some(selector),
        workloads,
        clusters: None,
    })
}

/// `{ workload; ... }`
fn parse_workloads(input: ParseStream) -> syn::Result<Vec<WorkloadDecl>> {
    let body;
    braced!(body in input);
    drained_on_error(&body, |body| {
        let mut workloads = Vec::new();
        while !body.is_empty() {
            workloads.push(body.parse()?);
            if body.is_empty() {
                break;
            }
            body.parse::<Token![;]>().map_err(|error| {
                syn::Error::new(
                    error.span(),
                    "expected `;` between workloads, as in `{ api: 80; worker: 9000 }`",
                )
            })?;
        }
        Ok(workloads)
    })
}

/// `["key" = "value", "key" in [...], ...]`
fn parse_labels(input: ParseStream) -> syn::Result<Labels> {
    let content;
    let bracket = bracketed!(content in input);
    let labels = drained_on_error(&content, |content| {
        Punctuated::<LabelDecl, Token![,]>::parse_terminated(content)
    })?;
    Ok(Labels {
        bracket: bracket.span.join(),
        labels: labels.into_iter().collect(),
    })
}

/// `as "kubernetes-name"`, where the identifier does not map to the name.
fn parse_rename(input: ParseStream) -> syn::Result<Option<LitStr>> {
    if input.peek(Token![as]) {
        input.parse::<Token![as]>()?;
        return Ok(Some(input.parse()?));
    }
    Ok(None)
}

impl Parse for WorkloadDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let (docs, clusters) = parse_attributes(input)?;
        let ident: Ident = input.parse()?;
        let rename = parse_rename(input)?;
        let labels = match input.peek(syn::token::Bracket) {
            true => Some(parse_labels(input)?),
            false => None,
        };
        let ports = if input.peek(Token![:]) && !input.peek(Token![::]) {
            input.parse::<Token![:]>()?;
            parse_ports(input, PortsOf::Workload)?
        } else {
            Vec::new()
        };
        if !input.is_empty() && !input.peek(Token![;]) {
            return Err(input.error(
                "expected `[labels]`, `: ports` or `;` after the workload, as in `main_api: 3000`",
            ));
        }
        Ok(WorkloadDecl {
            docs,
            ident,
            rename,
            labels,
            ports,
            clusters,
        })
    }
}

impl Parse for LabelDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let not_exists: Option<Token![!]> = input.parse()?;
        let key = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected a label as `\"key\" = \"value\"`, `\"key\" in [\"a\", \"b\"]`, `\"key\" not in [...]`, `\"key\"` or `!\"key\"`",
            )
        })?;
        let matching = if let Some(bang) = not_exists {
            LabelMatch::DoesNotExist(bang)
        } else if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            LabelMatch::Equals(input.parse()?)
        } else if input.peek(Token![in]) || (input.peek(kw::not) && input.peek2(Token![in])) {
            let not = match input.peek(kw::not) {
                true => Some(input.call(Ident::parse_any)?),
                false => None,
            };
            input.parse::<Token![in]>()?;
            let content;
            let bracket = bracketed!(content in input);
            let values = drained_on_error(&content, |content| {
                Punctuated::<LitStr, Token![,]>::parse_terminated(content)
            })?;
            LabelMatch::In {
                not,
                bracket: bracket.span.join(),
                values: values.into_iter().collect(),
            }
        } else if input.is_empty() || input.peek(Token![,]) {
            LabelMatch::Exists
        } else {
            return Err(input.error(
                "expected `= \"value\"`, `in [\"a\", \"b\"]`, `not in [...]` or `,` after the label key",
            ));
        };
        Ok(LabelDecl { key, matching })
    }
}

/// One or more ports separated by `,`.
fn parse_ports(input: ParseStream, of: PortsOf) -> syn::Result<Vec<PortDecl>> {
    let mut ports = vec![parse_port(input, of)?];
    while input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
        ports.push(parse_port(input, of)?);
    }
    Ok(ports)
}

/// Where a list of ports is written: a name means something else in each.
#[derive(Clone, Copy, PartialEq)]
enum PortsOf {
    /// `http = 8080` names a port.
    Workload,
    /// `http` uses a name.
    Flow,
}

fn parse_port(input: ParseStream, of: PortsOf) -> syn::Result<PortDecl> {
    let mut name = None;
    if of == PortsOf::Workload && input.peek(Ident) && input.peek2(Token![=]) {
        name = Some(input.call(Ident::parse_any)?);
        input.parse::<Token![=]>()?;
    }
    let number = if input.peek(kw::any) {
        PortNumber::Any(input.call(Ident::parse_any)?)
    } else if of == PortsOf::Flow && input.peek(Ident) {
        PortNumber::Named(input.parse()?)
    } else {
        parse_port_range(input)?
    };
    let protocol = if input.peek(Token![/]) {
        input.parse::<Token![/]>()?;
        Some(input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected a protocol after `/`: `tcp`, `udp` or `sctp`",
            )
        })?)
    } else {
        None
    };
    Ok(PortDecl {
        name,
        number,
        protocol,
    })
}

/// `8080` or `30000..=32767`.
fn parse_port_range(input: ParseStream) -> syn::Result<PortNumber> {
    if input.peek(Ident) {
        return Err(input.error(
            "expected a port number or `any`; end the line with `;` before the next workload or flow",
        ));
    }
    let first: LitInt = input.parse().map_err(|error| {
        syn::Error::new(
            error.span(),
            "expected a port number like `8080`, `53/udp`, `30000..=32767` or `any`",
        )
    })?;
    let last = if input.peek(Token![..=]) {
        input.parse::<Token![..=]>()?;
        Some(input.parse()?)
    } else if input.peek(Token![..]) {
        return Err(input.error("port ranges are inclusive; write `first..=last`"));
    } else {
        None
    };
    Ok(PortNumber::Range { first, last })
}

impl Parse for CidrDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        input.parse::<kw::cidr>()?;
        let ident = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected the cidr's identifier, as in `cidr office = \"203.0.113.0/24\";`",
            )
        })?;
        input.parse::<Token![=]>()?;
        let mut blocks = vec![parse_block(input)?];
        // `; "::/0"`: another block of the same name.
        while input.peek(Token![;]) && input.peek2(LitStr) {
            input.parse::<Token![;]>()?;
            blocks.push(parse_block(input)?);
        }
        parse_end_of_line(input)?;
        Ok(CidrDecl {
            docs: Vec::new(),
            ident,
            blocks,
            clusters: None,
        })
    }
}

/// `"0.0.0.0/0" [except "10.0.0.0/8", ...]`
fn parse_block(input: ParseStream) -> syn::Result<BlockDecl> {
    let cidr = input.parse().map_err(|error| {
        syn::Error::new(
            error.span(),
            "expected the CIDR as a string, like `\"10.0.0.0/8\"`",
        )
    })?;
    let mut except = Vec::new();
    if input.peek(kw::except) {
        input.parse::<kw::except>()?;
        except.push(input.parse()?);
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            except.push(input.parse()?);
        }
    }
    Ok(BlockDecl { cidr, except })
}

impl Parse for FlowDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let from = input.parse()?;
        let arrow = input.parse().map_err(|error| {
            syn::Error::new(error.span(), "expected `->` between the two ends of a flow, as in `main_api -> auth_service:8080`")
        })?;
        let to = input.parse()?;
        if !input.peek(Token![:]) || input.peek(Token![::]) {
            return Err(input.error(
                "expected `:` and the ports the flow may reach, as in `main_api -> auth_service:8080`",
            ));
        }
        input.parse::<Token![:]>()?;
        let ports = parse_ports(input, PortsOf::Flow)?;
        parse_end_of_line(input)?;
        Ok(FlowDecl {
            docs: Vec::new(),
            from,
            arrow,
            to,
            ports,
            clusters: None,
        })
    }
}

impl Parse for EndpointRef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Token![*]) {
            return input.parse().map(EndpointRef::AllManaged);
        }
        Path::parse_mod_style(input)
            .map(EndpointRef::Path)
            .map_err(|error| {
                syn::Error::new(
                    error.span(),
                    "expected a workload, namespace or cidr name, a path to one, or `*`",
                )
            })
    }
}

/// A declaration or flow ends with `;`, which the last one may leave out.
fn parse_end_of_line(input: ParseStream) -> syn::Result<()> {
    if input.is_empty() {
        return Ok(());
    }
    input.parse::<Token![;]>().map(drop).map_err(|error| {
        syn::Error::new(
            error.span(),
            "expected `;` at the end of the line, or `,` and another port",
        )
    })
}
