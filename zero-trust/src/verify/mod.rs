//! The proof that a set of NetworkPolicies allows exactly what a cluster declares.
//!
//! The evaluator ([`crate::eval`]) reads the YAML with Kubernetes semantics and knows
//! nothing of the model; this module computes, from the model's flows alone, what each side
//! of every pair of endpoint classes should allow, and compares the two side by side:
//! a managed pod's ingress must allow exactly its declared sources and its egress exactly
//! its declared destinations, so a half that is too wide cannot hide behind the other.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use zero_trust_rules::Protocol;

use crate::cluster::Cluster;
use crate::eval::{
    AddressClass, Analysis, ClassId, Direction, EndpointClass, LoadedPolicy, NamespaceInfo,
    PodInfo, PortSet, Side, Topology,
};
use crate::model::{AddressBlock, Endpoint, EndpointKey, Flow, Namespace, PortName, Workload};

mod reproof;

pub use reproof::{PolicyChange, ProvenState, Reproved};

/// The cluster the model describes: its namespaces (a label-selected one by one namespace
/// its selector matches: [`Namespace::representative`]), and one representative pod per
/// workload carrying labels its selector selects ([`Workload::representative_labels`]).
pub fn model_topology(cluster: &Cluster) -> Topology {
    let namespaces = cluster
        .namespaces
        .values()
        .map(|namespace| {
            let representative = namespace.representative();
            NamespaceInfo {
                name: representative.name,
                labels: representative
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            }
        })
        .collect();
    let named = port_names_of_targets(cluster);
    let pods = cluster
        .workloads
        .values()
        .map(|w| {
            let namespace = w.namespace.representative().name;
            let pod = PodInfo::new(&namespace, w.name, &w.representative_labels());
            let names = named.get(&w.endpoint().key()).into_iter().flatten();
            names.fold(pod, |pod, (name, port)| {
                pod.with_port(name.name, name.protocol, *port)
            })
        })
        .collect();
    Topology { namespaces, pods }
}

/// The port names flows give each workload they reach, each with the number its
/// representative pod gives it: the model cannot know the real one (the target is not
/// managed), so the proof gives each name a number of its own, and checks that the YAML
/// allows exactly the number the pod names so.
fn port_names_of_targets(cluster: &Cluster) -> HashMap<EndpointKey, Vec<(PortName, u16)>> {
    let mut names: Vec<PortName> = cluster
        .flows
        .iter()
        .flat_map(|f| f.port_names.iter().copied())
        .collect();
    names.sort();
    names.dedup();
    let number = |name: &PortName| {
        let index = names.binary_search(name).unwrap_or_default();
        FIRST_NAMED_PORT.saturating_add(u16::try_from(index).unwrap_or(u16::MAX))
    };
    let mut by_target: HashMap<EndpointKey, Vec<(PortName, u16)>> = HashMap::new();
    for flow in &cluster.flows {
        if let Endpoint::Workload(_) = flow.to {
            let target = by_target.entry(flow.to.key()).or_default();
            for name in flow.port_names {
                if !target.iter().any(|(n, _)| n == name) {
                    target.push((*name, number(name)));
                }
            }
        }
    }
    by_target
}

/// Where the numbers the model's pods give port names start.
const FIRST_NAMED_PORT: u16 = 40000;

/// Where the YAML and the model disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// A pod is isolated in a direction where the model says it is not, or the reverse.
    Isolation {
        pod: String,
        direction: Direction,
        declared_isolated: bool,
        policies: Vec<String>,
    },
    /// One side of one pair allows other ports than the flows declare.
    Pair(PairMismatch),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairMismatch {
    pub source: String,
    pub destination: String,
    pub direction: Direction,
    pub declared: Side,
    pub emitted: Side,
    /// A connection on which they differ, with the policies that decide it on this side
    /// (`namespace/name (file)`).
    pub example: Option<(Protocol, u16)>,
    pub policies: Vec<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Isolation {
                pod,
                direction,
                declared_isolated,
                policies,
            } => {
                let (declared, emitted) = if *declared_isolated {
                    ("is", "is not")
                } else {
                    ("is not", "is")
                };
                write!(
                    f,
                    "{pod} {declared} isolated for {direction:?} in the policies but {emitted} in the YAML"
                )?;
                match policies.as_slice() {
                    [] => write!(f, "; no policy selects it"),
                    policies => write!(f, "; selected by {}", policies.join(", ")),
                }
            }
            Mismatch::Pair(pair) => pair.fmt(f),
        }
    }
}

