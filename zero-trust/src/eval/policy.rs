//! One NetworkPolicy compiled to what it means: which pods it selects, which directions it
//! isolates, and per rule which peers and ports it allows. Each rule of the Kubernetes
//! semantics is written once here, citing `NetworkPolicySpec` and friends in
//! `k8s.io/api/networking/v1/types.go` and
//! <https://kubernetes.io/docs/concepts/services-networking/network-policies/>.

use std::fmt;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use zero_trust_rules::{FIRST_PORT, LAST_PORT, Protocol};

use super::addresses::IpBlock;
use super::ports::PortSet;
use super::selector::Selector;
use super::topology::{LoadedPolicy, NamedPort, Provenance, policy_namespace};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    Ingress,
    Egress,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        })
    }
}

/// A policy the evaluator cannot give a meaning to (the API server would refuse it too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    pub policy: String,
    pub source: Provenance,
    /// Field path, like `spec.ingress[0].ports[1].endPort`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: NetworkPolicy `{}`: {}: {}",
            self.source, self.policy, self.field, self.message
        )
    }
}

impl std::error::Error for CompileError {}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NamespaceScope {
    /// "If namespaceSelector is not set, ... selects the pods matching podSelector in the
    /// policy's own namespace" (`NetworkPolicyPeer.podSelector`, types.go).
    PolicyNamespace,
    /// "namespaceSelector ... if present but empty, it selects all namespaces".
    Selected(Selector),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    /// Pods matching `pods` in the namespaces of `namespaces`. With both selectors in one
    /// peer they are ANDed: "selects the pods matching podSelector in the Namespaces
    /// selected by NamespaceSelector"; a `namespaceSelector` alone selects every pod there
    /// (docs, "Behavior of to and from selectors").
    Pods {
        namespaces: NamespaceScope,
        pods: Selector,
    },
    /// In this model an ipBlock matches only addresses outside the cluster's pods, never a
    /// pod: the docs say ipBlock ranges "should be cluster-external IPs, since Pod IPs are
    /// ephemeral and unpredictable", and whether a CNI applies them to pod IPs is undefined.
    Block(IpBlock),
}

