//! The semantic diff of two sets of NetworkPolicies: the connections one allows and the
//! other does not, computed from what the YAML allows (with the evaluator), never from
//! the text, so reordering or reformatting shows no change.
//!
//! Both sides are evaluated over one topology: the model's workloads plus a pod for every
//! selector either side uses. Pods are matched by name; addresses by the common refinement
//! of both sides' address classes.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use k8s_openapi::api::networking::v1::{NetworkPolicyPeer, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use zero_trust_rules::{FIRST_PORT, LAST_PORT, NAMESPACE_NAME_LABEL, PortRange, Protocol};

use crate::eval::addresses::Family;
use crate::eval::selector::Requirement;
use crate::eval::{
    AddressClass, AddressRange, Analysis, ClassId, Direction, EndpointClass, Labels, LoadedPolicy,
    NamespaceInfo, PodInfo, PortSet, Selector, Topology,
};

/// One connection that is allowed on one side and not the other.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowChange {
    pub source: String,
    pub destination: String,
    pub ports: PortSet,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowDiff {
    pub added: Vec<FlowChange>,
    pub removed: Vec<FlowChange>,
    /// Pods that became isolated, or stopped being, in a direction: `(pod, direction, now)`.
    pub isolation: Vec<(String, Direction, bool)>,
    /// What both sides allow between an end of an added or removed flow and any other end:
    /// the change's direct neighbours, which its diagram draws for context.
    pub unchanged: Vec<FlowChange>,
    /// The namespace of each pod end named above (addresses have none).
    pub namespaces: BTreeMap<String, String>,
}

impl FlowDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.isolation.is_empty()
    }

    /// Markdown ready to paste into a review: the changed flows as a table, then drawn with
    /// their direct neighbours as a Mermaid diagram.
    pub fn to_markdown(&self) -> String {
        if self.is_empty() {
            return "No change to the allowed flows.\n".to_owned();
        }
        let mut text =
            String::from("| | source | destination | ports |\n| --- | --- | --- | --- |\n");
        for (sign, changes) in [("added", &self.added), ("removed", &self.removed)] {
            for change in changes {
                text.push_str(&format!(
                    "| {sign} | `{}` | `{}` | {} |\n",
                    change.source, change.destination, change.ports
                ));
            }
        }
        for (pod, direction, now) in &self.isolation {
            let what = if *now {
                "now isolated"
            } else {
                "no longer isolated"
            };
            text.push_str(&format!("\n`{pod}` is {what} for {direction:?}.\n"));
        }
        if let Some(diagram) = crate::emit::flows_md::change::render(self) {
            text.push('\n');
            if let Some(note) = diagram.summary_note {
                text.push_str(&note);
                text.push_str("\n\n");
            }
            text.push_str("```mermaid\n");
            text.push_str(&diagram.text);
            text.push_str("```\n");
        }
        text
    }
}

impl fmt::Display for FlowDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "no change to the allowed flows");
        }
        for (sign, changes) in [("+", &self.added), ("-", &self.removed)] {
            for change in changes {
                writeln!(
                    f,
                    "{sign} {} -> {}: {}",
                    change.source, change.destination, change.ports
                )?;
            }
        }
        for (pod, direction, now) in &self.isolation {
            let what = if *now {
                "now isolated"
            } else {
                "no longer isolated"
            };
            writeln!(f, "! {pod} is {what} for {direction:?}")?;
        }
        Ok(())
    }
}

/// A topology for comparing policy sets: `base` plus, for every pod selector the policies
/// use (as a target or in a peer), a pod carrying labels it selects
/// ([`representative_labels`]), unless a pod with those labels is already there; and for
/// every namespace selector of a peer that names no namespace and that no namespace of the
/// topology matches, a namespace carrying labels it selects, with the peer's pod. Such
/// pods and namespaces are named after their labels (`[app=web]`).
pub fn topology_for(base: Topology, policy_sets: &[&[LoadedPolicy]]) -> Topology {
    let mut extended = Extended::new(base);
    for policies in policy_sets {
        for loaded in *policies {
            let namespace = crate::eval::topology::policy_namespace(&loaded.policy);
            let Some(spec) = &loaded.policy.spec else {
                continue;
            };
            if let Some(selector) = &spec.pod_selector {
                extended.add_pod(namespace, selector);
            }
            for peer in peers_of(spec) {
                let peer_namespace = match &peer.namespace_selector {
                    None => Some(namespace.to_owned()),
                    Some(selector) => {
                        named_namespace(selector).or_else(|| extended.selected_namespace(selector))
                    }
                };
                if let (Some(peer_namespace), Some(pods)) = (peer_namespace, &peer.pod_selector) {
                    extended.add_pod(&peer_namespace, pods);
                }
            }
        }
    }
    extended.topology
}

