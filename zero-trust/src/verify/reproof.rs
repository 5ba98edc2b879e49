//! The proof kept up to date across changes: after a few policies or flows change, only
//! what they can affect is decided again, and the answer is the one [`check_intent`]
//! gives for the new policies and cluster.
//!
//! Why that is exact: [`check_intent`] reports a side of a pair when the YAML and the flows
//! disagree on it. The egress side of a pair depends only on the source's selecting
//! policies and the flows from it, the ingress side only on the destination's selecting
//! policies and the flows into it. So each mismatch has an owner (the source for egress,
//! the destination for ingress), and an owner's mismatches change only when a policy that
//! selects it changes (old or new version) or a flow of which it is a member changes.
//! Those owners are decided again, over every other end its grants or its flows name (a
//! side that names neither allows nothing, as the model then declares when the isolation
//! agrees); every other owner keeps its mismatches. What a pair's flows declare is written
//! once, for the full proof and here: [`FlowDeclaration::declare`]. A change that gives the
//! analysis other endpoint classes or the model other ends ([`UpdateRefused::OtherClasses`],
//! other workloads, namespaces or CIDRs) or other pods (other port names on a flow's target:
//! [`other_named_ports`]) is proven afresh.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{
    DeclaredSides, FlowDeclaration, Matcher, Mismatch, check_intent_isolation, declared_sides,
    pair_mismatch, port_names_of_targets,
};
use crate::cluster::Cluster;
use crate::eval::analysis::PeerRef;
use crate::eval::{Analysis, ClassId, CompileError, Direction, LoadedPolicy, UpdateRefused};
use crate::model::{EndpointKey, Flow, PortName};
use zero_trust_rules::PortRange;

/// Which policies a change writes (new or replaced, by namespace and name) and removes;
/// each policy at most once in either.
#[derive(Clone, Debug, Default)]
pub struct PolicyChange {
    pub written: Vec<LoadedPolicy>,
    pub removed: Vec<(String, String)>,
}

impl PolicyChange {
    /// The change from `old` to `new`, policies matched by namespace and name and compared
    /// by their objects (not by where they were read).
    pub fn between(old: &[LoadedPolicy], new: &[LoadedPolicy]) -> PolicyChange {
        let old_by_key: HashMap<(String, String), &LoadedPolicy> =
            old.iter().map(|p| (key(p), p)).collect();
        let mut change = PolicyChange::default();
        let mut kept = std::collections::HashSet::new();
        for policy in new {
            let k = key(policy);
            match old_by_key.get(&k) {
                Some(existing) if existing.policy == policy.policy => {}
                _ => change.written.push(policy.clone()),
            }
            kept.insert(k);
        }
        change.removed = old.iter().map(key).filter(|k| !kept.contains(k)).collect();
        change
    }
}

fn key(policy: &LoadedPolicy) -> (String, String) {
    (
        crate::eval::topology::policy_namespace(&policy.policy).to_owned(),
        policy.policy.metadata.name.clone().unwrap_or_default(),
    )
}

/// How a re-proof went: decided again for a few owners, or afresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reproved {
    /// Pod classes whose selecting policies changed, and the owners of egress and ingress
    /// sides decided again.
    Incremental {
        pods: usize,
        egress_owners: usize,
        ingress_owners: usize,
    },
    /// Proven afresh, and why.
    Afresh(String),
}

/// A cluster, its emitted policies, their analysis and where they disagree, kept so that a
/// change is proven by deciding only what it can affect ([`ProvenState::reprove`]).
pub struct ProvenState {
    cluster: Cluster,
    /// The policies, by index of the analysis; `None` where one was removed.
    policies: Vec<Option<LoadedPolicy>>,
    slots: HashMap<(String, String), usize>,
    analysis: Analysis,
    matcher: Matcher,
    /// Per class: the ends of the model it is a member of.
    ends_of: Vec<Vec<EndpointKey>>,
    /// The flows, as they declare sides, by their two ends.
    flows: HashMap<(EndpointKey, EndpointKey), Vec<FlowDeclaration>>,
    declared: HashMap<ClassId, HashMap<ClassId, DeclaredSides>>,
    /// Per destination, the sources `declared` has a pair for.
    declared_into: HashMap<ClassId, BTreeSet<ClassId>>,
    /// By (pod class, ingress 0 / egress 1), as [`check_intent`] orders them.
    isolation: BTreeMap<(ClassId, usize), Mismatch>,
    /// Egress mismatches by (source, destination).
    egress: BTreeMap<(ClassId, ClassId), Mismatch>,
    /// Ingress mismatches by (destination, source): each owner's together.
    ingress: BTreeMap<(ClassId, ClassId), Mismatch>,
}

