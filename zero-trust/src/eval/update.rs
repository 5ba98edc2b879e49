//! Changing a few policies of an [`Analysis`] in place: the pods their old and new
//! versions select get their sides rebuilt, everything else is kept. What the analysis
//! answers afterwards is what a fresh analysis of the new set of policies (in the order of
//! [`Analysis::policies`]) answers; when the change would give the fresh analysis other
//! endpoint classes, the update is refused and the caller analyses afresh.

use std::collections::{BTreeSet, HashMap};

use super::addresses::IpBlock;
use super::analysis::{Analysis, PeerRef, PolicyInfo, slot};
use super::classes::{ClassId, named_namespaces};
use super::policy::{CompileError, CompiledPolicy, Direction, NamespaceScope, Peer, compile};
use super::selector::Selector;
use super::topology::LoadedPolicy;

/// Why [`Analysis::update`] changed nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateRefused {
    /// A new version breaks the API server's validation.
    Invalid(Vec<CompileError>),
    /// The change gives the analysis other endpoint classes: it names a namespace outside
    /// the topology, or adds or drops the last use of an ipBlock (address classes are cut
    /// at every ipBlock).
    OtherClasses(String),
}

impl Analysis {
    /// Writes each `(index, version)` of `changes` into [`Analysis::policies`]: a new
    /// version at `index`, appended when `index` is the number of policies, or, for
    /// `None`, the policy removed (its index stays, holding a policy that selects no pod).
    /// Each index at most once. Returns the pod classes whose sides may have changed: those
    /// that an old or a new version selects.
    pub fn update(
        &mut self,
        changes: &[(usize, Option<&LoadedPolicy>)],
    ) -> Result<Vec<ClassId>, UpdateRefused> {
        let mut errors = Vec::new();
        let mut versions = Vec::with_capacity(changes.len());
        for &(index, loaded) in changes {
            let version = match loaded {
                Some(loaded) => match compile(loaded) {
                    Ok(compiled) => PolicyInfo {
                        name: loaded.display_name(),
                        source: loaded.source.clone(),
                        compiled,
                    },
                    Err(mut e) => {
                        errors.append(&mut e);
                        continue;
                    }
                },
                None => match self.policies.get(index) {
                    Some(old) => removed(old),
                    None => continue,
                },
            };
            versions.push((index, version));
        }
        if !errors.is_empty() {
            return Err(UpdateRefused::Invalid(errors));
        }
        let block_uses = self.same_classes_after(&versions)?;

        let mut affected = BTreeSet::new();
        for (index, version) in versions {
            if let Some(old) = self.policies.get(index) {
                for pod in self.selected_by(&old.compiled) {
                    let list = &mut self.selecting[pod as usize];
                    if let Ok(at) = list.binary_search(&(index as u32)) {
                        list.remove(at);
                    }
                    affected.insert(pod);
                }
            }
            for pod in self.selected_by(&version.compiled) {
                let list = &mut self.selecting[pod as usize];
                if let Err(at) = list.binary_search(&(index as u32)) {
                    list.insert(at, index as u32);
                }
                affected.insert(pod);
            }
            if index < self.policies.len() {
                self.policies[index] = version;
                self.rule_peers[index] = self.resolve_policy_peers(index);
            } else {
                self.policies.push(version);
                let peers = self.resolve_policy_peers(index);
                self.rule_peers.push(peers);
            }
        }
        self.block_uses = block_uses;
        for &pod in &affected {
            self.rebuild_sides(pod as usize);
        }
        Ok(affected.into_iter().collect())
    }

    /// The pod classes a policy's `podSelector` selects in its namespace.
    fn selected_by(&self, policy: &CompiledPolicy) -> Vec<ClassId> {
        match self.universe.namespace_ids.get(&policy.namespace) {
            Some(&namespace) => self.universe.select_pods(namespace, &policy.pod_selector),
            None => Vec::new(),
        }
    }