/// A topology being extended, with indexes of what it holds: every rule of every policy
/// asks, and at 10,000 pods a scan per selector was most of a rollout proof.
struct Extended {
    topology: Topology,
    namespaces: HashSet<String>,
    pods: HashSet<(String, Labels)>,
}

impl Extended {
    fn new(topology: Topology) -> Extended {
        let namespaces = topology.namespaces.iter().map(|n| n.name.clone()).collect();
        let pods = topology
            .pods
            .iter()
            .map(|p| (p.namespace.clone(), p.labels.clone()))
            .collect();
        Extended {
            topology,
            namespaces,
            pods,
        }
    }

    /// A pod of `namespace` the selector selects, unless one with its labels is there.
    fn add_pod(&mut self, namespace: &str, selector: &LabelSelector) {
        let labels = representative_labels(selector);
        if labels.is_empty() {
            // Only "another pod" of the namespace, which every topology has.
            return;
        }
        if self.namespaces.insert(namespace.to_owned()) {
            self.topology
                .namespaces
                .push(NamespaceInfo::named(namespace));
        }
        if !self.pods.insert((namespace.to_owned(), labels.clone())) {
            return;
        }
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.topology
            .pods
            .push(PodInfo::new(namespace, &labels_name(&labels), &pairs));
    }

    /// A namespace the selector selects: the first of the topology it matches, else a new
    /// one carrying its representative labels. `None` where it matches none and has no
    /// labels to carry (only `NotIn`/`DoesNotExist`, which no namespace here meets).
    fn selected_namespace(&mut self, selector: &LabelSelector) -> Option<String> {
        let compiled = Selector::compile(selector);
        let topology = &mut self.topology;
        if let Some(existing) = topology
            .namespaces
            .iter()
            .find(|n| compiled.matches(&n.effective_labels()))
        {
            return Some(existing.name.clone());
        }
        let labels = representative_labels(selector);
        let name = labels_name(&labels);
        let candidate = NamespaceInfo {
            name: name.clone(),
            labels,
        };
        if !compiled.matches(&candidate.effective_labels()) || !self.namespaces.insert(name.clone())
        {
            return None;
        }
        topology.namespaces.push(candidate);
        Some(name)
    }
}

/// Labels an object the selector selects carries: its `matchLabels`, the first value of
/// each `In`, a value for each `Exists` (`NotIn` and `DoesNotExist` are met by leaving the
/// key out).
pub(crate) fn representative_labels(selector: &LabelSelector) -> Labels {
    let mut labels = selector.match_labels.clone().unwrap_or_default();
    for requirement in selector.match_expressions.iter().flatten() {
        let value = match requirement.operator.as_str() {
            "In" => requirement.values.iter().flatten().next().cloned(),
            "Exists" => Some("present".to_owned()),
            _ => None,
        };
        if let Some(value) = value {
            labels.insert(requirement.key.clone(), value);
        }
    }
    labels
}

/// `[app=web,tier=api]`: a name no real pod or namespace can have.
fn labels_name(labels: &Labels) -> String {
    let text: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("[{}]", text.join(","))
}

/// The one namespace a namespace selector names by its name label, if it does.
fn named_namespace(selector: &LabelSelector) -> Option<String> {
    let names = Selector::compile(selector);
    match names.requirements() {
        [Requirement::In { key, values }] if key == NAMESPACE_NAME_LABEL && values.len() == 1 => {
            values.iter().next().cloned()
        }
        _ => None,
    }
}

/// Every peer of a policy's rules: the `from` of its ingress rules, then the `to` of its
/// egress rules.
pub(crate) fn peers_of(spec: &NetworkPolicySpec) -> impl Iterator<Item = &NetworkPolicyPeer> {
    let ingress = spec
        .ingress
        .iter()
        .flatten()
        .flat_map(|r| r.from.iter().flatten());
    let egress = spec
        .egress
        .iter()
        .flatten()
        .flat_map(|r| r.to.iter().flatten());
    ingress.chain(egress)
}