impl ProvenState {
    /// Analyses `policies` over the cluster's topology and decides every side: the cost of
    /// [`check_intent`], once.
    pub fn new(
        cluster: Cluster,
        policies: Vec<LoadedPolicy>,
    ) -> Result<ProvenState, Vec<CompileError>> {
        let analysis = Analysis::from_parts(&policies, &super::model_topology(&cluster))?;
        let matcher = Matcher::new(&cluster, &analysis);
        let declared = declared_sides(&cluster, &matcher, &analysis);
        let mut declared_into: HashMap<ClassId, BTreeSet<ClassId>> = HashMap::new();
        for (&source, destinations) in &declared {
            for &destination in destinations.keys() {
                declared_into.entry(destination).or_default().insert(source);
            }
        }
        let mut ends_of = vec![Vec::new(); analysis.classes().len()];
        for (end, members) in &matcher.members {
            for &member in members {
                ends_of[member as usize].push(*end);
            }
        }
        let mut flows: HashMap<(EndpointKey, EndpointKey), Vec<FlowDeclaration>> = HashMap::new();
        for flow in &cluster.flows {
            flows
                .entry((flow.from.key(), flow.to.key()))
                .or_default()
                .push(FlowDeclaration::new(flow));
        }
        let slots = policies
            .iter()
            .enumerate()
            .map(|(i, p)| (key(p), i))
            .collect();
        let mut state = ProvenState {
            cluster,
            policies: policies.into_iter().map(Some).collect(),
            slots,
            analysis,
            matcher,
            ends_of,
            flows,
            declared,
            declared_into,
            isolation: BTreeMap::new(),
            egress: BTreeMap::new(),
            ingress: BTreeMap::new(),
        };
        let classes = state.analysis.classes().len() as ClassId;
        state.decide(
            (0..classes).collect(),
            (0..classes).collect(),
            (0..classes).collect(),
        );
        Ok(state)
    }

    /// Where the policies and the cluster disagree: what [`check_intent`] returns for them.
    pub fn mismatches(&self) -> Vec<Mismatch> {
        if !self.isolation.is_empty() {
            return self.isolation.values().cloned().collect();
        }
        // By source, destination, then egress before ingress.
        let mut pairs: Vec<((ClassId, ClassId, usize), &Mismatch)> = self
            .egress
            .iter()
            .map(|(&(s, d), m)| ((s, d, 0), m))
            .chain(self.ingress.iter().map(|(&(d, s), m)| ((s, d, 1), m)))
            .collect();
        pairs.sort_unstable_by_key(|(k, _)| *k);
        pairs.into_iter().map(|(_, m)| m.clone()).collect()
    }

    /// The policies, in the order of the analysis (removed ones left out, new ones last).
    pub fn policies(&self) -> impl Iterator<Item = &LoadedPolicy> {
        self.policies.iter().flatten()
    }

    pub fn analysis(&self) -> &Analysis {
        &self.analysis
    }