impl fmt::Display for PairMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = match self.direction {
            Direction::Ingress => format!("ingress of {}", self.destination),
            Direction::Egress => format!("egress of {}", self.source),
        };
        write!(
            f,
            "{} -> {}: the {side} allows {} but the policies declare {}",
            self.source,
            self.destination,
            describe(&self.emitted),
            describe(&self.declared)
        )?;
        if let Some((protocol, port)) = self.example {
            write!(f, " (e.g. {port}/{})", protocol.as_k8s())?;
        }
        if self.policies.is_empty() {
            write!(f, "; no policy selects it")
        } else {
            write!(f, "; decided by {}", self.policies.join(", "))
        }
    }
}

fn describe(side: &Side) -> String {
    match side {
        Side::NotIsolated => "everything (not isolated)".to_owned(),
        Side::External => "everything (outside the cluster)".to_owned(),
        Side::Isolated(ports) if ports.is_empty() => "nothing".to_owned(),
        Side::Isolated(ports) => ports.to_string(),
    }
}

/// Compares, side by side, what `analysis` (of the emitted YAML over [`model_topology`])
/// allows with what the cluster declares, for every pair of endpoint classes.
pub fn check_intent(cluster: &Cluster, analysis: &Analysis) -> Vec<Mismatch> {
    let matcher = Matcher::new(cluster, analysis);
    let declared = declared_sides(cluster, &matcher, analysis);
    let mut mismatches = Vec::new();
    let classes = analysis.classes().len() as ClassId;

    for class in 0..classes {
        if analysis.class(class).is_address() {
            continue;
        }
        let managed = matcher.managed[class as usize];
        for direction in [Direction::Ingress, Direction::Egress] {
            mismatches.extend(check_intent_isolation(analysis, class, direction, managed));
        }
    }
    if !mismatches.is_empty() {
        // Isolation is wrong; pair-by-pair differences would only repeat it.
        return mismatches;
    }

    // Each source's pairs are decided on their own: on every core, in order.
    let sources: Vec<ClassId> = (0..classes).collect();
    let rows = crate::parallel::map_in_order(&sources, |&source| {
        let mut row = Vec::new();
        let mut destinations: Vec<ClassId> = analysis
            .pairs_from(source)
            .into_iter()
            .map(|p| p.destination)
            .collect();
        if let Some(expected) = declared.get(&source) {
            destinations.extend(expected.keys());
        }
        destinations.sort_unstable();
        destinations.dedup();
        for destination in destinations {
            let verdict = analysis.verdict(source, destination);
            let sides = declared.get(&source).and_then(|d| d.get(&destination));
            let declared_egress = matcher.side(source, sides.map(|s| &s.egress));
            let declared_ingress = matcher.side(destination, sides.map(|s| &s.ingress));
            for (direction, declared, emitted) in [
                (Direction::Egress, declared_egress, verdict.egress),
                (Direction::Ingress, declared_ingress, verdict.ingress),
            ] {
                if declared != emitted {
                    row.push(pair_mismatch(
                        analysis,
                        source,
                        destination,
                        direction,
                        declared,
                        emitted,
                    ));
                }
            }
        }
        row
    });
    mismatches.extend(rows.into_iter().flatten());
    mismatches
}

/// Whether a pod class is isolated in `direction` as the model says (`managed`).
fn check_intent_isolation(
    analysis: &Analysis,
    class: ClassId,
    direction: Direction,
    managed: bool,
) -> Option<Mismatch> {
    (analysis.is_isolated(class, direction) != managed).then(|| Mismatch::Isolation {
        pod: analysis.class(class).to_string(),
        direction,
        declared_isolated: managed,
        policies: analysis
            .selecting_policies(class)
            .map(|p| format!("{} ({})", p.name, p.source))
            .collect(),
    })
}

