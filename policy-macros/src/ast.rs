//! The syntax tree of a `zero_trust!` block, keeping every spanned token so that later
//! errors point at the exact place.

use proc_macro2::Span;

use crate::clusters::{ClustersAttr, ClustersDecl};
use crate::ctxt::SpanRange;
use syn::{Ident, LitInt, LitStr, Path, Token};

pub struct Input {
    pub items: Vec<Item>,
    /// Every syntax error, one per item that failed to parse; the parser goes on at the
    /// next item, so the block's other mistakes are reported too.
    pub syntax_errors: Option<syn::Error>,
    /// An item that would have declared names (a namespace, a cidr, a `use`) failed to
    /// parse, so "not declared" errors about the rest would only echo it.
    pub declaration_failed: bool,
}

pub enum Item {
    Namespace(NamespaceDecl),
    Cidr(CidrDecl),
    Use(syn::ItemUse),
    Flow(FlowDecl),
    /// `clusters staging, prod;`
    Clusters(ClustersDecl),
}

/// `[external] namespace prod_api [as "prod-api"] { workload; ... }`, or
/// `external namespaces payments ["team" = "payments"] { workload; ... }`.
pub struct NamespaceDecl {
    /// The doc comments (`/// why`) before it.
    pub docs: Vec<LitStr>,
    pub external: Option<Span>,
    pub ident: Ident,
    pub rename: Option<LitStr>,
    /// `Some` for `namespaces`: every namespace these labels select.
    pub selector: Option<Labels>,
    pub workloads: Vec<WorkloadDecl>,
    pub clusters: Option<ClustersAttr>,
}

/// `main_api [as "main-api"] [["app" = "main-api", ...]] [: 3000, 53/udp]`
pub struct WorkloadDecl {
    pub docs: Vec<LitStr>,
    pub ident: Ident,
    pub rename: Option<LitStr>,
    /// `None` when the selector defaults to `app: <name>`.
    pub labels: Option<Labels>,
    pub ports: Vec<PortDecl>,
    pub clusters: Option<ClustersAttr>,
}

pub struct Labels {
    pub bracket: Span,
    pub labels: Vec<LabelDecl>,
}

/// One requirement of a workload's selector.
pub struct LabelDecl {
    pub key: LitStr,
    pub matching: LabelMatch,
}

pub enum LabelMatch {
    /// `"app" = "web"` (`matchLabels`).
    Equals(LitStr),
    /// `"tier" in ["web", "api"]`, or with `not` before `in`.
    In {
        not: Option<Ident>,
        bracket: Span,
        values: Vec<LitStr>,
    },
    /// `"canary"`: the pod has the label, with any value.
    Exists,
    /// `!"legacy"`: the pod does not have the label.
    DoesNotExist(Token![!]),
}

/// `8080`, `53/udp`, `30000..=32767/tcp`, `any`, `any/tcp`; in a workload's declaration
/// also `http = 8080`, in a flow `http`.
pub struct PortDecl {
    /// `http` of `http = 8080`.
    pub name: Option<Ident>,
    pub number: PortNumber,
    pub protocol: Option<Ident>,
}

pub enum PortNumber {
    /// `8080` or `30000..=32767`.
    Range { first: LitInt, last: Option<LitInt> },
    /// `any`: every port, of every protocol unless one is written after it.
    Any(Ident),
    /// `http` in a flow: the port the target's declaration names so.
    Named(Ident),
}

/// `cidr public_internet = "0.0.0.0/0" [except "10.0.0.0/8", ...];`
pub struct CidrDecl {
    pub docs: Vec<LitStr>,
    pub ident: Ident,
    /// One or more, separated by `;`.
    pub blocks: Vec<BlockDecl>,
    pub clusters: Option<ClustersAttr>,
}

/// `"0.0.0.0/0" [except "10.0.0.0/8", ...]`
pub struct BlockDecl {
    pub cidr: LitStr,
    pub except: Vec<LitStr>,
}

/// `from -> to:ports;`
pub struct FlowDecl {
    /// Why the flow exists: kept in the model, FLOWS.md and the policies' annotations.
    pub docs: Vec<LitStr>,
    pub from: EndpointRef,
    pub arrow: Token![->],
    pub to: EndpointRef,
    pub ports: Vec<PortDecl>,
    pub clusters: Option<ClustersAttr>,
}

pub enum EndpointRef {
    /// `*`: every pod of every managed namespace.
    AllManaged(Token![*]),
    /// A name declared in this block, brought in by `use`, or a path to another block's.
    Path(Path),
}

impl PortDecl {
    /// The whole port as written, for errors about it.
    pub fn span(&self) -> SpanRange {
        let (first, last) = match &self.number {
            PortNumber::Range { first, last } => (
                first.span(),
                last.as_ref().map_or(first.span(), LitInt::span),
            ),
            PortNumber::Any(word) | PortNumber::Named(word) => (word.span(), word.span()),
        };
        SpanRange {
            first,
            last: self.protocol.as_ref().map_or(last, Ident::span),
        }
    }
}

impl EndpointRef {
    /// From the first token of the end to its last (`crate::auth::auth_service` whole).
    pub fn span_range(&self) -> SpanRange {
        match self {
            EndpointRef::AllManaged(star) => star.span.into(),
            EndpointRef::Path(path) => {
                let first = match (&path.leading_colon, path.segments.first()) {
                    (Some(colon), _) => colon.spans[0],
                    (None, Some(segment)) => segment.ident.span(),
                    (None, None) => syn::spanned::Spanned::span(path),
                };
                let last = path
                    .segments
                    .last()
                    .map_or(first, |segment| segment.ident.span());
                SpanRange { first, last }
            }
        }
    }
}

/// Doc comments as one line of text: each line trimmed, joined by spaces.
pub fn doc_text(docs: &[LitStr]) -> String {
    let lines: Vec<String> = docs.iter().map(|d| d.value().trim().to_owned()).collect();
    lines.join(" ").trim().to_owned()
}

impl FlowDecl {
    /// `from -> to`, from the first token of its source to the last of its destination.
    pub fn ends_span(&self) -> SpanRange {
        SpanRange {
            first: self.from.span_range().first,
            last: self.to.span_range().last,
        }
    }

    /// The two characters of `->`.
    pub fn arrow_span(&self) -> SpanRange {
        SpanRange {
            first: self.arrow.spans[0],
            last: self.arrow.spans[1],
        }
    }
}
