//! The exact analysis: policies compiled, peers resolved once to sets of endpoint classes,
//! and per pod class and direction the isolation and the grants that allow traffic.
//!
//! Cost is linear in what the policies say, not in pods squared: each distinct peer is
//! resolved once (memoized), each policy's pod selector once through the label index, and a
//! pod keeps one grant per distinct peer set of the rules that select it, so a query for a
//! pair of classes is a few binary searches.

use std::collections::HashMap;
use std::net::IpAddr;

use super::addresses::{AddressSpace, IpBlock};
use super::classes::{ClassId, EndpointClass, Universe, named_namespaces};
use super::policy::{
    CompileError, CompiledPolicy, Direction, NamespaceScope, Peer, Peers, compile,
};
use super::ports::PortSet;
use super::selector::Selector;
use super::topology::{Inputs, LoadedPolicy, NamedPort, Provenance, Topology};

/// The peers of one rule, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum PeerRef {
    /// Every endpoint class, pods and addresses alike (`from`/`to` absent or empty).
    All,
    /// An entry of `Analysis::peer_sets`.
    Set(u32),
}

#[derive(Clone, Debug)]
pub(crate) enum GrantPorts {
    Fixed(PortSet),
    /// An egress rule with named ports: resolved on each destination pod.
    PerDestination {
        policy: u32,
        rule: u32,
    },
}

/// "The other end is in `peers`, on these ports": the union of a pod's grants for a
/// direction is exactly what its selecting policies allow in that direction.
#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub peers: PeerRef,
    pub ports: GrantPorts,
}

/// A loaded policy with its meaning.
#[derive(Clone, Debug)]
pub struct PolicyInfo {
    /// `namespace/name`.
    pub name: String,
    pub source: Provenance,
    pub compiled: CompiledPolicy,
}

/// What one side (the source's egress or the destination's ingress) says about a pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Side {
    /// No policy selecting the pod has this direction in its `policyTypes`: "By default, a
    /// pod is non-isolated for egress [ingress]; all outbound [inbound] connections are
    /// allowed" (docs, "The two sorts of pod isolation").
    NotIsolated,
    /// The endpoint is an address outside the cluster: no NetworkPolicy applies there.
    External,
    /// The pod is isolated: exactly these ports are allowed, the union over every rule of
    /// every selecting policy ("policies are additive").
    Isolated(PortSet),
}

impl Side {
    pub fn allowed(&self) -> PortSet {
        match self {
            Side::NotIsolated | Side::External => PortSet::all(),
            Side::Isolated(ports) => ports.clone(),
        }
    }
}

/// Everything about one (source, destination) pair of classes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub egress: Side,
    pub ingress: Side,
    /// "For a connection from a source pod to a destination pod to be allowed, both the
    /// egress policy on the source pod and the ingress policy on the destination pod need
    /// to allow the connection" (docs, "The two sorts of pod isolation").
    pub end_to_end: PortSet,
}

/// The analysis of a set of policies over a topology.
#[derive(Clone, Debug)]
pub struct Analysis {
    pub(crate) universe: Universe,
    pub(crate) policies: Vec<PolicyInfo>,
    /// Sorted class ids, one per distinct peer or union of peers.
    pub(crate) peer_sets: Vec<Vec<ClassId>>,
    /// Per policy, per direction (ingress, egress), per rule.
    pub(crate) rule_peers: Vec<[Vec<PeerRef>; 2]>,
    /// Per pod class: the policies whose `podSelector` selects it, whatever their types.
    pub(crate) selecting: Vec<Vec<u32>>,
    /// Per direction, per pod class.
    pub(crate) isolated: [Vec<bool>; 2],
    pub(crate) grants: [Vec<Vec<Grant>>; 2],
    /// For each ingress peer set: the pods with an ingress grant on it.
    pub(crate) ingress_users: HashMap<PeerRef, Vec<ClassId>>,
    /// Per class: the ingress peer sets (ids into `peer_sets`) that contain it.
    pub(crate) member_of_ingress_sets: Vec<Vec<u32>>,
    /// Each distinct peer resolved so far, so a policy changed later ([`super::update`])
    /// reuses the sets of the peers it shares with the rest.
    pub(crate) resolved: ResolvedPeers,
    /// How many peers of the policies are each ipBlock: the address classes are cut at
    /// every ipBlock used, so an update must neither add a new one nor drop the last use.
    pub(crate) block_uses: HashMap<IpBlock, u32>,
}