    /// Proves `cluster` against the policies after `change`, deciding again only the sides
    /// the change can affect. On an invalid policy nothing changes.
    pub fn reprove(
        &mut self,
        cluster: Cluster,
        change: PolicyChange,
    ) -> Result<Reproved, Vec<CompileError>> {
        let flows = changed_flows(&self.cluster.flows, &cluster.flows);
        let names_changed = flows.values().any(|(flow, _)| !flow.port_names.is_empty());
        let why = other_ends(&self.cluster, &cluster).or_else(|| {
            names_changed
                .then(|| other_named_ports(&self.cluster, &cluster))
                .flatten()
        });
        if let Some(why) = why {
            return self.afresh(cluster, change, why);
        }
        let mut appended = self.policies.len();
        let mut changes: Vec<(usize, Option<&LoadedPolicy>)> = Vec::new();
        for policy in &change.written {
            let index = match self.slots.get(&key(policy)) {
                Some(&index) => index,
                None => {
                    appended += 1;
                    appended - 1
                }
            };
            changes.push((index, Some(policy)));
        }
        for removed in &change.removed {
            if let Some(&index) = self.slots.get(removed) {
                changes.push((index, None));
            }
        }
        let pods = match self.analysis.update(&changes) {
            Ok(pods) => pods,
            Err(UpdateRefused::Invalid(errors)) => return Err(errors),
            Err(UpdateRefused::OtherClasses(why)) => return self.afresh(cluster, change, why),
        };
        for (index, version) in changes {
            let version = version.cloned();
            if let Some(policy) = &version {
                self.slots.insert(key(policy), index);
            }
            if index >= self.policies.len() {
                self.policies.push(version);
            } else {
                self.policies[index] = version;
            }
        }
        for removed in &change.removed {
            self.slots.remove(removed);
        }

        let (mut egress, mut ingress) = self.change_flows(flows);
        self.cluster = cluster;
        egress.extend(&pods);
        ingress.extend(&pods);
        let reproved = Reproved::Incremental {
            pods: pods.len(),
            egress_owners: egress.len(),
            ingress_owners: ingress.len(),
        };
        self.decide(pods.into_iter().collect(), egress, ingress);
        Ok(reproved)
    }

    fn afresh(
        &mut self,
        cluster: Cluster,
        change: PolicyChange,
        why: String,
    ) -> Result<Reproved, Vec<CompileError>> {
        let removed: std::collections::HashSet<_> = change.removed.into_iter().collect();
        let mut written: HashMap<(String, String), LoadedPolicy> =
            change.written.into_iter().map(|p| (key(&p), p)).collect();
        let mut policies: Vec<LoadedPolicy> = Vec::new();
        for policy in self.policies.iter().flatten() {
            let k = key(policy);
            if removed.contains(&k) {
                continue;
            }
            policies.push(written.remove(&k).unwrap_or_else(|| policy.clone()));
        }
        let mut added: Vec<LoadedPolicy> = written.into_values().collect();
        added.sort_by_key(key);
        policies.extend(added);
        *self = ProvenState::new(cluster, policies)?;
        Ok(Reproved::Afresh(why))
    }

    /// Applies `changed` (flows of the proven cluster and of the new one, counted as in
    /// [`changed_flows`]) to the declared sides; returns the egress and ingress owners it
    /// touches.
    fn change_flows(
        &mut self,
        changed: HashMap<FlowKey, (Flow, i64)>,
    ) -> (BTreeSet<ClassId>, BTreeSet<ClassId>) {
        let (mut egress, mut ingress) = (BTreeSet::new(), BTreeSet::new());
        let mut pairs = BTreeSet::new();
        for ((from, to, ..), (flow, n)) in changed.into_iter().filter(|(_, (_, n))| *n != 0) {
            let list = self.flows.entry((from, to)).or_default();
            let declaration = FlowDeclaration::new(&flow);
            for _ in 0..n.max(0) {
                list.push(declaration.clone());
            }
            for _ in 0..(-n).max(0) {
                if let Some(at) = list.iter().position(|d| *d == declaration) {
                    list.swap_remove(at);
                }
            }
            let sources = self.matcher.members.get(&from).cloned().unwrap_or_default();
            let destinations = self.matcher.members.get(&to).cloned().unwrap_or_default();
            egress.extend(&sources);
            ingress.extend(&destinations);
            for &source in &sources {
                for &destination in &destinations {
                    pairs.insert((source, destination));
                }
            }
        }
        for (source, destination) in pairs {
            self.declare_pair(source, destination);
        }
        (egress, ingress)
    }