#[derive(Default)]
pub(crate) struct DeclaredSides {
    egress: PortSet,
    ingress: PortSet,
}

/// What the flows allow, per (source class, destination class), for the managed sides.
fn declared_sides(
    cluster: &Cluster,
    matcher: &Matcher,
    analysis: &Analysis,
) -> HashMap<ClassId, HashMap<ClassId, DeclaredSides>> {
    let mut sides: HashMap<ClassId, HashMap<ClassId, DeclaredSides>> = HashMap::new();
    for flow in &cluster.flows {
        let destinations = matcher.members(&flow.to);
        if destinations.is_empty() {
            continue;
        }
        let declaration = FlowDeclaration::new(flow);
        for &source in matcher.members(&flow.from) {
            let row = sides.entry(source).or_default();
            for &destination in destinations {
                let pair = row.entry(destination).or_default();
                declaration.declare(pair, source, destination, matcher, analysis);
            }
        }
    }
    sides
}

/// One flow as it declares the sides of the pairs of endpoint classes its ends stand for:
/// its numbered ports as a set (made once per flow), its port names, and which of its ends
/// it writes. The full proof ([`declared_sides`]) and the re-proof's bookkeeping
/// ([`ProvenState`]) both declare through [`FlowDeclaration::declare`], so the rule is
/// written once.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FlowDeclaration {
    ports: PortSet,
    port_names: &'static [PortName],
    /// The source end is managed (`Endpoint::is_managed`), so the flow writes its egress.
    writes_egress: bool,
    /// The destination end is managed, so the flow writes its ingress.
    writes_ingress: bool,
}

impl FlowDeclaration {
    fn new(flow: &Flow) -> FlowDeclaration {
        FlowDeclaration {
            ports: PortSet::from_ranges(flow.ports.iter().copied()),
            port_names: flow.port_names,
            writes_egress: flow.from.is_managed(),
            writes_ingress: flow.to.is_managed(),
        }
    }

    /// Adds to `pair` what this flow declares for the pair (`source`, `destination`) of
    /// classes its ends stand for. The decisions it implements:
    ///
    /// - A flow declares a side only at a managed end: its ports at the egress of the
    ///   source when the source end is managed, at the ingress of the destination when the
    ///   destination end is managed. Only managed namespaces are isolated (their
    ///   `default-deny-all`); any other side is not isolated, or outside the cluster,
    ///   whatever the flows say ([`Matcher::side`]).
    /// - Only at a class that is a pod of a managed namespace. An external end's pods may
    ///   include managed ones (a namespace selected by labels, `Namespace::selector`, can
    ///   match a managed namespace); their side is not this flow's to write, so it
    ///   declares nothing there, and their own flows declare it.
    /// - A port name is resolved on the destination pod, on both sides: a
    ///   NetworkPolicyPort's named port is the destination pod's container port of that
    ///   name and protocol, whether the rule is the destination's ingress or the source's
    ///   egress
    ///   (<https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicyport>),
    ///   so one flow may declare other numbers for each destination class.
    /// - The flows of a pair add up: each side is the union of their ports, as policies are
    ///   additive
    ///   (<https://kubernetes.io/docs/concepts/services-networking/network-policies/#the-two-sorts-of-pod-isolation>).
    fn declare(
        &self,
        pair: &mut DeclaredSides,
        source: ClassId,
        destination: ClassId,
        matcher: &Matcher,
        analysis: &Analysis,
    ) {
        let egress = self.writes_egress && matcher.managed[source as usize];
        let ingress = self.writes_ingress && matcher.managed[destination as usize];
        if !egress && !ingress {
            return;
        }
        let with_names;
        let ports = match self.port_names {
            [] => &self.ports,
            names => {
                with_names = resolved(&self.ports, names, analysis, destination);
                &with_names
            }
        };
        if egress {
            pair.egress.union_with(ports);
        }
        if ingress {
            pair.ingress.union_with(ports);
        }
    }
}

