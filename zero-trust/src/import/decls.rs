//! The shape of the imported code: which namespaces, workloads and CIDRs are declared,
//! under which identifiers, in which file, and the flows between them. Both the Rust code
//! ([`super::code`]) and the cluster the proof emits ([`super::cluster`]) are written from
//! this one description, so what is proven is what is written.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use zero_trust_rules::{PortRange, kubernetes_name_of};

use super::plan::{End, Plan, PodSelector, PortNameRef, Reason, Unsupported, merge};

#[derive(Clone, Debug)]
pub struct Declarations {
    /// Sorted by Kubernetes name.
    pub namespaces: Vec<NamespaceDecl>,
    pub cidrs: Vec<CidrDecl>,
    pub flows: Vec<FlowDecl>,
    /// Flows that compile to nothing the DSL accepts, with why.
    pub dropped: Vec<Unsupported>,
    /// The identifiers given so far.
    names: Names,
}

/// A workload given with the policies: its namespace, the labels that select it, and
/// the ports its containers declare.
#[derive(Clone, Debug)]
pub struct Listener {
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub ports: Vec<PortRange>,
}

#[derive(Clone, Debug)]
pub struct NamespaceDecl {
    /// Its Kubernetes name, or for namespaces selected by labels the plan's key for them.
    pub name: String,
    pub ident: String,
    pub managed: bool,
    /// `external namespaces`: the labels that select them.
    pub selector: Option<PodSelector>,
    pub workloads: Vec<WorkloadDecl>,
}

#[derive(Clone, Debug)]
pub struct WorkloadDecl {
    pub ident: String,
    pub selector: PodSelector,
    /// What flows to it use, merged.
    pub ports: Vec<PortRange>,
}

impl WorkloadDecl {
    /// How the DSL spells the selector: `None` for the default `app: <ident with ->`,
    /// `Some(Rename)` for `as "name"`, else the labels in brackets.
    pub fn spelling(&self) -> Spelling<'_> {
        if let [(key, value)] = self.selector.labels.iter().collect::<Vec<_>>()[..]
            && key == "app"
            && self.selector.expressions.is_empty()
        {
            if *value == kubernetes_name_of(&self.ident) {
                return Spelling::Default;
            }
            return Spelling::Renamed(value);
        }
        Spelling::Selector(&self.selector)
    }

    /// The Kubernetes name the DSL gives it, which its policies are named after.
    pub fn name(&self) -> String {
        match self.spelling() {
            Spelling::Renamed(name) => name.clone(),
            Spelling::Default | Spelling::Selector(_) => kubernetes_name_of(&self.ident),
        }
    }
}