    /// Recomputes what the flows declare for one pair, through the rule [`declared_sides`]
    /// applies to every pair ([`FlowDeclaration::declare`]).
    fn declare_pair(&mut self, source: ClassId, destination: ClassId) {
        let mut sides: Option<DeclaredSides> = None;
        for from in &self.ends_of[source as usize] {
            for to in &self.ends_of[destination as usize] {
                for flow in self.flows.get(&(*from, *to)).into_iter().flatten() {
                    let pair = sides.get_or_insert_with(DeclaredSides::default);
                    flow.declare(pair, source, destination, &self.matcher, &self.analysis);
                }
            }
        }
        match sides {
            Some(sides) => {
                self.declared
                    .entry(source)
                    .or_default()
                    .insert(destination, sides);
                self.declared_into
                    .entry(destination)
                    .or_default()
                    .insert(source);
            }
            None => {
                if let Some(row) = self.declared.get_mut(&source) {
                    row.remove(&destination);
                }
                if let Some(column) = self.declared_into.get_mut(&destination) {
                    column.remove(&source);
                }
            }
        }
    }

    /// Decides again the isolation of `pods`, the egress sides owned by `egress` and the
    /// ingress sides owned by `ingress`.
    fn decide(
        &mut self,
        pods: BTreeSet<ClassId>,
        egress: BTreeSet<ClassId>,
        ingress: BTreeSet<ClassId>,
    ) {
        for pod in pods {
            for (d, direction) in [(0, Direction::Ingress), (1, Direction::Egress)] {
                self.isolation.remove(&(pod, d));
                let managed = self.matcher.managed.get(pod as usize).copied();
                if let Some(mismatch) =
                    managed.and_then(|m| check_intent_isolation(&self.analysis, pod, direction, m))
                {
                    self.isolation.insert((pod, d), mismatch);
                }
            }
        }
        let owned = |owner: ClassId| (owner, 0)..=(owner, ClassId::MAX);
        for owner in egress {
            let stale: Vec<_> = self.egress.range(owned(owner)).map(|(k, _)| *k).collect();
            for k in stale {
                self.egress.remove(&k);
            }
            for destination in self.egress_candidates(owner) {
                self.decide_side(owner, destination, Direction::Egress);
            }
        }
        for owner in ingress {
            let stale: Vec<_> = self.ingress.range(owned(owner)).map(|(k, _)| *k).collect();
            for k in stale {
                self.ingress.remove(&k);
            }
            for source in self.ingress_candidates(owner) {
                self.decide_side(source, owner, Direction::Ingress);
            }
        }
    }

    fn decide_side(&mut self, source: ClassId, destination: ClassId, direction: Direction) {
        let declared = self.declared.get(&source).and_then(|d| d.get(&destination));
        let (emitted, declared) = match direction {
            Direction::Egress => (
                self.analysis.egress_side(source, destination),
                self.matcher.side(source, declared.map(|s| &s.egress)),
            ),
            Direction::Ingress => (
                self.analysis.ingress_side(source, destination),
                self.matcher.side(destination, declared.map(|s| &s.ingress)),
            ),
        };
        if declared != emitted {
            let mismatch = pair_mismatch(
                &self.analysis,
                source,
                destination,
                direction,
                declared,
                emitted,
            );
            match direction {
                Direction::Egress => self.egress.insert((source, destination), mismatch),
                Direction::Ingress => self.ingress.insert((destination, source), mismatch),
            };
        }
    }