/// What `new` allows that `old` does not (added) and the reverse (removed).
pub fn diff(old: &Analysis, new: &Analysis) -> FlowDiff {
    let mut result = FlowDiff::default();
    let old_ids = class_ids(old);
    let new_ids = class_ids(new);
    // Pods align by name; a pod only one side knows is compared with "another pod" of its
    // namespace on the other side, which is what that side makes of it.
    let pods: BTreeSet<&String> = old_ids.keys().chain(new_ids.keys()).collect();
    let counterpart = |analysis: &Analysis,
                       ids: &BTreeMap<String, ClassId>,
                       name: &str,
                       class: &EndpointClass|
     -> ClassId {
        ids.get(name).copied().unwrap_or_else(|| match class {
            EndpointClass::Pod(pod) => analysis
                .class_of_other_pod(&pod.namespace)
                .unwrap_or_else(|| analysis.class_of_unnamed_namespace_pod()),
            _ => analysis.class_of_unnamed_namespace_pod(),
        })
    };
    let mut ends: Vec<(String, ClassId, ClassId)> = Vec::new();
    for name in pods {
        let class = old_ids
            .get(name)
            .map(|&id| old.class(id))
            .or_else(|| new_ids.get(name).map(|&id| new.class(id)))
            .cloned();
        let Some(class) = class else { continue };
        let namespace = match &class {
            EndpointClass::Pod(pod) => Some(&pod.namespace),
            EndpointClass::OtherPodIn { namespace } => Some(namespace),
            _ => None,
        };
        if let Some(namespace) = namespace {
            result.namespaces.insert(name.clone(), namespace.clone());
        }
        ends.push((
            name.clone(),
            counterpart(old, &old_ids, name, &class),
            counterpart(new, &new_ids, name, &class),
        ));
    }
    for (name, o, n) in &ends {
        for direction in [Direction::Ingress, Direction::Egress] {
            let (was, is) = (
                old.is_isolated(*o, direction),
                new.is_isolated(*n, direction),
            );
            if was != is {
                result.isolation.push((name.clone(), direction, is));
            }
        }
    }
    let segments = address_segments(old, new);
    let all_ends: Vec<(String, ClassId, ClassId)> = ends
        .iter()
        .cloned()
        .chain(segments.iter().map(|(label, first)| {
            (
                label.clone(),
                old.class_of_address(*first),
                new.class_of_address(*first),
            )
        }))
        .collect();
    // The ends each class of either side stands for, to find a source's candidates fast.
    let mut by_old_class: BTreeMap<ClassId, Vec<usize>> = BTreeMap::new();
    let mut by_new_class: BTreeMap<ClassId, Vec<usize>> = BTreeMap::new();
    for (index, (_, o, n)) in all_ends.iter().enumerate() {
        by_old_class.entry(*o).or_default().push(index);
        by_new_class.entry(*n).or_default().push(index);
    }
    // Only pairs some isolated side allows something for can differ: isolation is
    // unchanged here (or reported above), and every other pair is decided by it alone.
    let destinations = |old_source: ClassId, new_source: ClassId| -> BTreeSet<usize> {
        let old_candidates = old
            .pairs_from(old_source)
            .into_iter()
            .flat_map(|p| by_old_class.get(&p.destination).into_iter().flatten());
        let new_candidates = new
            .pairs_from(new_source)
            .into_iter()
            .flat_map(|p| by_new_class.get(&p.destination).into_iter().flatten());
        old_candidates.chain(new_candidates).copied().collect()
    };
    let ports = |(_, old_source, new_source): &(String, ClassId, ClassId), index: usize| {
        let (_, old_destination, new_destination) = &all_ends[index];
        let was = old.end_to_end(*old_source, *old_destination);
        let is = new.end_to_end(*new_source, *new_destination);
        (was, is)
    };
    let change = |source: &str, destination: &str, ports: PortSet| FlowChange {
        source: source.to_owned(),
        destination: destination.to_owned(),
        ports,
    };
    for end in &all_ends {
        for index in destinations(end.1, end.2) {
            let (was, is) = ports(end, index);
            let destination = &all_ends[index].0;
            let added = difference(&is, &was);
            let removed = difference(&was, &is);
            if !added.is_empty() {
                result.added.push(change(&end.0, destination, added));
            }
            if !removed.is_empty() {
                result.removed.push(change(&end.0, destination, removed));
            }
        }
    }
    let changed: HashSet<&String> = result
        .added
        .iter()
        .chain(&result.removed)
        .flat_map(|c| [&c.source, &c.destination])
        .collect();
    if !changed.is_empty() {
        for end in &all_ends {
            for index in destinations(end.1, end.2) {
                let destination = &all_ends[index].0;
                if !changed.contains(&end.0) && !changed.contains(destination) {
                    continue;
                }
                let (was, is) = ports(end, index);
                let kept = was.intersection(&is);
                if !kept.is_empty() {
                    result.unchanged.push(change(&end.0, destination, kept));
                }
            }
        }
    }
    result.added.sort();
    result.removed.sort();
    result.unchanged.sort();
    result
}