pub enum Spelling<'a> {
    Default,
    Renamed(&'a String),
    Selector(&'a PodSelector),
}

#[derive(Clone, Debug)]
pub struct CidrDecl {
    pub ident: String,
    pub cidr: IpNet,
    pub except: Vec<IpNet>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EndRef {
    /// Namespace index, workload index.
    Workload(usize, usize),
    Namespace(usize),
    Cidr(usize),
    /// Every pod of every managed namespace (`*`).
    AllManaged,
}

#[derive(Clone, Debug)]
pub struct FlowDecl {
    pub from: EndRef,
    pub to: EndRef,
    pub ports: Vec<PortRange>,
    pub port_names: Vec<PortNameRef>,
    pub said_by: BTreeSet<String>,
    /// The reasons the policies it came from give.
    pub given: BTreeSet<Reason>,
}

/// Where a declaration lives: its managed namespace's file, or the shared file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileOf {
    Namespace(usize),
    Shared,
}

/// The file of the shared pieces: external namespaces, CIDRs and `*` flows.
pub const SHARED: &str = "shared";

impl Declarations {
    /// `listeners`: the workloads given with the policies, which say who listens where
    /// when a flow goes to a whole namespace.
    pub fn build(plan: &Plan, listeners: &[Listener]) -> Declarations {
        let mut names = Names::default();
        let mut namespace_names: BTreeSet<String> = plan.managed.clone();
        let mut workload_selectors: BTreeMap<String, BTreeSet<PodSelector>> = BTreeMap::new();
        let mut cidrs: BTreeSet<(IpNet, Vec<IpNet>)> = BTreeSet::new();
        for flow in &plan.flows {
            for end in [&flow.from, &flow.to] {
                match end {
                    End::Workload {
                        namespace,
                        selector,
                    } => {
                        namespace_names.insert(namespace.clone());
                        workload_selectors
                            .entry(namespace.clone())
                            .or_default()
                            .insert(selector.clone());
                    }
                    End::Namespace(namespace) => {
                        namespace_names.insert(namespace.clone());
                    }
                    End::Cidr { cidr, except } => {
                        cidrs.insert((*cidr, except.clone()));
                    }
                }
            }
        }
        let mut namespaces: Vec<NamespaceDecl> = namespace_names
            .iter()
            .map(|name| {
                let selector = plan.selected.get(name).cloned();
                let wanted = match &selector {
                    Some(selector) => selected_ident(selector),
                    None => identifier(name),
                };
                NamespaceDecl {
                    name: name.clone(),
                    ident: names.claim(&wanted, "ns"),
                    managed: plan.managed.contains(name),
                    selector,
                    workloads: Vec::new(),
                }
            })
            .collect();
        // Workloads of managed namespaces get the plain identifiers; the others yield.
        let mut by_claim: Vec<&mut NamespaceDecl> = namespaces.iter_mut().collect();
        by_claim.sort_by_key(|n| !n.managed);
        for namespace in by_claim {
            for selector in workload_selectors
                .remove(&namespace.name)
                .unwrap_or_default()
            {
                let ident = names.claim(&workload_ident(&selector), &namespace.ident);
                namespace.workloads.push(WorkloadDecl {
                    ident,
                    selector,
                    ports: Vec::new(),
                });
            }
        }
        let cidrs: Vec<CidrDecl> = cidrs
            .into_iter()
            .map(|(cidr, except)| CidrDecl {
                ident: names.claim(&cidr_ident(&cidr), "net"),
                cidr,
                except,
            })
            .collect();
        let mut declarations = Declarations {
            namespaces,
            cidrs,
            flows: Vec::new(),
            dropped: Vec::new(),
            names,
        };
        for flow in &plan.flows {
            let from = declarations.find(&flow.from);
            let to = declarations.find(&flow.to);
            if let EndRef::Workload(n, w) = to {
                let workload = &mut declarations.namespaces[n].workloads[w];
                workload.ports = merge(workload.ports.iter().chain(&flow.ports).copied());
            }
            declarations.flows.push(FlowDecl {
                from,
                to,
                ports: flow.ports.clone(),
                port_names: flow.port_names.iter().cloned().collect(),
                said_by: flow.said_by.clone(),
                given: flow.reasons.clone(),
            });
        }
        declarations.drop_unlistened_namespace_ports(listeners);
        declarations.gather_every_managed_namespace();
        declarations.drop_covered_flows();
        declarations
    }

    fn find(&self, end: &End) -> EndRef {
        let namespace = |name: &str| {
            self.namespaces
                .iter()
                .position(|n| n.name == name)
                .unwrap_or_default()
        };
        match end {
            End::Workload {
                namespace: n,
                selector,
            } => {
                let n = namespace(n);
                let w = self.namespaces[n]
                    .workloads
                    .iter()
                    .position(|w| &w.selector == selector)
                    .unwrap_or_default();
                EndRef::Workload(n, w)
            }
            End::Namespace(n) => EndRef::Namespace(namespace(n)),
            End::Cidr { cidr, except } => EndRef::Cidr(
                self.cidrs
                    .iter()
                    .position(|c| c.cidr == *cidr && &c.except == except)
                    .unwrap_or_default(),
            ),
        }
    }

    /// A flow to a whole namespace names ports that some workload of the namespace must
    /// declare (the DSL checks a managed namespace's ports against its workloads'). Where
    /// none does, the workloads given with the policies that listen there are declared;
    /// failing that, the flow cannot be written.
    fn drop_unlistened_namespace_ports(&mut self, listeners: &[Listener]) {
        let mut kept = Vec::new();
        for flow in std::mem::take(&mut self.flows) {
            if let EndRef::Namespace(n) = flow.to {
                let mut missing = self.unlistened(n, &flow.ports);
                if !missing.is_empty() {
                    self.declare_listeners(n, &missing, listeners);
                    missing = self.unlistened(n, &flow.ports);
                }
                if !missing.is_empty() {
                    let namespace = &self.namespaces[n];
                    let missing: Vec<String> = missing.iter().map(ToString::to_string).collect();
                    self.dropped.push(Unsupported {
                        policy: flow.said_by.iter().cloned().collect::<Vec<_>>().join(", "),
                        field: format!(
                            "the flow {} -> {}",
                            self.end_text(flow.from),
                            namespace.ident
                        ),
                        source: String::new(),
                        why: format!(
                            "it allows {} to every pod of namespace `{}`, and no workload of that namespace is known to listen there; give its workloads with --workloads, or declare the one that listens",
                            missing.join(", "),
                            namespace.name
                        ),
                    });
                    continue;
                }
            }
            kept.push(flow);
        }
        self.flows = kept;
    }

    /// The ports of `ports` that no workload of namespace `n` declares, where the DSL
    /// checks them (a managed namespace, or one whose workloads declare ports).
    fn unlistened(&self, n: usize, ports: &[PortRange]) -> Vec<PortRange> {
        let namespace = &self.namespaces[n];
        let declared: Vec<PortRange> = namespace
            .workloads
            .iter()
            .flat_map(|w| w.ports.iter().copied())
            .collect();
        if !zero_trust_rules::ports_are_checked(namespace.managed, &declared) {
            return Vec::new();
        }
        ports
            .iter()
            .filter(|port| !declared.iter().any(|d| d.covers(port)))
            .copied()
            .collect()
    }

    /// Declares, in namespace `n`, each given workload whose containers listen on one of
    /// `ports`, with those ports.
    fn declare_listeners(&mut self, n: usize, ports: &[PortRange], listeners: &[Listener]) {
        let name = self.namespaces[n].name.clone();
        for listener in listeners.iter().filter(|l| l.namespace == name) {
            let heard: Vec<PortRange> = ports
                .iter()
                .filter(|port| listener.ports.iter().any(|p| p.covers(port)))
                .copied()
                .collect();
            if heard.is_empty() {
                continue;
            }
            let namespace = &mut self.namespaces[n];
            match namespace
                .workloads
                .iter_mut()
                .find(|w| w.selector.labels == listener.labels && w.selector.expressions.is_empty())
            {
                Some(workload) => {
                    workload.ports = merge(workload.ports.iter().chain(&heard).copied());
                }
                None => {
                    let selector = PodSelector {
                        labels: listener.labels.clone(),
                        expressions: Vec::new(),
                    };
                    let ident = self
                        .names
                        .claim(&workload_ident(&selector), &namespace.ident);
                    namespace.workloads.push(WorkloadDecl {
                        ident,
                        selector,
                        ports: merge(heard),
                    });
                }
            }
        }
    }

    /// The same flow from every managed namespace as a whole is one `*` flow, as a person
    /// writes cluster DNS (`* -> kube_dns:53/udp, 53/tcp`).
    fn gather_every_managed_namespace(&mut self) {
        let managed: BTreeSet<usize> = (0..self.namespaces.len())
            .filter(|&n| self.namespaces[n].managed)
            .collect();
        if managed.len() < 2 {
            return;
        }
        type Ports = (Vec<PortRange>, Vec<PortNameRef>);
        let mut sources: BTreeMap<(EndRef, Ports), BTreeSet<usize>> = BTreeMap::new();
        for flow in &self.flows {
            if let EndRef::Namespace(n) = flow.from
                && managed.contains(&n)
            {
                let ports = (flow.ports.clone(), flow.port_names.clone());
                sources.entry((flow.to, ports)).or_default().insert(n);
            }
        }
        for ((to, (ports, port_names)), from) in sources {
            if from != managed {
                continue;
            }
            let mut said_by = BTreeSet::new();
            let mut given = BTreeSet::new();
            self.flows.retain(|flow| {
                let gathered = matches!(flow.from, EndRef::Namespace(_))
                    && flow.to == to
                    && flow.ports == ports
                    && flow.port_names == port_names;
                if gathered {
                    said_by.extend(flow.said_by.iter().cloned());
                    given.extend(flow.given.iter().cloned());
                }
                !gathered
            });
            self.flows.push(FlowDecl {
                from: EndRef::AllManaged,
                to,
                ports,
                port_names,
                said_by,
                given,
            });
        }
    }

    /// A flow of one workload that a flow of its whole namespace, or of `*`, already
    /// allows on the same ports and with the same other end says nothing more (the
    /// committed YAML repeats namespace-wide rules in each workload's policy, for rollout).
    fn drop_covered_flows(&mut self) {
        let wider = |end: EndRef| -> Vec<EndRef> {
            match end {
                EndRef::Workload(n, _) if self.namespaces[n].managed => {
                    vec![EndRef::Namespace(n), EndRef::AllManaged]
                }
                EndRef::Workload(n, _) => vec![EndRef::Namespace(n)],
                EndRef::Namespace(n) if self.namespaces[n].managed => vec![EndRef::AllManaged],
                _ => Vec::new(),
            }
        };
        let covers = |flow: &FlowDecl, from: EndRef, to: EndRef| {
            self.flows.iter().any(|other| {
                other.from == from
                    && other.to == to
                    && flow
                        .ports
                        .iter()
                        .all(|port| other.ports.iter().any(|p| p.covers(port)))
                    && flow
                        .port_names
                        .iter()
                        .all(|name| other.port_names.contains(name))
            })
        };
        let covered: Vec<bool> = self
            .flows
            .iter()
            .map(|flow| {
                wider(flow.from)
                    .into_iter()
                    .any(|from| covers(flow, from, flow.to))
                    || wider(flow.to)
                        .into_iter()
                        .any(|to| covers(flow, flow.from, to))
            })
            .collect();
        let mut index = 0;
        self.flows.retain(|_| {
            index += 1;
            !covered[index - 1]
        });
    }

    /// The lines of a flow's doc comment: the reasons that speak of it (a policy's own, or
    /// a zero-trust reason naming the flow's two ends), each line trimmed, blank ones and
    /// repeats left out.
    pub fn reason_lines(&self, flow: &FlowDecl) -> Vec<String> {
        let ends = (self.end_text(flow.from), self.end_text(flow.to));
        let mut seen = BTreeSet::new();
        flow.given
            .iter()
            .filter(|reason| {
                reason
                    .between
                    .as_ref()
                    .is_none_or(|between| *between == ends)
            })
            .flat_map(|reason| reason.text.lines())
            .map(|line| line.trim().to_owned())
            .filter(|line| !line.is_empty() && seen.insert(line.clone()))
            .collect()
    }

    /// The reason the macro reads from those lines: joined by spaces.
    pub fn reason(&self, flow: &FlowDecl) -> String {
        self.reason_lines(flow).join(" ")
    }

    /// The file a flow is written in: its source's namespace if managed, else its
    /// destination's; `*` flows in the shared file.
    pub fn file_of_flow(&self, flow: &FlowDecl) -> FileOf {
        let managed = |end: EndRef| match end {
            EndRef::Workload(n, _) | EndRef::Namespace(n) if self.namespaces[n].managed => {
                Some(FileOf::Namespace(n))
            }
            _ => None,
        };
        managed(flow.from)
            .or_else(|| managed(flow.to))
            .unwrap_or(FileOf::Shared)
    }

    /// The file an end is declared in.
    pub fn file_of_end(&self, end: EndRef) -> FileOf {
        match end {
            EndRef::Workload(n, _) | EndRef::Namespace(n) if self.namespaces[n].managed => {
                FileOf::Namespace(n)
            }
            _ => FileOf::Shared,
        }
    }

    /// The identifier of an end (`*` for every managed pod).
    pub fn end_text(&self, end: EndRef) -> String {
        match end {
            EndRef::Workload(n, w) => self.namespaces[n].workloads[w].ident.clone(),
            EndRef::Namespace(n) => self.namespaces[n].ident.clone(),
            EndRef::Cidr(c) => self.cidrs[c].ident.clone(),
            EndRef::AllManaged => "*".to_owned(),
        }
    }

    pub fn file_name(&self, file: &FileOf) -> String {
        match file {
            FileOf::Namespace(n) => self.namespaces[*n].ident.clone(),
            FileOf::Shared => SHARED.to_owned(),
        }
    }
}

/// Identifiers already given: every declared name is an item of its file, and imported
/// into others by `use`, so one name per thing across the whole import.
#[derive(Clone, Debug, Default)]
struct Names {
    taken: BTreeSet<String>,
}

impl Names {
    /// `wanted`, or `<prefix>_<wanted>`, or that with a number, whichever is free.
    fn claim(&mut self, wanted: &str, prefix: &str) -> String {
        let candidates = [wanted.to_owned(), format!("{prefix}_{wanted}")];
        let free = candidates
            .into_iter()
            .chain((2..).map(|i| format!("{prefix}_{wanted}_{i}")))
            .find(|c| !self.taken.contains(c) && !is_reserved(c))
            .unwrap_or_default();
        self.taken.insert(free.clone());
        free
    }
}

/// A Rust identifier for a Kubernetes name or label value: lowercase, `_` for anything
/// else, starting with a letter.
pub fn identifier(text: &str) -> String {
    let mut ident = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            ident.push(c);
        } else if !ident.ends_with('_') && !ident.is_empty() {
            ident.push('_');
        }
    }
    let ident = ident.trim_end_matches('_').to_owned();
    match ident.chars().next() {
        None => "unnamed".to_owned(),
        Some(first) if first.is_ascii_digit() => format!("n{ident}"),
        Some(_) => ident,
    }
}