/// `ports` and the numbers `names` name on the pods of `destination`.
fn resolved(
    ports: &PortSet,
    names: &[PortName],
    analysis: &Analysis,
    destination: ClassId,
) -> PortSet {
    let named: Vec<_> = analysis
        .named_ports_of(destination)
        .into_iter()
        .flatten()
        .map(|p| (p.name.as_str(), p.protocol, p.port))
        .collect();
    let mut ports = ports.clone();
    for name in names {
        ports.union_with(&PortSet::from_ranges(name.resolve(named.iter().copied())));
    }
    ports
}

/// Which endpoint classes each end of the model stands for.
struct Matcher {
    /// The first address class: pods come first.
    first_address: ClassId,
    /// Per class: a pod of a managed namespace (isolated both ways by `default-deny-all`).
    managed: Vec<bool>,
    members: HashMap<EndpointKey, Vec<ClassId>>,
}

impl Matcher {
    fn new(cluster: &Cluster, analysis: &Analysis) -> Matcher {
        let managed_names = cluster.managed_namespace_names();
        let by_labels: Vec<&Namespace> = cluster
            .namespaces
            .values()
            .copied()
            .filter(|n| n.selector.is_some())
            .collect();
        let mut by_namespace: HashMap<&str, Vec<&Workload>> = HashMap::new();
        for workload in cluster.workloads.values() {
            by_namespace
                .entry(workload.namespace.name)
                .or_default()
                .push(workload);
        }
        let cidrs: Vec<(EndpointKey, Vec<DeclaredBlock>)> = cluster
            .cidrs
            .iter()
            .map(|c| {
                let blocks = c.blocks.iter().filter_map(DeclaredBlock::parse).collect();
                (c.endpoint().key(), blocks)
            })
            .collect();

        let mut managed = Vec::new();
        let mut members: HashMap<EndpointKey, Vec<ClassId>> = HashMap::new();
        for (id, class) in analysis.classes().iter().enumerate() {
            let id = id as ClassId;
            let mut add = |key: EndpointKey| members.entry(key).or_default().push(id);
            let namespace = match class {
                EndpointClass::Pod(pod) => Some((pod.namespace.as_str(), Some(pod))),
                EndpointClass::OtherPodIn { namespace } => Some((namespace.as_str(), None)),
                // Named by no policy, so only an `external namespaces` selector on its
                // name label's absence or on no label at all can select it.
                EndpointClass::PodInUnnamedNamespace => Some(("", None)),
                EndpointClass::Address(address) => {
                    if let Some(address) = representative(address) {
                        for (key, blocks) in &cidrs {
                            if blocks.iter().any(|block| block.contains(address)) {
                                add(*key);
                            }
                        }
                    }
                    None
                }
            };
            let is_managed = namespace.is_some_and(|(name, _)| managed_names.contains(name));
            managed.push(is_managed);
            let Some((name, pod)) = namespace else {
                continue;
            };
            if is_managed {
                add(EndpointKey::AllManaged);
            }
            // The namespace's labels are the topology's data (the model's own cluster, or
            // the real one); whether a selector matches them is the model's reading.
            let labels: Vec<(&str, &str)> = match by_labels.is_empty() {
                true => Vec::new(),
                false => analysis
                    .namespace_labels(id)
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect(),
            };
            let named = cluster
                .namespaces
                .get(name)
                .copied()
                .filter(|n| n.selector.is_none());
            let selecting = named.into_iter().chain(
                by_labels
                    .iter()
                    .copied()
                    .filter(|n| n.selects_namespace(name, &labels)),
            );
            // Another pod of the namespace has no labels: a selector of only `NotIn` and
            // `DoesNotExist` selects it too.
            let no_labels = BTreeMap::new();
            let pod_labels = pod.map_or(&no_labels, |pod| &pod.labels);
            for namespace in selecting {
                add(namespace.endpoint().key());
                for workload in by_namespace.get(namespace.name).into_iter().flatten() {
                    if workload.selects(|key| pod_labels.get(key).map(String::as_str)) {
                        add(workload.endpoint().key());
                    }
                }
            }
        }
        let first_address = analysis
            .classes()
            .iter()
            .position(EndpointClass::is_address)
            .unwrap_or(analysis.classes().len()) as ClassId;
        Matcher {
            first_address,
            managed,
            members,
        }
    }

