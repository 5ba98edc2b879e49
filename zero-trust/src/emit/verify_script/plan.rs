//! Which probes `verify.sh` runs, decided from the model, and what each must observe,
//! decided by the evaluator over the lowered policies (so the script expects exactly what
//! `cargo xtask emit` proved). Bounded: the open probes grow with the flows, the closed ones
//! with the managed workloads.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use zero_trust_rules::{PortRange, Protocol};

use crate::cluster::Cluster;
use crate::eval::{Analysis, ClassId, EndpointClass, LoadedPolicy, PortSet, Provenance};
use crate::lower::lower_to_network_policies;
use crate::model::{Endpoint, Flow, Namespace, Workload};
use crate::verify::model_topology;

use crate::emit::shell::ClusterScope;

/// At most this many closed probes from a managed workload to the other managed workloads
/// it may not reach, so a big cluster's run grows with its workloads, not their square.
pub const CLOSED_PER_SOURCE: usize = 5;
/// How many other workloads are examined per source to find them.
const CANDIDATES_PER_SOURCE: usize = 4 * CLOSED_PER_SOURCE;
/// Egress to a private address is probed at one of these, the first that lies in an
/// `except` of a declared CIDR (else the first): never an address on the public internet.
const PRIVATE_ADDRESSES: [Ipv4Addr; 3] = [
    Ipv4Addr::new(10, 255, 255, 1),
    Ipv4Addr::new(172, 31, 255, 1),
    Ipv4Addr::new(192, 168, 255, 1),
];
/// The port of that probe when the workload declares no TCP flow to a CIDR.
const PRIVATE_ADDRESS_PORT: u16 = 443;
/// Where the unlabelled probe pod runs unless `--probe-namespace` says otherwise.
const DEFAULT_PROBE_NAMESPACE: &str = "default";
/// The source of the probes from outside: one new pod without labels.
pub const OUTSIDE: &str = "@outside";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Open,
    Closed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    /// A TCP connect: open, refused (the packet got through) or timeout.
    Tcp,
    /// A DNS query (`nslookup`) to UDP port 53: any answer means open.
    Dns,
    /// Not probed, for the reason given.
    Skip(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub expect: Expect,
    pub method: Method,
    /// A target id (`namespace/workload`, or `namespace/*` for any pod) or [`OUTSIDE`].
    pub source: String,
    /// A target id, `@address`, or a CIDR's identifier (in skipped probes only).
    pub destination: String,
    pub protocol: Protocol,
    pub port: u16,
    /// The port's name instead of `port`, for a flow that names it (skipped probes only).
    pub port_name: Option<&'static str>,
    /// The flow it checks, or the rule that chose it.
    pub why: String,
}

/// What verify.sh probes; the script's data section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyPlan {
    /// Target id -> `kubectl -l` selector; empty for any pod of the namespace.
    pub targets: BTreeMap<String, String>,
    pub probes: Vec<Probe>,
    /// Namespaces the policies name: the probe pod never runs there.
    pub named_namespaces: Vec<String>,
    /// `default`, unless the policies name it (then `--probe-namespace` is required).
    pub default_probe_namespace: Option<String>,
    /// The declared cluster probed, if the source declares clusters: any other context is
    /// refused.
    pub cluster: Option<ClusterScope>,
}

/// A set of pods the script finds by selector, and what the evaluator knows of it.
#[derive(Clone, Debug)]
struct Target {
    id: String,
    selector: String,
    class: ClassId,
    ports: Vec<PortRange>,
    managed: bool,
}

/// Why a flow with this end is not probed: its namespace is any namespace whose labels
/// match (`external namespaces`), which only the live cluster could name.
fn selected_by_labels(end: &Endpoint) -> Option<String> {
    let namespace = match end {
        Endpoint::Workload(w) => w.namespace,
        Endpoint::Namespace(n) => n,
        Endpoint::Cidr(_) | Endpoint::AllManaged => return None,
    };
    namespace.selector.is_some().then(|| {
        format!(
            "{} is selected by labels; verify.sh probes only namespaces the policies name",
            namespace.describe()
        )
    })
}

/// The probes for `cluster`, in a deterministic order: declared flows, reversed flows,
/// managed workloads to each other, the unlabelled pod to each, then the private address.
pub fn plan_probes(cluster: &Cluster) -> VerifyPlan {
    let policies: Vec<LoadedPolicy> = lower_to_network_policies(cluster)
        .into_iter()
        .flat_map(|n| n.allow.into_iter().chain([n.default_deny]))
        .map(|policy| LoadedPolicy {
            policy,
            source: Provenance::default(),
        })
        .collect();
    plan_probes_for(cluster, &policies)
}