/// Named after the label people name workloads by, else the first value, else the first
/// set-based requirement (`tier in (web, api)`: `tier_web_api`).
fn workload_ident(selector: &PodSelector) -> String {
    let labels = &selector.labels;
    const NAMING: [&str; 5] = [
        "app.kubernetes.io/name",
        "app",
        "k8s-app",
        "name",
        "app.kubernetes.io/component",
    ];
    let value = NAMING
        .iter()
        .find_map(|key| labels.get(*key))
        .or_else(|| labels.values().next());
    if let Some(value) = value {
        return identifier(value);
    }
    match selector.expressions.first() {
        Some((key, _, values)) => identifier(&format!("{key} {}", values.join(" "))),
        None => "workload".to_owned(),
    }
}

/// Namespaces selected by labels are named after the selector, as workloads are:
/// `payments_namespaces` for `team: payments`, `every_namespace` for `{}`.
fn selected_ident(selector: &PodSelector) -> String {
    if selector.labels.is_empty() && selector.expressions.is_empty() {
        return "every_namespace".to_owned();
    }
    format!("{}_namespaces", workload_ident(selector))
}

fn cidr_ident(cidr: &IpNet) -> String {
    match cidr {
        IpNet::V4(net) if net.prefix_len() == 0 => "internet".to_owned(),
        IpNet::V6(net) if net.prefix_len() == 0 => "internet_v6".to_owned(),
        _ => identifier(&format!("net {cidr}")),
    }
}