/// The peers of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peers {
    /// `from`/`to` absent or empty: "If this field is empty or missing, this rule matches
    /// all sources" (`NetworkPolicyIngressRule.from`; likewise `to` for destinations).
    All,
    Listed(Vec<Peer>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortMatch {
    /// A number or a range `port..=endPort` ("endPort indicates that the range of ports
    /// from port to endPort if set, inclusive, should be allowed").
    Numbers {
        protocol: Protocol,
        first: u16,
        last: u16,
    },
    /// A container port name, looked up on the destination pod: for ingress the selected
    /// pod, for egress the pod the traffic goes to. An address has no named ports, so a
    /// named port never matches traffic to an ipBlock.
    Named { protocol: Protocol, name: String },
    /// `port` absent: "If this field is not provided, this matches all port names and
    /// numbers" of the protocol.
    EveryPort { protocol: Protocol },
}

impl PortMatch {
    /// The ports this entry allows towards a destination with these named ports (`None`
    /// for an address).
    pub fn resolve(&self, destination: Option<&[NamedPort]>) -> PortSet {
        match self {
            PortMatch::Numbers {
                protocol,
                first,
                last,
            } => PortSet::range(*protocol, *first, *last),
            PortMatch::EveryPort { protocol } => PortSet::all_of(*protocol),
            PortMatch::Named { protocol, name } => PortSet::from_ranges(
                destination
                    .unwrap_or_default()
                    .iter()
                    .filter(|p| p.protocol == *protocol && p.name == *name)
                    .map(|p| zero_trust_rules::PortRange::single(p.protocol, p.port)),
            ),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ports {
    /// `ports` absent or empty: "If this field is empty or missing, this rule matches all
    /// ports (traffic not restricted by port)".
    All,
    Listed(Vec<PortMatch>),
}

impl Ports {
    pub fn resolve(&self, destination: Option<&[NamedPort]>) -> PortSet {
        match self {
            Ports::All => PortSet::all(),
            Ports::Listed(list) => list.iter().fold(PortSet::empty(), |acc, p| {
                acc.union(&p.resolve(destination))
            }),
        }
    }

    pub fn uses_names(&self) -> bool {
        matches!(self, Ports::Listed(list) if list.iter().any(|p| matches!(p, PortMatch::Named { .. })))
    }
}

/// One ingress or egress rule: traffic is allowed when the other end matches a peer AND
/// the port matches an entry ("traffic must match both the from/to and the ports").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub peers: Peers,
    pub ports: Ports,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompiledPolicy {
    pub namespace: String,
    pub name: String,
    /// "Selects the pods to which this NetworkPolicy object applies ... An empty selector
    /// selects all pods in this namespace" (`NetworkPolicySpec.podSelector`).
    pub pod_selector: Selector,
    pub affects_ingress: bool,
    pub affects_egress: bool,
    /// Rules of a direction the policy does not affect are ignored (they are kept empty):
    /// `policyTypes` decides which directions a policy speaks about.
    pub ingress: Vec<Rule>,
    pub egress: Vec<Rule>,
}

impl CompiledPolicy {
    pub fn affects(&self, direction: Direction) -> bool {
        match direction {
            Direction::Ingress => self.affects_ingress,
            Direction::Egress => self.affects_egress,
        }
    }

    pub fn rules(&self, direction: Direction) -> &[Rule] {
        match direction {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }
}

/// A rule as written: its peers (`from` or `to`) and its ports.
type RawRule<'p> = (
    Option<&'p [NetworkPolicyPeer]>,
    Option<&'p [NetworkPolicyPort]>,
);

pub fn compile(loaded: &LoadedPolicy) -> Result<CompiledPolicy, Vec<CompileError>> {
    let policy: &NetworkPolicy = &loaded.policy;
    let mut errors = Vec::new();
    let mut fail = |field: String, message: String| {
        errors.push(CompileError {
            policy: loaded.display_name(),
            source: loaded.source.clone(),
            field,
            message,
        });
    };
    let no_spec = NetworkPolicySpec::default();
    let spec = policy.spec.as_ref().unwrap_or(&no_spec);
    let pod_selector = match spec
        .pod_selector
        .as_ref()
        .map(Selector::compile)
        .transpose()
    {
        Ok(selector) => selector.unwrap_or_default(),
        Err(message) => {
            fail("spec.podSelector".into(), message);
            Selector::everything()
        }
    };
    // `policyTypes` defaulting (`NetworkPolicySpec.policyTypes`, types.go): "If this field
    // is not specified, it will default based on the existence of ingress or egress rules;
    // policies that contain an egress section are assumed to affect egress, and all
    // policies (whether or not they contain an ingress section) are assumed to affect
    // ingress." An empty list is "not specified" after the API's defaulting.
    let egress_rules = spec.egress.as_deref().unwrap_or_default();
    let ingress_rules = spec.ingress.as_deref().unwrap_or_default();
    let (mut affects_ingress, mut affects_egress) = (false, false);
    match spec.policy_types.as_deref() {
        None | Some([]) => {
            affects_ingress = true;
            affects_egress = !egress_rules.is_empty();
        }
        Some(types) => {
            for (i, t) in types.iter().enumerate() {
                match t.as_str() {
                    "Ingress" => affects_ingress = true,
                    "Egress" => affects_egress = true,
                    other => fail(
                        format!("spec.policyTypes[{i}]"),
                        format!("`{other}` is not a policy type; use `Ingress` or `Egress`"),
                    ),
                }
            }
        }
    }
    let mut compile_rules = |direction: &str, rules: Vec<RawRule>| {
        let peer_word = if direction == "ingress" { "from" } else { "to" };
        let mut out = Vec::new();
        for (r, (peers, ports)) in rules.into_iter().enumerate() {
            let at = format!("spec.{direction}[{r}]");
            // Absent or empty `from`/`to` both mean every peer (types.go: "If this field is
            // empty or missing, this rule matches all sources/destinations").
            let peers = match peers.unwrap_or_default() {
                [] => Peers::All,
                list => Peers::Listed(
                    list.iter()
                        .enumerate()
                        .filter_map(|(p, peer)| {
                            compile_peer(peer)
                                .map_err(|(field, message)| {
                                    fail(format!("{at}.{peer_word}[{p}]{field}"), message)
                                })
                                .ok()
                        })
                        .collect(),
                ),
            };
            let ports = match ports.unwrap_or_default() {
                [] => Ports::All,
                list => Ports::Listed(
                    list.iter()
                        .enumerate()
                        .filter_map(|(p, port)| {
                            compile_port(port)
                                .map_err(|(field, message)| {
                                    fail(format!("{at}.ports[{p}]{field}"), message)
                                })
                                .ok()
                        })
                        .collect(),
                ),
            };
            out.push(Rule { peers, ports });
        }
        out
    };
    let ingress = compile_rules(
        "ingress",
        ingress_rules
            .iter()
            .map(|r| (r.from.as_deref(), r.ports.as_deref()))
            .collect(),
    );
    let egress = compile_rules(
        "egress",
        egress_rules
            .iter()
            .map(|r| (r.to.as_deref(), r.ports.as_deref()))
            .collect(),
    );
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CompiledPolicy {
        namespace: policy_namespace(policy).to_owned(),
        name: policy.metadata.name.clone().unwrap_or_default(),
        pod_selector,
        affects_ingress,
        affects_egress,
        ingress: if affects_ingress { ingress } else { Vec::new() },
        egress: if affects_egress { egress } else { Vec::new() },
    })
}

/// Errors carry the field path below the peer (`.ipBlock.cidr`) and the message.
fn compile_peer(peer: &NetworkPolicyPeer) -> Result<Peer, (String, String)> {
    if let Some(block) = &peer.ip_block {
        if peer.pod_selector.is_some() || peer.namespace_selector.is_some() {
            return Err((
                String::new(),
                "an ipBlock peer may not also have a selector".into(),
            ));
        }
        // `ParseCIDRSloppy` keeps only the network part of the CIDR.
        let parse = |text: &str, field: String| {
            text.parse::<ipnet::IpNet>()
                .map(|n| n.trunc())
                .map_err(|_| (field, format!("`{text}` is not a CIDR")))
        };
        let cidr = parse(&block.cidr, ".ipBlock.cidr".into())?;
        let except = block
            .except
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, e)| parse(e, format!(".ipBlock.except[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Peer::Block(IpBlock { cidr, except }));
    }
    let selector = |s: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
                    field: &str| {
        Selector::compile(s).map_err(|m| (field.to_owned(), m))
    };
    let pods = match &peer.pod_selector {
        Some(s) => selector(s, ".podSelector")?,
        // "If namespaceSelector is also set ... Otherwise it selects all pods in the
        // namespaces selected by namespaceSelector" (types.go, `namespaceSelector`).
        None => Selector::everything(),
    };
    let namespaces = match &peer.namespace_selector {
        Some(s) => NamespaceScope::Selected(selector(s, ".namespaceSelector")?),
        None if peer.pod_selector.is_some() => NamespaceScope::PolicyNamespace,
        None => {
            return Err((
                String::new(),
                "a peer must have a podSelector, a namespaceSelector or an ipBlock".into(),
            ));
        }
    };
    Ok(Peer::Pods { namespaces, pods })
}

fn compile_port(port: &NetworkPolicyPort) -> Result<PortMatch, (String, String)> {
    // "The protocol (TCP, UDP, or SCTP) which traffic must match. If not specified, this
    // field defaults to TCP" — also when `port` is absent.
    let protocol_text = port.protocol.as_deref().unwrap_or("TCP");
    let protocol = Protocol::from_k8s(protocol_text).ok_or_else(|| {
        (
            ".protocol".to_owned(),
            format!("`{protocol_text}` is not TCP, UDP or SCTP"),
        )
    })?;
    let in_range = |value: i32, field: &str| {
        u16::try_from(value)
            .ok()
            .filter(|&p| p >= FIRST_PORT)
            .ok_or_else(|| {
                (
                    field.to_owned(),
                    format!("{value} is not a port; ports are {FIRST_PORT} to {LAST_PORT}"),
                )
            })
    };
    match (&port.port, port.end_port) {
        (None, None) => Ok(PortMatch::EveryPort { protocol }),
        (None, Some(_)) => Err((".endPort".into(), "endPort needs a numeric port".into())),
        (Some(IntOrString::String(_)), Some(_)) => Err((
            ".endPort".into(),
            "endPort may not be used with a named port".into(),
        )),
        (Some(IntOrString::String(name)), None) => Ok(PortMatch::Named {
            protocol,
            name: name.clone(),
        }),
        (Some(IntOrString::Int(first)), end) => {
            let first = in_range(*first, ".port")?;
            let last = match end {
                Some(end) => in_range(end, ".endPort")?,
                None => first,
            };
            if last < first {
                return Err((
                    ".endPort".into(),
                    format!("endPort {last} is below port {first}"),
                ));
            }
            Ok(PortMatch::Numbers {
                protocol,
                first,
                last,
            })
        }
    }
}