    fn members(&self, end: &Endpoint) -> &[ClassId] {
        self.members
            .get(&end.key())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// What the model says one side of `class` allows, given the declared ports.
    fn side(&self, class: ClassId, declared: Option<&PortSet>) -> Side {
        if class >= self.first_address {
            Side::External
        } else if self.managed[class as usize] {
            Side::Isolated(declared.cloned().unwrap_or_default())
        } else {
            Side::NotIsolated
        }
    }
}

/// A model CIDR block's addresses, read here on purpose rather than through the evaluator's own
/// ipBlock matching, so that the two stay independent.
struct DeclaredBlock {
    cidr: IpNet,
    except: Vec<IpNet>,
}

impl DeclaredBlock {
    fn parse(block: &AddressBlock) -> Option<DeclaredBlock> {
        let cidr = block.cidr.parse().ok()?;
        let except = block.except.iter().filter_map(|e| e.parse().ok()).collect();
        Some(DeclaredBlock { cidr, except })
    }

    fn contains(&self, address: IpAddr) -> bool {
        self.cidr.contains(&address) && !self.except.iter().any(|e| e.contains(&address))
    }
}

/// An address of the class: every address of a class is matched by the same ipBlocks.
fn representative(class: &AddressClass) -> Option<IpAddr> {
    match class {
        AddressClass::Range(range) => Some(range.first_address()),
        AddressClass::OutsideEveryCidr { example } => example.map(|range| range.first_address()),
    }
}

fn pair_mismatch(
    analysis: &Analysis,
    source: ClassId,
    destination: ClassId,
    direction: Direction,
    declared: Side,
    emitted: Side,
) -> Mismatch {
    let example = first_difference(&declared.allowed(), &emitted.allowed());
    let policies = match example {
        Some((protocol, port)) => {
            let explanation = analysis.explain(source, destination, port, protocol);
            let side = match direction {
                Direction::Egress => explanation.egress,
                Direction::Ingress => explanation.ingress,
            };
            let field = match direction {
                Direction::Egress => "egress",
                Direction::Ingress => "ingress",
            };
            let mut named: Vec<String> = side
                .allowing
                .iter()
                .map(|r| {
                    format!(
                        "{} spec.{field}[{}] ({})",
                        r.policy.name, r.rule, r.policy.source
                    )
                })
                .collect();
            if named.is_empty() {
                named = side
                    .selecting
                    .iter()
                    .filter(|(_, typed)| *typed)
                    .map(|(p, _)| format!("{} ({})", p.name, p.source))
                    .collect();
            }
            named
        }
        None => Vec::new(),
    };
    Mismatch::Pair(PairMismatch {
        source: analysis.class(source).to_string(),
        destination: analysis.class(destination).to_string(),
        direction,
        declared,
        emitted,
        example,
        policies,
    })
}

/// A port in one set and not the other. Both are unions of ranges, so if they differ they
/// differ at the start of some range or just after its end.
fn first_difference(a: &PortSet, b: &PortSet) -> Option<(Protocol, u16)> {
    let candidates = a.ranges().iter().chain(b.ranges()).flat_map(|r| {
        [
            (r.protocol, Some(r.first)),
            (r.protocol, r.last.checked_add(1)),
        ]
    });
    candidates
        .filter_map(|(protocol, port)| port.map(|port| (protocol, port)))
        .find(|&(protocol, port)| a.contains(protocol, port) != b.contains(protocol, port))
}

/// What [`prove_emitted`] checked, for the summary line, and the policies it read.
#[derive(Clone, Debug, PartialEq)]
pub struct Proof {
    pub policies: usize,
    pub classes: usize,
    /// The NetworkPolicies read back, which the rollout proof starts from rather than
    /// reading the YAML again (at 10k/50k, reading 124 MB is most of a rollout proof).
    pub loaded: Vec<LoadedPolicy>,
}

/// Reads the YAML of `dir` back (what `kubectl apply -f` would read), validates each
/// NetworkPolicy as the API server would, evaluates them over the model's topology, and
/// checks that they allow exactly what `cluster` declares. Each error is a line for people.
pub fn prove_emitted(cluster: &Cluster, dir: &std::path::Path) -> Result<Proof, Vec<String>> {
    prove_emitted_analysed(cluster, dir).map(|(proof, _)| proof)
}

/// [`prove_emitted`], with the analysis it proved on: over [`model_topology`], holding the
/// policies of [`Proof::loaded`], which the proofs of the rollouts take on.
pub fn prove_emitted_analysed(
    cluster: &Cluster,
    dir: &std::path::Path,
) -> Result<(Proof, Analysis), Vec<String>> {
    let mut inputs = crate::eval::load_dir(dir)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    inputs.topology = model_topology(cluster);
    // Validates every policy with the API server's rules before evaluating it.
    let analysis = Analysis::new(&inputs)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let problems: Vec<String> = check_intent(cluster, &analysis)
        .iter()
        .map(ToString::to_string)
        .collect();
    if problems.is_empty() {
        let proof = Proof {
            policies: inputs.policies.len(),
            classes: analysis.classes().len(),
            loaded: inputs.policies,
        };
        Ok((proof, analysis))
    } else {
        Err(problems)
    }
}

/// How many problems of a failed proof are listed; the rest are counted.
pub const SHOWN_PROBLEMS: usize = 20;

/// The first `shown` of `problems`, one line each, then `… and M more`, counted by the
/// endpoint, policy or file they are about (the text before ` -> `, ` (` or `: `), the
/// most frequent first: one emitter bug once printed 28,032 lines, which no one reads.
pub fn bounded_problems(problems: &[impl ToString], shown: usize) -> Vec<String> {
    let mut lines: Vec<String> = problems
        .iter()
        .take(shown)
        .map(ToString::to_string)
        .collect();
    let rest = &problems[lines.len()..];
    if rest.is_empty() {
        return lines;
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    for problem in rest {
        let text = problem.to_string();
        let end = [" -> ", " (", ": "]
            .iter()
            .filter_map(|separator| text.find(separator))
            .min()
            .unwrap_or(text.len());
        *counts.entry(text[..end].to_owned()).or_default() += 1;
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let named = if counts.len() <= 4 { counts.len() } else { 3 };
    let mut about: Vec<String> = counts[..named]
        .iter()
        .map(|(subject, count)| format!("{count} about {subject}"))
        .collect();
    if named < counts.len() {
        let others: usize = counts[named..].iter().map(|(_, count)| count).sum();
        about.push(format!("{others} about {} others", counts.len() - named));
    }
    lines.push(format!(
        "… and {} more ({}); fix the first ones and run again",
        rest.len(),
        about.join(", ")
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_of_problems_is_cut_and_the_rest_counted_by_subject() {
        let problems: Vec<String> = (0..28_032)
            .map(|i| format!("ns/w{} -> ns/x: the ingress of ns/x allows 1/tcp", i % 4))
            .collect();
        let lines = bounded_problems(&problems, SHOWN_PROBLEMS);
        assert_eq!(lines.len(), SHOWN_PROBLEMS + 1);
        assert_eq!(lines[0], problems[0]);
        assert_eq!(
            lines[SHOWN_PROBLEMS],
            "… and 28012 more (7003 about ns/w0, 7003 about ns/w1, 7003 about ns/w2, \
             7003 about ns/w3); fix the first ones and run again"
        );
        assert_eq!(
            bounded_problems(&problems[..3], SHOWN_PROBLEMS),
            &problems[..3]
        );
    }
}