/// Words an identifier cannot be: Rust's keywords, the DSL's, and the macro's own items.
fn is_reserved(ident: &str) -> bool {
    const WORDS: &[&str] = &[
        "as",
        "async",
        "await",
        "box",
        "break",
        "const",
        "continue",
        "crate",
        "do",
        "dyn",
        "else",
        "enum",
        "extern",
        "false",
        "final",
        "fn",
        "for",
        "gen",
        "if",
        "impl",
        "in",
        "let",
        "loop",
        "macro",
        "match",
        "mod",
        "move",
        "mut",
        "override",
        "priv",
        "pub",
        "ref",
        "return",
        "self",
        "static",
        "struct",
        "super",
        "trait",
        "true",
        "try",
        "type",
        "typeof",
        "union",
        "unsafe",
        "unsized",
        "use",
        "virtual",
        "where",
        "while",
        "yield",
        "namespace",
        "namespaces",
        "external",
        "cidr",
        "except",
        "any",
        "all_pods",
    ];
    WORDS.contains(&ident) || ident.starts_with("__zero_trust")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_rust_and_kubernetes_names() {
        assert_eq!(identifier("prod-api"), "prod_api");
        assert_eq!(identifier("Ingress.NGINX--v2"), "ingress_nginx_v2");
        assert_eq!(identifier("2fa"), "n2fa");
        assert_eq!(identifier("--"), "unnamed");
        let mut names = Names::default();
        assert_eq!(names.claim("web", "prod"), "web");
        assert_eq!(names.claim("web", "staging"), "staging_web");
        assert_eq!(names.claim("web", "staging"), "staging_web_2");
        assert_eq!(names.claim("type", "prod"), "prod_type");
    }
}