    /// Refuses the change when a fresh analysis of its outcome would have other endpoint
    /// classes; otherwise returns how often each ipBlock is used after it.
    fn same_classes_after(
        &self,
        versions: &[(usize, PolicyInfo)],
    ) -> Result<HashMap<IpBlock, u32>, UpdateRefused> {
        let mut block_uses = self.block_uses.clone();
        let old = versions
            .iter()
            .filter_map(|(index, _)| self.policies.get(*index));
        for policy in old {
            for block in blocks_of(&policy.compiled) {
                if let Some(uses) = block_uses.get_mut(block) {
                    *uses -= 1;
                }
            }
        }
        // Every namespace an old or a new version names must be the topology's: the others
        // have classes only because some policy names them, so the change could add or
        // drop classes.
        let old = versions
            .iter()
            .filter_map(|(index, _)| self.policies.get(*index));
        for policy in old.chain(versions.iter().map(|(_, version)| version)) {
            let outside = |name: &&String| {
                self.universe
                    .namespace_ids
                    .get(*name)
                    .is_none_or(|&id| id >= self.universe.topology_namespaces)
            };
            if let Some(name) = namespaces_named_by(&policy.compiled).find(outside) {
                return Err(UpdateRefused::OtherClasses(format!(
                    "{} names namespace `{name}`, which the topology does not hold",
                    policy.name
                )));
            }
        }
        for (_, policy) in versions {
            for block in blocks_of(&policy.compiled) {
                match block_uses.get_mut(block) {
                    Some(uses) => *uses += 1,
                    None => {
                        return Err(UpdateRefused::OtherClasses(format!(
                            "{} uses ipBlock {}, which no other policy uses",
                            policy.name, block.cidr
                        )));
                    }
                }
            }
        }
        if let Some((block, _)) = block_uses.iter().find(|(_, uses)| **uses == 0) {
            return Err(UpdateRefused::OtherClasses(format!(
                "no policy uses ipBlock {} any more",
                block.cidr
            )));
        }
        Ok(block_uses)
    }

    /// Rebuilds a pod class's isolation and grants in both directions, and the index of
    /// which pods grant ingress to which peer sets.
    fn rebuild_sides(&mut self, pod: usize) {
        let ingress = slot(Direction::Ingress);
        for grant in &self.grants[ingress][pod] {
            if let Some(users) = self.ingress_users.get_mut(&grant.peers)
                && let Ok(at) = users.binary_search(&(pod as ClassId))
            {
                users.remove(at);
            }
        }
        for direction in [Direction::Ingress, Direction::Egress] {
            let (isolated, grants) = self.grants_of(pod, direction);
            self.isolated[slot(direction)][pod] = isolated;
            self.grants[slot(direction)][pod] = grants;
        }
        for grant in &self.grants[ingress][pod] {
            let is_new = !self.ingress_users.contains_key(&grant.peers);
            let users = self.ingress_users.entry(grant.peers).or_default();
            if let Err(at) = users.binary_search(&(pod as ClassId)) {
                users.insert(at, pod as ClassId);
            }
            // Sets once used keep their entry (maybe emptied), so each is listed once.
            if let (true, PeerRef::Set(id)) = (is_new, grant.peers) {
                for &member in &self.peer_sets[id as usize] {
                    self.member_of_ingress_sets[member as usize].push(id);
                }
            }
        }
    }
}

/// A removed policy: it keeps its index and selects no pod.
fn removed(old: &PolicyInfo) -> PolicyInfo {
    PolicyInfo {
        name: old.name.clone(),
        source: old.source.clone(),
        compiled: CompiledPolicy {
            namespace: old.compiled.namespace.clone(),
            name: old.compiled.name.clone(),
            pod_selector: Selector::nothing(),
            affects_ingress: false,
            affects_egress: false,
            ingress: Vec::new(),
            egress: Vec::new(),
        },
    }
}

fn blocks_of(policy: &CompiledPolicy) -> impl Iterator<Item = &IpBlock> {
    policy.peers().filter_map(|peer| match peer {
        Peer::Block(block) => Some(block),
        Peer::Pods { .. } => None,
    })
}

/// The policy's own namespace and those its peers name by `kubernetes.io/metadata.name`:
/// the namespaces that get classes because of it.
fn namespaces_named_by(policy: &CompiledPolicy) -> impl Iterator<Item = &String> {
    let named = policy.peers().flat_map(|peer| match peer {
        Peer::Pods {
            namespaces: NamespaceScope::Selected(selector),
            ..
        } => named_namespaces(selector).collect::<Vec<_>>(),
        _ => Vec::new(),
    });
    std::iter::once(&policy.namespace).chain(named)
}