/// The peers resolved so far, by what they say.
#[derive(Clone, Debug, Default)]
pub(crate) struct ResolvedPeers {
    namespaces_of: HashMap<Selector, Vec<u32>>,
    pods_of: HashMap<(Vec<u32>, Selector), u32>,
    blocks_of: HashMap<IpBlock, u32>,
    unions: HashMap<Vec<u32>, u32>,
}

pub(crate) fn slot(direction: Direction) -> usize {
    match direction {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}

impl Analysis {
    pub fn new(inputs: &Inputs) -> Result<Analysis, Vec<CompileError>> {
        Analysis::from_parts(&inputs.policies, &inputs.topology)
    }

    pub fn from_parts<'a>(
        policies: impl IntoIterator<Item = &'a LoadedPolicy>,
        topology: &Topology,
    ) -> Result<Analysis, Vec<CompileError>> {
        let mut errors = Vec::new();
        let mut compiled = Vec::new();
        // Each policy is validated and compiled on its own: on every core, in order.
        let policies: Vec<&LoadedPolicy> = policies.into_iter().collect();
        let results = crate::parallel::map_in_order(&policies, |loaded| compile(loaded));
        for (loaded, result) in policies.into_iter().zip(results) {
            match result {
                Ok(c) => compiled.push(PolicyInfo {
                    name: loaded.display_name(),
                    source: loaded.source.clone(),
                    compiled: c,
                }),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let all_peers = || compiled.iter().flat_map(|p| p.compiled.peers());
        let blocks: Vec<&IpBlock> = all_peers()
            .filter_map(|p| match p {
                Peer::Block(b) => Some(b),
                Peer::Pods { .. } => None,
            })
            .collect();
        let mut extra_namespaces: Vec<String> = compiled
            .iter()
            .map(|p| p.compiled.namespace.clone())
            .collect();
        for peer in all_peers() {
            if let Peer::Pods {
                namespaces: NamespaceScope::Selected(selector),
                ..
            } = peer
            {
                extra_namespaces.extend(named_namespaces(selector).cloned());
            }
        }
        let mut block_uses: HashMap<IpBlock, u32> = HashMap::new();
        for block in &blocks {
            *block_uses.entry((*block).clone()).or_default() += 1;
        }
        let universe = Universe::new(topology, &extra_namespaces, AddressSpace::new(blocks));
        let mut analysis = Analysis {
            universe,
            policies: compiled,
            peer_sets: Vec::new(),
            rule_peers: Vec::new(),
            selecting: Vec::new(),
            isolated: [Vec::new(), Vec::new()],
            grants: [Vec::new(), Vec::new()],
            ingress_users: HashMap::new(),
            member_of_ingress_sets: Vec::new(),
            resolved: ResolvedPeers::default(),
            block_uses,
        };
        analysis.resolve_peers();
        analysis.select_pods();
        analysis.build_grants();
        Ok(analysis)
    }

    /// Turns every rule's peers into a [`PeerRef`], each distinct peer resolved once.
    fn resolve_peers(&mut self) {
        let rule_peers = (0..self.policies.len())
            .map(|p| self.resolve_policy_peers(p))
            .collect();
        self.rule_peers = rule_peers;
    }

    /// The [`PeerRef`] of each rule of policy `p`, per direction.
    pub(crate) fn resolve_policy_peers(&mut self, p: usize) -> [Vec<PeerRef>; 2] {
        let universe = &self.universe;
        let ResolvedPeers {
            namespaces_of,
            pods_of,
            blocks_of,
            unions,
        } = &mut self.resolved;
        let peer_sets = &mut self.peer_sets;
        let policy = &self.policies[p];
        let own_namespace = universe.namespace_ids[&policy.compiled.namespace];
        let mut per_direction: [Vec<PeerRef>; 2] = [Vec::new(), Vec::new()];
        for direction in [Direction::Ingress, Direction::Egress] {
            for rule in policy.compiled.rules(direction) {
                let list = match &rule.peers {
                    Peers::All => {
                        per_direction[slot(direction)].push(PeerRef::All);
                        continue;
                    }
                    Peers::Listed(list) => list,
                };
                let mut ids: Vec<u32> = Vec::with_capacity(list.len());
                for peer in list {
                    let id = match peer {
                        Peer::Pods { namespaces, pods } => {
                            let namespace_ids = match namespaces {
                                NamespaceScope::PolicyNamespace => vec![own_namespace],
                                NamespaceScope::Selected(selector) => namespaces_of
                                    .entry(selector.clone())
                                    .or_insert_with(|| universe.select_namespaces(selector))
                                    .clone(),
                            };
                            *pods_of
                                .entry((namespace_ids, pods.clone()))
                                .or_insert_with_key(|(namespace_ids, pods)| {
                                    let mut set: Vec<ClassId> = namespace_ids
                                        .iter()
                                        .flat_map(|&n| universe.select_pods(n, pods))
                                        .collect();
                                    set.sort_unstable();
                                    intern(peer_sets, set)
                                })
                        }
                        Peer::Block(block) => {
                            *blocks_of.entry(block.clone()).or_insert_with(|| {
                                let offset = universe.pod_count();
                                let set = universe
                                    .addresses
                                    .members(block)
                                    .into_iter()
                                    .map(|a| a + offset)
                                    .collect();
                                intern(peer_sets, set)
                            })
                        }
                    };
                    ids.push(id);
                }
                ids.sort_unstable();
                ids.dedup();
                // A rule with several peers allows the union ("any peer" matching).
                let id = if ids.len() == 1 {
                    ids[0]
                } else {
                    match unions.get(&ids) {
                        Some(&id) => id,
                        None => {
                            let mut set: Vec<ClassId> = ids
                                .iter()
                                .flat_map(|&i| peer_sets[i as usize].iter().copied())
                                .collect();
                            set.sort_unstable();
                            set.dedup();
                            let id = intern(peer_sets, set);
                            unions.insert(ids, id);
                            id
                        }
                    }
                };
                per_direction[slot(direction)].push(PeerRef::Set(id));
            }
        }
        per_direction
    }

    /// Which policies select each pod class: `podSelector` within the policy's namespace.
    fn select_pods(&mut self) {
        let mut selecting = vec![Vec::new(); self.universe.pods.len()];
        for (p, policy) in self.policies.iter().enumerate() {
            let namespace = self.universe.namespace_ids[&policy.compiled.namespace];
            for pod in self
                .universe
                .select_pods(namespace, &policy.compiled.pod_selector)
            {
                selecting[pod as usize].push(p as u32);
            }
        }
        self.selecting = selecting;
    }

    fn build_grants(&mut self) {
        let pod_count = self.universe.pods.len();
        for direction in [Direction::Ingress, Direction::Egress] {
            let d = slot(direction);
            let (isolated, grants) = (0..pod_count)
                .map(|pod| self.grants_of(pod, direction))
                .unzip();
            self.isolated[d] = isolated;
            self.grants[d] = grants;
        }
        let mut users: HashMap<PeerRef, Vec<ClassId>> = HashMap::new();
        for (pod, grants) in self.grants[slot(Direction::Ingress)].iter().enumerate() {
            for grant in grants {
                let list = users.entry(grant.peers).or_default();
                if list.last() != Some(&(pod as ClassId)) {
                    list.push(pod as ClassId);
                }
            }
        }
        let mut member_of = vec![Vec::new(); self.universe.classes.len()];
        for peers in users.keys() {
            if let PeerRef::Set(id) = peers {
                for &member in &self.peer_sets[*id as usize] {
                    member_of[member as usize].push(*id);
                }
            }
        }
        self.ingress_users = users;
        self.member_of_ingress_sets = member_of;
    }

    /// Whether a pod class is isolated in `direction`, and its grants there: one per rule
    /// of its selecting policies, those with the same peers merged.
    pub(crate) fn grants_of(&self, pod: usize, direction: Direction) -> (bool, Vec<Grant>) {
        let d = slot(direction);
        let mut pod_isolated = false;
        let mut fixed: Vec<(PeerRef, PortSet)> = Vec::new();
        let mut grants = Vec::new();
        for &p in &self.selecting[pod] {
            let compiled = &self.policies[p as usize].compiled;
            // "A pod is isolated for egress [ingress] if there is any NetworkPolicy
            // that both selects the pod and has "Egress" ["Ingress"] in its
            // policyTypes" (docs) — even one with no rules, which allows nothing.
            if !compiled.affects(direction) {
                continue;
            }
            pod_isolated = true;
            for (r, rule) in compiled.rules(direction).iter().enumerate() {
                let peers = self.rule_peers[p as usize][d][r];
                let ports = match direction {
                    Direction::Ingress => rule
                        .ports
                        .resolve(Some(&self.universe.pods[pod].named_ports)),
                    Direction::Egress if rule.ports.uses_names() => {
                        grants.push(Grant {
                            peers,
                            ports: GrantPorts::PerDestination {
                                policy: p,
                                rule: r as u32,
                            },
                        });
                        continue;
                    }
                    Direction::Egress => rule.ports.resolve(None),
                };
                if ports.is_empty() {
                    continue;
                }
                match fixed.iter_mut().find(|(existing, _)| *existing == peers) {
                    Some((_, existing)) => existing.union_with(&ports),
                    None => fixed.push((peers, ports)),
                }
            }
        }
        grants.extend(fixed.into_iter().map(|(peers, ports)| Grant {
            peers,
            ports: GrantPorts::Fixed(ports),
        }));
        (pod_isolated, grants)
    }

    pub(crate) fn peers_contain(&self, peers: PeerRef, class: ClassId) -> bool {
        match peers {
            PeerRef::All => true,
            PeerRef::Set(id) => self.peer_sets[id as usize].binary_search(&class).is_ok(),
        }
    }

    /// Named ports of a destination class; `None` for an address.
    pub(crate) fn named_ports_of(&self, class: ClassId) -> Option<&[NamedPort]> {
        self.universe
            .pods
            .get(class as usize)
            .map(|p| &p.named_ports[..])
    }

    /// The ports a grant allows towards `destination`.
    pub(crate) fn grant_ports(&self, grant: &Grant, destination: ClassId) -> PortSet {
        match &grant.ports {
            GrantPorts::Fixed(ports) => ports.clone(),
            GrantPorts::PerDestination { policy, rule } => {
                self.policies[*policy as usize].compiled.egress[*rule as usize]
                    .ports
                    .resolve(self.named_ports_of(destination))
            }
        }
    }

    /// What the egress side of `source` allows towards `destination`.
    pub fn egress_side(&self, source: ClassId, destination: ClassId) -> Side {
        self.side(Direction::Egress, source, destination, destination)
    }

    /// What the ingress side of `destination` allows from `source`.
    pub fn ingress_side(&self, source: ClassId, destination: ClassId) -> Side {
        self.side(Direction::Ingress, destination, source, destination)
    }

    fn side(
        &self,
        direction: Direction,
        pod: ClassId,
        other: ClassId,
        destination: ClassId,
    ) -> Side {
        let d = slot(direction);
        let Some(&isolated) = self.isolated[d].get(pod as usize) else {
            return Side::External;
        };
        if !isolated {
            return Side::NotIsolated;
        }
        let mut allowed = PortSet::empty();
        for grant in &self.grants[d][pod as usize] {
            if self.peers_contain(grant.peers, other) {
                allowed.union_with(&self.grant_ports(grant, destination));
            }
        }
        Side::Isolated(allowed)
    }

    /// What `pod`'s side in `direction` allows of `other` if only the policies for which
    /// `present` holds existed (by index into [`Analysis::policies`]): the same rules as
    /// [`Analysis::egress_side`] and [`Analysis::ingress_side`], over a subset, so that the
    /// intermediate states of a rollout can be decided from one analysis of every version.
    pub fn side_among(
        &self,
        direction: Direction,
        pod: ClassId,
        other: ClassId,
        present: &dyn Fn(usize) -> bool,
    ) -> Side {
        let d = slot(direction);
        let Some(selecting) = self.selecting.get(pod as usize) else {
            return Side::External;
        };
        let destination = match direction {
            Direction::Ingress => pod,
            Direction::Egress => other,
        };
        let mut isolated = false;
        let mut allowed = PortSet::empty();
        for &p in selecting {
            let compiled = &self.policies[p as usize].compiled;
            if !present(p as usize) || !compiled.affects(direction) {
                continue;
            }
            isolated = true;
            for (r, rule) in compiled.rules(direction).iter().enumerate() {
                if self.peers_contain(self.rule_peers[p as usize][d][r], other) {
                    allowed.union_with(&rule.ports.resolve(self.named_ports_of(destination)));
                }
            }
        }
        if isolated {
            Side::Isolated(allowed)
        } else {
            Side::NotIsolated
        }
    }

    /// The rules of policy `p` in `direction`, as applied to `pod`: their resolved peers
    /// and ports; `None` for ports that depend on the destination (named egress ports).
    pub(crate) fn rules_at(
        &self,
        p: usize,
        direction: Direction,
        pod: ClassId,
    ) -> impl Iterator<Item = (PeerRef, Option<PortSet>)> + '_ {
        let d = slot(direction);
        let compiled = &self.policies[p].compiled;
        compiled
            .rules(direction)
            .iter()
            .enumerate()
            .map(move |(r, rule)| {
                let ports = match direction {
                    Direction::Ingress => Some(rule.ports.resolve(self.named_ports_of(pod))),
                    Direction::Egress if rule.ports.uses_names() => None,
                    Direction::Egress => Some(rule.ports.resolve(None)),
                };
                (self.rule_peers[p][d][r], ports)
            })
    }

    /// The indices of the policies whose `podSelector` selects a pod class.
    pub fn selecting_indices(&self, class: ClassId) -> &[u32] {
        self.selecting
            .get(class as usize)
            .map_or(&[], Vec::as_slice)
    }

    /// The three answers for one pair of classes.
    pub fn verdict(&self, source: ClassId, destination: ClassId) -> Verdict {
        let egress = self.egress_side(source, destination);
        let ingress = self.ingress_side(source, destination);
        let end_to_end = egress.allowed().intersection(&ingress.allowed());
        Verdict {
            egress,
            ingress,
            end_to_end,
        }
    }

    /// The ports allowed end to end from `source` to `destination`.
    pub fn end_to_end(&self, source: ClassId, destination: ClassId) -> PortSet {
        self.verdict(source, destination).end_to_end
    }

    pub fn classes(&self) -> &[EndpointClass] {
        &self.universe.classes
    }

    pub fn class(&self, id: ClassId) -> &EndpointClass {
        &self.universe.classes[id as usize]
    }

    pub fn policies(&self) -> &[PolicyInfo] {
        &self.policies
    }

    /// The labels of a pod class's namespace, as the topology gives them (with the name
    /// label the API server sets); `None` for an address.
    pub fn namespace_labels(&self, class: ClassId) -> Option<&super::Labels> {
        let pod = self.universe.pods.get(class as usize)?;
        Some(&self.universe.namespaces[pod.namespace as usize].labels)
    }

    /// A topology pod (or workload representative) by namespace and name.
    pub fn class_of_pod(&self, namespace: &str, name: &str) -> Option<ClassId> {
        self.universe.classes.iter().position(|c| matches!(c, EndpointClass::Pod(p) if p.namespace == namespace && p.name == name)).map(|i| i as ClassId)
    }

    /// The class of the pods of `namespace` that the topology does not list.
    pub fn class_of_other_pod(&self, namespace: &str) -> Option<ClassId> {
        self.universe
            .classes
            .iter()
            .position(|c| matches!(c, EndpointClass::OtherPodIn { namespace: n } if n == namespace))
            .map(|i| i as ClassId)
    }

    /// The class of a pod in a namespace no policy or topology names.
    pub fn class_of_unnamed_namespace_pod(&self) -> ClassId {
        self.universe.pod_count() - 1
    }

    pub fn class_of_address(&self, address: IpAddr) -> ClassId {
        self.universe.pod_count() + self.universe.addresses.class_of(address)
    }

    /// Whether a pod class is isolated in `direction`; an address never is.
    pub fn is_isolated(&self, class: ClassId, direction: Direction) -> bool {
        self.isolated[slot(direction)]
            .get(class as usize)
            .copied()
            .unwrap_or(false)
    }

    /// The policies whose `podSelector` selects a pod class, whatever their types.
    pub fn selecting_policies(&self, class: ClassId) -> impl Iterator<Item = &PolicyInfo> {
        self.selecting
            .get(class as usize)
            .into_iter()
            .flatten()
            .map(|&p| &self.policies[p as usize])
    }
}

fn intern(peer_sets: &mut Vec<Vec<ClassId>>, set: Vec<ClassId>) -> u32 {
    peer_sets.push(set);
    (peer_sets.len() - 1) as u32
}