    /// Every destination on which `source`'s egress side may allow something: its grants'
    /// peers and its declared destinations. None for an address (its side is external).
    fn egress_candidates(&self, source: ClassId) -> Vec<ClassId> {
        if source >= self.matcher.first_address {
            return Vec::new();
        }
        let grants = &self.analysis.grants[1][source as usize];
        let mut out = self.peers(grants.iter().map(|g| g.peers));
        out.extend(
            self.declared
                .get(&source)
                .into_iter()
                .flat_map(|d| d.keys()),
        );
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Likewise for the ingress side of `destination`.
    fn ingress_candidates(&self, destination: ClassId) -> Vec<ClassId> {
        if destination >= self.matcher.first_address {
            return Vec::new();
        }
        let grants = &self.analysis.grants[0][destination as usize];
        let mut out = self.peers(grants.iter().map(|g| g.peers));
        out.extend(self.declared_into.get(&destination).into_iter().flatten());
        out.sort_unstable();
        out.dedup();
        out
    }

    fn peers(&self, peers: impl Iterator<Item = PeerRef>) -> Vec<ClassId> {
        let mut out = Vec::new();
        for peers in peers {
            match peers {
                PeerRef::All => out.extend(0..self.analysis.classes().len() as ClassId),
                PeerRef::Set(id) => out.extend(&self.analysis.peer_sets[id as usize]),
            }
        }
        out
    }
}

/// A flow as a change compares it: its ends, ports and port names (not its reason).
type FlowKey = (
    EndpointKey,
    EndpointKey,
    &'static [PortRange],
    &'static [PortName],
);

fn flow_key(flow: &Flow) -> FlowKey {
    (flow.from.key(), flow.to.key(), flow.ports, flow.port_names)
}

/// The flows that differ between `old` and `new`, past the lines both start and end with,
/// each with how many more times `new` holds it (negative: fewer; zero: moved only).
fn changed_flows(old: &[Flow], new: &[Flow]) -> HashMap<FlowKey, (Flow, i64)> {
    let same = |a: &Flow, b: &Flow| flow_key(a) == flow_key(b);
    let prefix = old.iter().zip(new).take_while(|(a, b)| same(a, b)).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| same(a, b))
        .count();
    let mut count: HashMap<FlowKey, (Flow, i64)> = HashMap::new();
    let old = old[prefix..old.len() - suffix].iter().map(|f| (f, -1));
    let new = new[prefix..new.len() - suffix].iter().map(|f| (f, 1));
    for (flow, n) in old.chain(new) {
        count.entry(flow_key(flow)).or_insert((*flow, 0)).1 += n;
    }
    count
}

/// Why the model's pods differ between `old` and `new` although their ends are the same:
/// [`super::model_topology`] gives a flow's target the port names its flows name, each a
/// number of its own across all names, so a flow naming a port may give the analysis
/// another topology, which only a proof afresh reads. The declared sides themselves are
/// kept per flow, names and all ([`FlowDeclaration`]); only the pods are the reason.
fn other_named_ports(old: &Cluster, new: &Cluster) -> Option<String> {
    (port_names_of_targets(old) != port_names_of_targets(new))
        .then(|| "the port names flows give their targets changed".to_owned())
}

/// Why two clusters do not have the same ends (namespaces, workloads, CIDRs, managed
/// namespaces), so that a re-proof must start afresh; `None` when they have. The model's
/// objects are `'static`: the same object is the same address.
fn other_ends(old: &Cluster, new: &Cluster) -> Option<String> {
    let same_namespaces = old.namespaces.len() == new.namespaces.len()
        && old
            .namespaces
            .iter()
            .zip(&new.namespaces)
            .all(|((a, x), (b, y))| a == b && std::ptr::eq(*x, *y));
    let same_workloads = old.workloads.len() == new.workloads.len()
        && old
            .workloads
            .iter()
            .zip(&new.workloads)
            .all(|((a, x), (b, y))| a == b && std::ptr::eq(*x, *y));
    let same_cidrs = old.cidrs.len() == new.cidrs.len()
        && old
            .cidrs
            .iter()
            .zip(&new.cidrs)
            .all(|(x, y)| std::ptr::eq(*x, *y));
    match (same_namespaces, same_workloads, same_cidrs) {
        (false, _, _) => Some("the namespaces changed".to_owned()),
        (_, false, _) => Some("the workloads changed".to_owned()),
        (_, _, false) => Some("the CIDRs changed".to_owned()),
        _ => None,
    }
}
