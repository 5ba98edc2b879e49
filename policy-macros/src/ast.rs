//! The syntax tree of a `zero_trust!` block, keeping every spanned token so that later
//! errors point at the exact place.

use proc_macro2::Span;
use syn::{Ident, LitInt, LitStr, Path, Token};

pub struct Input {
    pub items: Vec<Item>,
}

pub enum Item {
    Namespace(NamespaceDecl),
    Cidr(CidrDecl),
    Use(syn::ItemUse),
    Flow(FlowDecl),
}

/// `[external] namespace prod_api [as "prod-api"] { workload; ... }`
pub struct NamespaceDecl {
    pub external: Option<Span>,
    pub ident: Ident,
    pub rename: Option<LitStr>,
    pub workloads: Vec<WorkloadDecl>,
}

/// `main_api [as "main-api"] [["app" = "main-api", ...]] [: 3000, 53/udp]`
pub struct WorkloadDecl {
    pub ident: Ident,
    pub rename: Option<LitStr>,
    /// `None` when the selector defaults to `app: <name>`.
    pub labels: Option<Labels>,
    pub ports: Vec<PortDecl>,
}

pub struct Labels {
    pub bracket: Span,
    pub labels: Vec<LabelDecl>,
}

pub struct LabelDecl {
    pub key: LitStr,
    pub value: LitStr,
}

/// `8080`, `53/udp`, `30000..=32767/tcp`
pub struct PortDecl {
    pub first: LitInt,
    pub last: Option<LitInt>,
    pub protocol: Option<Ident>,
}

/// `cidr public_internet = "0.0.0.0/0" [except "10.0.0.0/8", ...];`
pub struct CidrDecl {
    pub ident: Ident,
    pub cidr: LitStr,
    pub except: Vec<LitStr>,
}

/// `from -> to:ports;`
pub struct FlowDecl {
    pub from: EndpointRef,
    pub arrow: Token![->],
    pub to: EndpointRef,
    pub ports: Vec<PortDecl>,
}

pub enum EndpointRef {
    /// `*`: every pod of every managed namespace.
    AllManaged(Token![*]),
    /// A name declared in this block, brought in by `use`, or a path to another block's.
    Path(Path),
}

impl PortDecl {
    /// The span of the whole port as written, for errors about it.
    pub fn span(&self) -> Span {
        let end = match (&self.protocol, &self.last) {
            (Some(protocol), _) => protocol.span(),
            (None, Some(last)) => last.span(),
            (None, None) => self.first.span(),
        };
        self.first
            .span()
            .join(end)
            .unwrap_or_else(|| self.first.span())
    }
}

impl EndpointRef {
    pub fn span(&self) -> Span {
        match self {
            EndpointRef::AllManaged(star) => star.span,
            EndpointRef::Path(path) => syn::spanned::Spanned::span(path),
        }
    }
}