/// Pod classes by name (addresses excluded).
fn class_ids(analysis: &Analysis) -> BTreeMap<String, ClassId> {
    analysis
        .classes()
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.is_address())
        .map(|(id, c)| (c.to_string(), id as ClassId))
        .collect()
}

/// The address ranges cut at every class boundary of either side, each with a label and
/// its first address; every address of a segment is in one class on each side.
fn address_segments(old: &Analysis, new: &Analysis) -> Vec<(String, std::net::IpAddr)> {
    // Every family is compared, cut or not: where neither side has an ipBlock, all of its
    // addresses are one segment, and isolation alone can still change what reaches them.
    let mut cuts: BTreeMap<Family, BTreeSet<u128>> =
        [(Family::V4, BTreeSet::new()), (Family::V6, BTreeSet::new())].into();
    for analysis in [old, new] {
        for class in analysis.classes() {
            if let EndpointClass::Address(AddressClass::Range(range)) = class {
                let family = cuts.entry(range.family).or_default();
                family.insert(range.first);
                if let Some(next) = range
                    .last
                    .checked_add(1)
                    .filter(|n| *n <= family_max(range.family))
                {
                    family.insert(next);
                }
            }
        }
    }
    let mut segments = Vec::new();
    for (family, mut points) in cuts {
        points.insert(0);
        let points: Vec<u128> = points.into_iter().collect();
        for (i, &first) in points.iter().enumerate() {
            let last = points
                .get(i + 1)
                .map(|next| next - 1)
                .unwrap_or(family_max(family));
            let range = AddressRange {
                family,
                first,
                last,
            };
            segments.push((range.to_string(), range.first_address()));
        }
    }
    segments
}

fn family_max(family: Family) -> u128 {
    match family {
        Family::V4 => u128::from(u32::MAX),
        Family::V6 => u128::MAX,
    }
}

/// The ports of `a` that are not in `b`.
fn difference(a: &PortSet, b: &PortSet) -> PortSet {
    a.intersection(&complement(b))
}

fn complement(set: &PortSet) -> PortSet {
    let mut gaps = Vec::new();
    for protocol in Protocol::ALL {
        let mut next = u32::from(FIRST_PORT);
        for (first, last) in set.of_protocol(protocol) {
            if u32::from(first) > next {
                gaps.push(PortRange {
                    protocol,
                    first: next as u16,
                    last: first - 1,
                });
            }
            next = u32::from(last) + 1;
        }
        if next <= u32::from(LAST_PORT) {
            gaps.push(PortRange {
                protocol,
                first: next as u16,
                last: LAST_PORT,
            });
        }
    }
    PortSet::from_ranges(gaps)
}

/// The diff of two sets of manifests given as file name → text (only `.yaml`, `.yml` and
/// `.json` files are read), over `base` plus the pods their selectors imply.
pub fn diff_manifests(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    base: Topology,
) -> Result<FlowDiff, Vec<String>> {
    let old = load_manifests("old", old)?;
    let new = load_manifests("new", new)?;
    let topology = topology_for(base, &[&old, &new]);
    let analyse = |policies: &[LoadedPolicy]| {
        Analysis::from_parts(policies, &topology)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())
    };
    Ok(diff(&analyse(&old)?, &analyse(&new)?))
}

/// The NetworkPolicies of a set of manifests given as file name → text, labelled `side`.
pub(crate) fn load_manifests(
    side: &str,
    files: &BTreeMap<String, String>,
) -> Result<Vec<LoadedPolicy>, Vec<String>> {
    load_manifests_reusing(side, files, |_| None)
}

/// [`load_manifests`], taking the policies of a file from `read_before` where it has them
/// (read from the same text elsewhere) rather than reading the text again; they are
/// labelled `side` as if read here.
pub(crate) fn load_manifests_reusing(
    side: &str,
    files: &BTreeMap<String, String>,
    mut read_before: impl FnMut(&str) -> Option<Vec<LoadedPolicy>>,
) -> Result<Vec<LoadedPolicy>, Vec<String>> {
    let mut inputs = crate::eval::Inputs::default();
    let mut errors = Vec::new();
    for (name, text) in files {
        if [".yaml", ".yml", ".json"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            let path = std::path::Path::new(side).join(name);
            let Some(policies) = read_before(name) else {
                if let Err(e) = crate::eval::load_str(&mut inputs, &path, text) {
                    errors.extend(e.iter().map(ToString::to_string));
                }
                continue;
            };
            for mut policy in policies {
                policy.source.file = path.clone();
                if let Err(e) = crate::eval::add_loaded(&mut inputs, policy) {
                    errors.push(e.to_string());
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(inputs.policies)
    } else {
        Err(errors)
    }
}
