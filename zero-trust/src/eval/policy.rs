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

/// A rule of the API server's validation (`crate::validate`) that a policy breaks: such a
/// policy has no meaning, and the evaluator refuses it.
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

    /// Every listed peer of its rules, ingress then egress.
    pub fn peers(&self) -> impl Iterator<Item = &Peer> {
        self.ingress
            .iter()
            .chain(&self.egress)
            .flat_map(|rule| match &rule.peers {
                Peers::All => &[][..],
                Peers::Listed(list) => &list[..],
            })
    }
}

/// Gives a policy its meaning. The policy is first validated with the API server's rules
/// (`crate::validate`, the one validator): an object the API server would refuse has no
/// meaning, and is reported with the field and rule it breaks. What follows relies on
/// valid input and only interprets it.
pub fn compile(loaded: &LoadedPolicy) -> Result<CompiledPolicy, Vec<CompileError>> {
    let errors: Vec<CompileError> = crate::validate::validate_network_policy(&loaded.policy)
        .into_iter()
        .map(|e| CompileError {
            policy: loaded.display_name(),
            source: loaded.source.clone(),
            field: e.field,
            message: e.message,
        })
        .collect();
    if errors.is_empty() {
        Ok(interpret(&loaded.policy))
    } else {
        Err(errors)
    }
}

/// The meaning of a valid policy.
fn interpret(policy: &NetworkPolicy) -> CompiledPolicy {
    let no_spec = NetworkPolicySpec::default();
    let spec = policy.spec.as_ref().unwrap_or(&no_spec);
    let pod_selector = spec
        .pod_selector
        .as_ref()
        .map(Selector::compile)
        .unwrap_or_default();
    // `policyTypes` defaulting (`NetworkPolicySpec.policyTypes`, types.go): "If this field
    // is not specified, it will default based on the existence of ingress or egress rules;
    // policies that contain an egress section are assumed to affect egress, and all
    // policies (whether or not they contain an ingress section) are assumed to affect
    // ingress." An empty list is "not specified" after the API's defaulting.
    let egress_rules = spec.egress.as_deref().unwrap_or_default();
    let ingress_rules = spec.ingress.as_deref().unwrap_or_default();
    let (affects_ingress, affects_egress) = match spec.policy_types.as_deref() {
        None | Some([]) => (true, !egress_rules.is_empty()),
        Some(types) => (
            types.iter().any(|t| t == "Ingress"),
            types.iter().any(|t| t == "Egress"),
        ),
    };
    let ingress = ingress_rules
        .iter()
        .map(|r| rule(r.from.as_deref(), r.ports.as_deref()))
        .collect();
    let egress = egress_rules
        .iter()
        .map(|r| rule(r.to.as_deref(), r.ports.as_deref()))
        .collect();
    CompiledPolicy {
        namespace: policy_namespace(policy).to_owned(),
        name: policy.metadata.name.clone().unwrap_or_default(),
        pod_selector,
        affects_ingress,
        affects_egress,
        ingress: if affects_ingress { ingress } else { Vec::new() },
        egress: if affects_egress { egress } else { Vec::new() },
    }
}

fn rule(peers: Option<&[NetworkPolicyPeer]>, ports: Option<&[NetworkPolicyPort]>) -> Rule {
    // Absent or empty `from`/`to` both mean every peer (types.go: "If this field is empty
    // or missing, this rule matches all sources/destinations"); likewise `ports`.
    let peers = match peers.unwrap_or_default() {
        [] => Peers::All,
        list => Peers::Listed(list.iter().map(peer).collect()),
    };
    let ports = match ports.unwrap_or_default() {
        [] => Ports::All,
        list => Ports::Listed(list.iter().map(port).collect()),
    };
    Rule { peers, ports }
}

fn peer(peer: &NetworkPolicyPeer) -> Peer {
    if let Some(block) = &peer.ip_block {
        // `ParseCIDRSloppy` keeps only the network part of the CIDR. The validator has
        // parsed both; an entry that still did not parse would match no address.
        let parse = |text: &str| text.parse::<ipnet::IpNet>().ok().map(|n| n.trunc());
        return match parse(&block.cidr) {
            Some(cidr) => Peer::Block(IpBlock {
                cidr,
                except: block
                    .except
                    .iter()
                    .flatten()
                    .filter_map(|e| parse(e))
                    .collect(),
            }),
            None => Peer::Pods {
                namespaces: NamespaceScope::Selected(Selector::nothing()),
                pods: Selector::nothing(),
            },
        };
    }
    // "If namespaceSelector is also set ... Otherwise it selects all pods in the namespaces
    // selected by namespaceSelector" (types.go, `namespaceSelector`).
    let pods = peer
        .pod_selector
        .as_ref()
        .map(Selector::compile)
        .unwrap_or_default();
    let namespaces = match &peer.namespace_selector {
        Some(s) => NamespaceScope::Selected(Selector::compile(s)),
        None => NamespaceScope::PolicyNamespace,
    };
    Peer::Pods { namespaces, pods }
}

fn port(port: &NetworkPolicyPort) -> PortMatch {
    // "The protocol (TCP, UDP, or SCTP) which traffic must match. If not specified, this
    // field defaults to TCP" — also when `port` is absent. The validator refuses others.
    let protocol =
        Protocol::from_k8s(port.protocol.as_deref().unwrap_or("TCP")).unwrap_or(Protocol::Tcp);
    // Validated to lie in FIRST_PORT..=LAST_PORT, with `endPort` >= `port`.
    let number = |value: i32| u16::try_from(value).unwrap_or(LAST_PORT).max(FIRST_PORT);
    match &port.port {
        None => PortMatch::EveryPort { protocol },
        Some(IntOrString::String(name)) => PortMatch::Named {
            protocol,
            name: name.clone(),
        },
        Some(IntOrString::Int(first)) => {
            let first = number(*first);
            PortMatch::Numbers {
                protocol,
                first,
                last: port.end_port.map_or(first, number).max(first),
            }
        }
    }
}