/// [`plan_probes`] for the policies lowered from `cluster`, already read as the evaluator
/// reads them.
pub fn plan_probes_for(cluster: &Cluster, policies: &[LoadedPolicy]) -> VerifyPlan {
    let mut planner = Planner::new(cluster, policies);
    let mut declared = Vec::new();
    for flow in &cluster.flows {
        planner.add_flow(flow, &mut declared);
        planner.add_named_skips(flow);
    }
    for (source, destination, flow) in &declared {
        if destination.managed {
            planner.add_closed(destination, source, format!("reverse of {flow}"));
        }
    }
    let managed: Vec<Target> = cluster
        .workloads
        .values()
        .filter(|w| w.namespace.managed)
        .map(|w| planner.workload(w))
        .collect();
    for (index, source) in managed.iter().enumerate() {
        let others = managed
            .iter()
            .cycle()
            .skip(index + 1)
            .take(managed.len() - 1);
        let mut added = 0;
        for destination in others.take(CANDIDATES_PER_SOURCE) {
            if added == CLOSED_PER_SOURCE {
                break;
            }
            if planner.add_closed(source, destination, "not declared".to_owned()) {
                added += 1;
            }
        }
    }
    let outside = Target {
        id: OUTSIDE.to_owned(),
        selector: String::new(),
        class: planner.analysis.class_of_unnamed_namespace_pod(),
        ports: Vec::new(),
        managed: false,
    };
    for destination in &managed {
        let why = "from a new pod in a namespace no policy names".to_owned();
        planner.add_closed(&outside, destination, why);
    }
    let (address, why) = private_address(cluster);
    let cidr_ports = CidrPorts::new(cluster);
    for source in &managed {
        let port = cidr_ports.of(source);
        let destination = Target {
            id: format!("@{address}"),
            selector: String::new(),
            class: planner.analysis.class_of_address(address),
            ports: vec![PortRange::single(Protocol::Tcp, port)],
            managed: false,
        };
        planner.add_closed(source, &destination, why.clone());
    }

    let named: BTreeSet<&str> = cluster.namespaces.keys().copied().collect();
    VerifyPlan {
        targets: planner.targets,
        probes: planner.probes,
        default_probe_namespace: (!named.contains(DEFAULT_PROBE_NAMESPACE))
            .then(|| DEFAULT_PROBE_NAMESPACE.to_owned()),
        named_namespaces: named.into_iter().map(str::to_owned).collect(),
        cluster: ClusterScope::of(cluster),
    }
}

struct Planner<'a> {
    cluster: &'a Cluster,
    analysis: Analysis,
    /// The class of each workload's pod in the model's topology, by (namespace, name).
    pod_classes: HashMap<(String, String), ClassId>,
    /// The workloads of each namespace, in name order.
    workloads_in: HashMap<&'static str, Vec<&'static Workload>>,
    targets: BTreeMap<String, String>,
    probes: Vec<Probe>,
    seen_open: BTreeSet<(String, String, Protocol, u16)>,
    closed_pairs: BTreeSet<(String, String)>,
}

