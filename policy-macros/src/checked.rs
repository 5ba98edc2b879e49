//! The checked model of a block: what the rules accepted, with the Kubernetes names and
//! ports worked out and each flow's ends resolved, ready to expand.

use syn::{Ident, Path};
use zero_trust_rules::PortRange;

use crate::ast::FlowDecl;
use crate::ctxt::SpanRange;

pub struct Checked<'a> {
    pub namespaces: Vec<CheckedNamespace<'a>>,
    pub cidrs: Vec<CheckedCidr<'a>>,
    pub uses: Vec<&'a syn::ItemUse>,
    pub flows: Vec<CheckedFlow<'a>>,
    /// Which declarations `#[clusters(...)]` limits, and the block's clusters.
    pub clusters: crate::clusters::BlockClusters,
}

pub struct CheckedNamespace<'a> {
    /// Its doc comment, kept as the doc of the generated item.
    pub docs: String,
    pub ident: &'a Ident,
    pub name: String,
    pub managed: bool,
    /// `external namespaces`: the `matchLabels` and `matchExpressions` of the namespaces.
    pub selector: Option<CheckedSelector>,
    pub workloads: Vec<CheckedWorkload<'a>>,
    /// Every port a workload of the namespace listens on.
    pub ports: Vec<PortRange>,
}

pub struct CheckedWorkload<'a> {
    /// Its doc comment, kept as the doc of the generated item.
    pub docs: String,
    pub ident: &'a Ident,
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub expressions: Vec<CheckedExpression>,
    /// `http = 8080`: names flows to it may use, resolved to the number at compile time.
    pub named_ports: Vec<(String, PortRange)>,
    pub ports: Vec<PortRange>,
}

pub struct CheckedCidr<'a> {
    /// Its doc comment, kept as the doc of the generated item.
    pub docs: String,
    pub ident: &'a Ident,
    /// Each block's CIDR and excepts.
    pub blocks: Vec<(String, Vec<String>)>,
}

pub struct CheckedFlow<'a> {
    pub decl: &'a FlowDecl,
    pub from: CheckedEnd<'a>,
    pub to: CheckedEnd<'a>,
    pub ports: Vec<(PortRange, SpanRange)>,
    /// Port names the target's pods resolve (`kube_dns:dns/udp`), with their protocol.
    pub names: Vec<(String, zero_trust_rules::Protocol)>,
}

pub enum CheckedEnd<'a> {
    AllManaged,
    /// Declared in this block; the macro has checked what it could.
    Local(&'a Ident, LocalKind),
    /// Declared elsewhere and named by a path or a `use`; rustc resolves it and the
    /// expansion checks ports and sides in `const` items.
    Foreign(&'a Path),
}

#[derive(Clone, Copy)]
pub enum LocalKind {
    Namespace,
    Workload,
    Cidr,
}

/// A label selector's `matchLabels` and `matchExpressions`.
pub struct CheckedSelector {
    pub labels: Vec<(String, String)>,
    pub expressions: Vec<CheckedExpression>,
}

/// A `matchExpressions` requirement; `operator` is the name of the API's operator and of
/// the model's `Operator` variant.
pub struct CheckedExpression {
    pub key: String,
    pub operator: &'static str,
    pub values: Vec<String>,
}