impl<'a> Planner<'a> {
    fn new(cluster: &'a Cluster, policies: &[LoadedPolicy]) -> Planner<'a> {
        let analysis = Analysis::from_parts(policies, &model_topology(cluster))
            .expect("lowered policies always compile");
        let mut pod_classes = HashMap::new();
        for (id, class) in analysis.classes().iter().enumerate() {
            if let EndpointClass::Pod(pod) = class {
                pod_classes.insert((pod.namespace.clone(), pod.name.clone()), id as ClassId);
            }
        }
        let mut workloads_in: HashMap<&'static str, Vec<&'static Workload>> = HashMap::new();
        for workload in cluster.workloads.values() {
            workloads_in
                .entry(workload.namespace.name)
                .or_default()
                .push(workload);
        }
        Planner {
            cluster,
            analysis,
            pod_classes,
            workloads_in,
            targets: BTreeMap::new(),
            probes: Vec::new(),
            seen_open: BTreeSet::new(),
            closed_pairs: BTreeSet::new(),
        }
    }

    fn workload(&self, workload: &Workload) -> Target {
        Target {
            id: format!("{}/{}", workload.namespace.name, workload.name),
            selector: workload.kubectl_selector(),
            class: self.pod_classes[&(
                workload.namespace.representative().name,
                workload.name.to_owned(),
            )],
            ports: workload.ports.to_vec(),
            managed: workload.namespace.managed,
        }
    }

    /// A namespace's representative: its first workload listening on `port` (else its first
    /// workload), or any pod of it when it declares none.
    fn namespace(&self, namespace: &Namespace, port: Option<&PortRange>) -> Target {
        let workloads = self
            .workloads_in
            .get(namespace.name)
            .map_or(&[][..], Vec::as_slice);
        let listening = workloads
            .iter()
            .find(|w| port.is_some_and(|p| w.ports.iter().any(|l| l.covers(p))));
        match listening.or(workloads.first()) {
            Some(workload) => self.workload(workload),
            None => Target {
                id: format!("{}/*", namespace.name),
                selector: String::new(),
                class: self
                    .analysis
                    .class_of_other_pod(&namespace.representative().name)
                    .expect("every namespace of the cluster is in the model's topology"),
                ports: Vec::new(),
                managed: namespace.managed,
            },
        }
    }

    /// The targets an end stands for: a namespace by one representative, `*` by one per
    /// managed namespace.
    fn targets_of(&self, end: &Endpoint, port: Option<&PortRange>) -> Vec<Target> {
        match end {
            Endpoint::Workload(w) => vec![self.workload(w)],
            Endpoint::Namespace(n) => vec![self.namespace(n, port)],
            Endpoint::AllManaged => self
                .cluster
                .managed_namespaces()
                .map(|n| self.namespace(n, port))
                .collect(),
            // Only the end of a skipped probe: the script never resolves it.
            Endpoint::Cidr(c) => vec![Target {
                id: c.ident.to_owned(),
                selector: String::new(),
                class: 0,
                ports: Vec::new(),
                managed: false,
            }],
        }
    }

    fn add_flow(&mut self, flow: &Flow, declared: &mut Vec<(Target, Target, String)>) {
        let outside_reason = match (&flow.from, &flow.to) {
            (Endpoint::Cidr(c), _) => Some(format!(
                "the source is the CIDR {}, outside the cluster",
                c.ident
            )),
            (_, Endpoint::Cidr(c)) => Some(format!(
                "the destination is the CIDR {}; verify.sh never probes outside the cluster",
                c.ident
            )),
            _ => [&flow.from, &flow.to]
                .into_iter()
                .find_map(selected_by_labels),
        };
        for range in flow.ports {
            let flow_why = if range.is_single() {
                format!("declared: {flow}")
            } else {
                format!("declared: {flow}, first port of {range}")
            };
            for source in self.targets_of(&flow.from, None) {
                for destination in self.targets_of(&flow.to, Some(range)) {
                    let method = match &outside_reason {
                        Some(reason) => Method::Skip(reason.clone()),
                        None if source.id == destination.id => {
                            Method::Skip("source and destination are the same pods".to_owned())
                        }
                        None => probe_method(range),
                    };
                    self.add_open(&source, &destination, range, method, &flow_why);
                    if outside_reason.is_none() && source.id != destination.id {
                        declared.push((source.clone(), destination, flow.to_string()));
                    }
                }
            }
        }
    }

    fn add_open(
        &mut self,
        source: &Target,
        destination: &Target,
        range: &PortRange,
        method: Method,
        flow_why: &str,
    ) {
        let key = (
            source.id.clone(),
            destination.id.clone(),
            range.protocol,
            range.first,
        );
        if !self.seen_open.insert(key) {
            return;
        }
        let why = match &method {
            Method::Skip(reason) => format!("{reason} ({flow_why})"),
            _ => flow_why.to_owned(),
        };
        self.use_target(source);
        self.use_target(destination);
        self.probes.push(Probe {
            expect: Expect::Open,
            method,
            source: source.id.clone(),
            destination: destination.id.clone(),
            protocol: range.protocol,
            port: range.first,
            port_name: None,
            why,
        });
    }

    /// A flow's port names are not probed: their numbers are the target pods' own, which
    /// verify.sh does not look up. Each is listed as skipped, with why.
    fn add_named_skips(&mut self, flow: &Flow) {
        for name in flow.port_names {
            for source in self.targets_of(&flow.from, None) {
                for destination in self.targets_of(&flow.to, None) {
                    self.use_target(&source);
                    self.use_target(&destination);
                    self.probes.push(Probe {
                        expect: Expect::Open,
                        method: Method::Skip(format!(
                            "the port is named `{}`, and its number is the target pods' own (declared: {flow})",
                            name.name
                        )),
                        source: source.id.clone(),
                        destination: destination.id.clone(),
                        protocol: name.protocol,
                        port: 0,
                        port_name: Some(name.name),
                        why: String::new(),
                    });
                }
            }
        }
    }

    fn use_target(&mut self, target: &Target) {
        if target.id.contains('/') {
            self.targets
                .insert(target.id.clone(), target.selector.clone());
        }
    }

    /// Adds a probe that must be blocked, on the first port `destination` listens on that
    /// the policies do not open from `source` (TCP first, then DNS); at most one per pair,
    /// none where every such port is open. Whether it was added.
    fn add_closed(&mut self, source: &Target, destination: &Target, why: String) -> bool {
        if source.id == destination.id {
            return false;
        }
        let pair = (source.id.clone(), destination.id.clone());
        if self.closed_pairs.contains(&pair) {
            return false;
        }
        let allowed = self.analysis.end_to_end(source.class, destination.class);
        let Some(range) = closed_port(&destination.ports, &allowed) else {
            return false;
        };
        self.closed_pairs.insert(pair);
        self.use_target(source);
        self.use_target(destination);
        self.probes.push(Probe {
            expect: Expect::Closed,
            method: probe_method(&range),
            source: source.id.clone(),
            destination: destination.id.clone(),
            protocol: range.protocol,
            port: range.first,
            port_name: None,
            why,
        });
        true
    }
}

/// How a port is probed: TCP by connecting, UDP 53 by a DNS query; the rest is skipped.
fn probe_method(range: &PortRange) -> Method {
    match range.protocol {
        Protocol::Tcp => Method::Tcp,
        Protocol::Udp if range.is_single() && range.first == 53 => Method::Dns,
        Protocol::Udp => Method::Skip(
            "UDP other than DNS: without a reply, open cannot be told from filtered".to_owned(),
        ),
        Protocol::Sctp => Method::Skip("SCTP: the probe image has no SCTP client".to_owned()),
    }
}

fn closed_port(ports: &[PortRange], allowed: &PortSet) -> Option<PortRange> {
    let mut probeable: Vec<&PortRange> = ports
        .iter()
        .filter(|p| !matches!(probe_method(p), Method::Skip(_)))
        .collect();
    probeable.sort_by_key(|p| p.protocol != Protocol::Tcp);
    probeable
        .into_iter()
        .find(|p| !allowed.contains(p.protocol, p.first))
        .copied()
}

/// The private address to probe, and why it must be blocked.
fn private_address(cluster: &Cluster) -> (IpAddr, String) {
    for address in PRIVATE_ADDRESSES {
        let address = IpAddr::V4(address);
        for cidr in &cluster.cidrs {
            let mut excepted = cidr
                .blocks
                .iter()
                .flat_map(|b| b.except)
                .filter_map(|e| e.parse::<IpNet>().ok());
            if excepted.any(|e| e.contains(&address)) {
                return (
                    address,
                    format!("a private address, excepted from {}", cidr.ident),
                );
            }
        }
    }
    (
        IpAddr::V4(PRIVATE_ADDRESSES[0]),
        "a private address".to_owned(),
    )
}

/// The first TCP port (in flow order) that each source's declared flows open to some
/// CIDR, else 443; indexed once, so the lookup per workload does not scan every flow.
struct CidrPorts {
    /// Per kind of source: the index of the first such flow, and its port.
    by_workload: HashMap<String, (usize, u16)>,
    by_namespace: HashMap<&'static str, (usize, u16)>,
    all_managed: Option<(usize, u16)>,
}

impl CidrPorts {
    fn new(cluster: &Cluster) -> CidrPorts {
        let mut ports = CidrPorts {
            by_workload: HashMap::new(),
            by_namespace: HashMap::new(),
            all_managed: None,
        };
        let to_cidr = cluster
            .flows
            .iter()
            .enumerate()
            .filter(|(_, f)| matches!(f.to, Endpoint::Cidr(_)));
        for (index, flow) in to_cidr {
            let Some(port) = flow.ports.iter().find(|p| p.protocol == Protocol::Tcp) else {
                continue;
            };
            let first = (index, port.first);
            match &flow.from {
                Endpoint::Workload(w) => {
                    ports
                        .by_workload
                        .entry(format!("{}/{}", w.namespace.name, w.name))
                        .or_insert(first);
                }
                Endpoint::Namespace(n) => {
                    ports.by_namespace.entry(n.name).or_insert(first);
                }
                Endpoint::AllManaged => {
                    ports.all_managed.get_or_insert(first);
                }
                Endpoint::Cidr(_) => {}
            }
        }
        ports
    }

    fn of(&self, source: &Target) -> u16 {
        let (namespace, _) = source.id.split_once('/').unwrap_or_default();
        let candidates = [
            self.by_workload.get(&source.id).copied(),
            self.by_namespace.get(namespace).copied(),
            self.all_managed.filter(|_| source.managed),
        ];
        candidates
            .into_iter()
            .flatten()
            .min()
            .map_or(PRIVATE_ADDRESS_PORT, |(_, port)| port)
    }
}
