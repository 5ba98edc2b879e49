//! The order a rollout writes policies in, and its proof: at every moment of the rollout,
//! every connection that both the old and the new policies allow stays allowed.
//!
//! "Allow before deny" is not enough for that: any policy isolates the pods it selects
//! ("a pod is isolated for egress if there is any NetworkPolicy that both selects the pod
//! and has Egress in its policyTypes", docs, "The two sorts of pod isolation"), so the
//! first policy a rollout writes for a pod must already allow everything the pod will be
//! allowed. The emitter makes that possible (each workload's own policy is complete for its
//! pods, see [`crate::lower`]) and writes the policies in the order proven here: each
//! workload's policies, then `all-pods.*`, then `default-deny-all`; deletions last.
//!
//! The proof is the evaluator's, over one analysis that holds every version of every
//! policy (a policy written again unchanged, once): each step changes only the pods its old
//! and new versions select, so each step decides those pods' sides (per direction, per
//! other class, per port) in the state after it, against what both the old and the new
//! policy sets allow there.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::cluster::Cluster;
use crate::emit::apply_script::ApplyPlan;
use crate::eval::analysis::PeerRef;
use crate::eval::{Analysis, ClassId, Direction, LoadedPolicy, PortSet, Side, Topology};

/// The emitted policies `loaded` (as read back by the proof of the emitted folder, so emit
/// reads its YAML once) in the order `plan` writes them: moved, not copied, since at
/// 10k/50k they are most of emit's memory. Every policy must be written exactly once.
pub fn in_rollout_order(
    plan: &ApplyPlan,
    loaded: Vec<LoadedPolicy>,
) -> Result<Vec<LoadedPolicy>, String> {
    let mut by_key: HashMap<(String, String), LoadedPolicy> = loaded
        .into_iter()
        .map(|policy| (key(&policy), policy))
        .collect();
    let mut ordered = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        let policy = by_key
            .remove(&(step.namespace.clone(), step.name.clone()))
            .ok_or_else(|| {
                format!(
                    "the rollout writes {}/{} but no emitted manifest holds it",
                    step.namespace, step.name
                )
            })?;
        ordered.push(policy);
    }
    match by_key.keys().min() {
        Some((namespace, name)) => Err(format!(
            "{namespace}/{name} is emitted but the rollout never writes it"
        )),
        None => Ok(ordered),
    }
}

/// Proves the rollout of the emitted policies `new` ([`in_rollout_order`]: what `apply.sh`
/// writes, in its order, then prune) over a cluster holding `old` (the policies emitted
/// before; none for a first rollout), over the model's workloads.
pub fn prove_emitted_rollout(
    cluster: &Cluster,
    old: &[LoadedPolicy],
    new: &[LoadedPolicy],
) -> Result<RolloutProof, String> {
    prove_rollout(old, new, crate::verify::model_topology(cluster)).map_err(|e| e.to_string())
}

/// [`prove_rollouts_on`] an emitted folder's analysis, over the model's workloads.
pub fn prove_emitted_rollouts(
    cluster: &Cluster,
    analysis: Analysis,
    old: &[LoadedPolicy],
    new: &[LoadedPolicy],
) -> Result<Rollouts, (WhichRollout, String)> {
    let topology = crate::verify::model_topology(cluster);
    prove_rollouts_on(analysis, &topology, old, new).map_err(|(which, e)| (which, e.to_string()))
}

/// The NetworkPolicies of manifests given as file name → text (`side` names them in
/// errors): the policies a cluster holds before a rollout, or emitted ones not yet on disk.
pub fn read_manifests(
    side: &str,
    files: &BTreeMap<String, String>,
) -> Result<Vec<LoadedPolicy>, String> {
    read_manifests_reusing(side, files, |_| None)
}

/// [`read_manifests`], taking the policies of a file from `read_before` where it has them:
/// those read back from the same text (a file an emit wrote again unchanged), so that only
/// the files that changed are parsed. The result is [`read_manifests`]'s.
pub fn read_manifests_reusing(
    side: &str,
    files: &BTreeMap<String, String>,
    read_before: impl FnMut(&str) -> Option<Vec<LoadedPolicy>>,
) -> Result<Vec<LoadedPolicy>, String> {
    crate::diff::load_manifests_reusing(side, files, read_before)
        .map_err(|errors| format!("cannot read the policies of {side}: {}", errors.join("; ")))
}

/// One write of a rollout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Create the policy, or replace the live one.
    Apply { namespace: String, name: String },
    /// Delete a policy that the new set no longer has (prune).
    Delete { namespace: String, name: String },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Apply { namespace, name } => write!(f, "applying {namespace}/{name}"),
            Step::Delete { namespace, name } => write!(f, "deleting {namespace}/{name}"),
        }
    }
}

/// A connection that one step of the rollout would cut, though the old and the new
/// policies both allow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interruption {
    pub step: Step,
    /// 1-based, of `steps`.
    pub index: usize,
    pub steps: usize,
    pub source: String,
    pub destination: String,
    /// The side that cuts it: the source's egress or the destination's ingress.
    pub direction: Direction,
    pub ports: PortSet,
}

impl fmt::Display for Interruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = match self.direction {
            Direction::Egress => format!("the egress of {}", self.source),
            Direction::Ingress => format!("the ingress of {}", self.destination),
        };
        write!(
            f,
            "{} (step {} of {}) would interrupt {} -> {} on {}, which the old and the new policies both allow ({side} would not allow it until a later step); stage the change: first emit and roll out the new flows beside the old ones, then remove the old ones in a second rollout",
            self.step, self.index, self.steps, self.source, self.destination, self.ports
        )
    }
}

/// What [`prove_rollout`] checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutProof {
    pub steps: Vec<Step>,
    /// (pod class, direction, step) triples decided.
    pub sides_checked: usize,
    /// Of those, the ones decided class by class (no fast path applied).
    pub sides_decided_per_class: usize,
}

/// Why a rollout could not be proven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RolloutError {
    Interrupted(Box<Interruption>),
    /// A policy the evaluator cannot read (an invalid object).
    Unreadable(Vec<String>),
}

impl fmt::Display for RolloutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RolloutError::Interrupted(interruption) => interruption.fmt(f),
            RolloutError::Unreadable(errors) => {
                write!(f, "the rollout cannot be evaluated: {}", errors.join("; "))
            }
        }
    }
}

fn key(policy: &LoadedPolicy) -> (String, String) {
    (
        policy.policy.metadata.namespace.clone().unwrap_or_default(),
        policy.policy.metadata.name.clone().unwrap_or_default(),
    )
}

/// Proves that writing `new` in its order over a cluster holding `old` (each policy of
/// `new` created or replacing the old one of its name), then deleting the old policies
/// `new` no longer has, never interrupts a connection both sets allow, on `topology` plus
/// a pod for every selector either set uses.
pub fn prove_rollout(
    old: &[LoadedPolicy],
    new: &[LoadedPolicy],
    topology: Topology,
) -> Result<RolloutProof, RolloutError> {
    let topology = crate::diff::topology_for(topology, &[old, new]);
    let rollout = Rollout::new(old, new);
    let analysis =
        Analysis::from_parts(rollout.leaving().chain(new), &topology).map_err(|errors| {
            RolloutError::Unreadable(errors.iter().map(ToString::to_string).collect())
        })?;
    let leaving = rollout.leaving.len();
    let old_at: Vec<usize> = (0..leaving).collect();
    let new_at: Vec<usize> = (leaving..leaving + new.len()).collect();
    rollout.decide(&analysis, &new_at, &old_at)
}

/// Both rollouts of an emit, as [`prove_rollout`] proves them — to a cluster without the
/// policies (`first`), and over `old` (`update`, when `old` has policies) — on `analysis`:
/// the proof of the emitted folder's, over `topology`, holding every policy of `new`
/// (and maybe other policies, which the rollouts never write). The old policies `new`
/// does not write again unchanged are added to it. At 10k/50k that spares two analyses of
/// 19,702 policies. Where `analysis` cannot serve (a selector of either set would add a
/// pod to `topology`, or the old policies give it other endpoint classes), each rollout
/// is proven on an analysis of its own, as [`prove_rollout`] does.
pub fn prove_rollouts_on(
    mut analysis: Analysis,
    topology: &Topology,
    old: &[LoadedPolicy],
    new: &[LoadedPolicy],
) -> Result<Rollouts, (WhichRollout, RolloutError)> {
    let fresh = |old: &[LoadedPolicy]| prove_rollout(old, new, topology.clone());
    let first_fresh = || fresh(&[]).map_err(|e| (WhichRollout::First, e));
    let update_fresh = || match old.is_empty() {
        true => Ok(None),
        false => fresh(old).map(Some).map_err(|e| (WhichRollout::Update, e)),
    };
    let rollout = Rollout::new(old, new);
    let leaving: Vec<LoadedPolicy> = rollout.leaving().cloned().collect();
    let extended = crate::diff::topology_for(topology.clone(), &[&leaving, new]);
    let index = analysis_index(&analysis);
    let new_at: Option<Vec<usize>> = new
        .iter()
        .map(|p| index.get(&source_key(p)).copied())
        .collect();
    let (Some(new_at), true) = (new_at, same_topology(&extended, topology)) else {
        return Ok(Rollouts {
            first: first_fresh()?,
            update: update_fresh()?,
            analyses: if old.is_empty() { 1 } else { 2 },
        });
    };
    let first = Rollout::new(&[], new)
        .decide(&analysis, &new_at, &[])
        .map_err(|e| (WhichRollout::First, e))?;
    if old.is_empty() {
        return Ok(Rollouts {
            first,
            update: None,
            analyses: 0,
        });
    }
    let end = analysis.policies().len();
    let appended: Vec<(usize, Option<&LoadedPolicy>)> = leaving
        .iter()
        .enumerate()
        .map(|(j, p)| (end + j, Some(p)))
        .collect();
    if analysis.update(&appended).is_err() {
        return Ok(Rollouts {
            first,
            update: update_fresh()?,
            analyses: 1,
        });
    }
    let old_at: Vec<usize> = (end..end + leaving.len()).collect();
    let update = rollout
        .decide(&analysis, &new_at, &old_at)
        .map_err(|e| (WhichRollout::Update, e))?;
    Ok(Rollouts {
        first,
        update: Some(update),
        analyses: 0,
    })
}

/// The two rollouts [`prove_rollouts_on`] proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollouts {
    pub first: RolloutProof,
    pub update: Option<RolloutProof>,
    /// The analyses built beside the given one: 0 when it served both rollouts.
    pub analyses: usize,
}

/// Which of [`Rollouts`] could not be proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhichRollout {
    First,
    Update,
}

type SourceKey<'a> = (&'a std::path::Path, usize, Option<usize>);

/// Where a policy was read: what tells the versions of one name apart.
fn source_key(policy: &LoadedPolicy) -> SourceKey<'_> {
    let source = &policy.source;
    (&source.file, source.document, source.item)
}

fn analysis_index(analysis: &Analysis) -> HashMap<SourceKey<'_>, usize> {
    let policies = analysis.policies().iter().enumerate();
    policies
        .map(|(i, info)| {
            (
                (
                    info.source.file.as_path(),
                    info.source.document,
                    info.source.item,
                ),
                i,
            )
        })
        .collect()
}

/// [`crate::diff::topology_for`] only adds: the same sizes are the same topology.
fn same_topology(extended: &Topology, topology: &Topology) -> bool {
    (extended.pods.len(), extended.namespaces.len())
        == (topology.pods.len(), topology.namespaces.len())
}

/// The writes of a rollout of `new` over `old`, and when each version is in the cluster.
struct Rollout<'a> {
    old: &'a [LoadedPolicy],
    new: &'a [LoadedPolicy],
    steps: Vec<Step>,
    /// Per new policy: an old one that it writes again unchanged. Such a policy is present,
    /// the same, in every state of the rollout (its step replaces it by itself): it is
    /// analysed once, as its new version present from the start, and its step changes
    /// nothing to decide. An update that edits one flow so decides the few steps that
    /// change something.
    unchanged: Vec<bool>,
    /// The other old policies (by index in `old`), each with the step it leaves at: the
    /// step writing its new version, or the deletion appended after the writes.
    leaving: Vec<(usize, usize)>,
}

impl<'a> Rollout<'a> {
    fn new(old: &'a [LoadedPolicy], new: &'a [LoadedPolicy]) -> Rollout<'a> {
        let new_step: HashMap<(String, String), usize> =
            new.iter().enumerate().map(|(i, p)| (key(p), i)).collect();
        let mut steps: Vec<Step> = new
            .iter()
            .map(|p| {
                let (namespace, name) = key(p);
                Step::Apply { namespace, name }
            })
            .collect();
        let mut unchanged = vec![false; new.len()];
        let mut leaving = Vec::new();
        for (i, policy) in old.iter().enumerate() {
            let (namespace, name) = key(policy);
            let step = match new_step.get(&(namespace.clone(), name.clone())) {
                Some(&step) if new[step].policy == policy.policy => {
                    unchanged[step] = true;
                    continue;
                }
                Some(&step) => step,
                None => {
                    steps.push(Step::Delete { namespace, name });
                    steps.len() - 1
                }
            };
            leaving.push((i, step));
        }
        Rollout {
            old,
            new,
            steps,
            unchanged,
            leaving,
        }
    }

    /// The old policies that do not stay unchanged, in the order of `leaving`.
    fn leaving(&self) -> impl Iterator<Item = &'a LoadedPolicy> + '_ {
        self.leaving.iter().map(|&(i, _)| &self.old[i])
    }

    /// Decides every step on `analysis`, which holds `new[i]` at `new_at[i]` and the
    /// `j`th leaving policy at `old_at[j]`; any other policy it holds is never present.
    fn decide(
        self,
        analysis: &Analysis,
        new_at: &[usize],
        old_at: &[usize],
    ) -> Result<RolloutProof, RolloutError> {
        debug_assert_eq!(
            (new_at.len(), old_at.len()),
            (self.new.len(), self.leaving.len())
        );
        let mut versions = vec![Version::NEVER; analysis.policies().len()];
        let mut touched: Vec<Vec<usize>> = vec![Vec::new(); self.steps.len()];
        for (i, &at) in new_at.iter().enumerate() {
            versions[at] = match self.unchanged[i] {
                true => Version::STAYING,
                false => {
                    touched[i].push(at);
                    Version::entering_after(i)
                }
            };
        }
        for (&(_, step), &at) in self.leaving.iter().zip(old_at) {
            versions[at] = Version::leaving_at(step);
            touched[step].push(at);
        }
        decide_steps(analysis, &versions, self.steps, &touched)
    }
}

/// When a policy of the analysis is in the cluster: in the state after `k` steps when
/// `from <= k <= until`; and which sets it belongs to.
#[derive(Clone, Copy)]
struct Version {
    from: usize,
    until: usize,
    old: bool,
    new: bool,
}

impl Version {
    /// A policy of neither set.
    const NEVER: Version = Version {
        from: usize::MAX,
        until: 0,
        old: false,
        new: false,
    };
    /// A policy of both, written again unchanged.
    const STAYING: Version = Version {
        from: 0,
        until: usize::MAX,
        old: true,
        new: true,
    };

    /// A new version, written by step `step` (0-based).
    fn entering_after(step: usize) -> Version {
        Version {
            from: step + 1,
            until: usize::MAX,
            old: false,
            new: true,
        }
    }

    /// An old version, replaced or deleted by step `step` (0-based).
    fn leaving_at(step: usize) -> Version {
        Version {
            from: 0,
            until: step,
            old: true,
            new: false,
        }
    }

    fn present_after(self, k: usize) -> bool {
        self.from <= k && k <= self.until
    }
}

/// Decides, after each step, the sides of the pods that the policies it `touched` select.
fn decide_steps(
    analysis: &Analysis,
    versions: &[Version],
    steps: Vec<Step>,
    touched: &[Vec<usize>],
) -> Result<RolloutProof, RolloutError> {
    let present_after = |k: usize| move |p: usize| versions[p].present_after(k);
    let is_old = |p: usize| versions[p].old;
    let is_new = |p: usize| versions[p].new;

    let mut selected_by: Vec<Vec<ClassId>> = vec![Vec::new(); versions.len()];
    let pod_classes =
        (0..analysis.classes().len() as ClassId).take_while(|&c| !analysis.class(c).is_address());
    for class in pod_classes {
        for &p in analysis.selecting_indices(class) {
            selected_by[p as usize].push(class);
        }
    }

    let mut sides_checked = 0;
    let mut sides_decided_per_class = 0;
    for (s, changed) in touched.iter().enumerate() {
        let present = present_after(s + 1);
        let mut pods: Vec<ClassId> = changed
            .iter()
            .flat_map(|&p| selected_by[p].iter().copied())
            .collect();
        pods.sort_unstable();
        pods.dedup();
        for pod in pods {
            for direction in [Direction::Ingress, Direction::Egress] {
                if !changed
                    .iter()
                    .any(|&p| analysis.policies()[p].compiled.affects(direction))
                {
                    continue;
                }
                sides_checked += 1;
                let check = SideCheck {
                    analysis,
                    direction,
                    pod,
                };
                if check.fast(&present, &is_old, &is_new) {
                    continue;
                }
                sides_decided_per_class += 1;
                if let Some((other, ports)) = check.first_cut(&present, &is_old, &is_new) {
                    let (source, destination) = match direction {
                        Direction::Egress => (pod, other),
                        Direction::Ingress => (other, pod),
                    };
                    return Err(RolloutError::Interrupted(Box::new(Interruption {
                        step: steps[s].clone(),
                        index: s + 1,
                        steps: steps.len(),
                        source: analysis.class(source).to_string(),
                        destination: analysis.class(destination).to_string(),
                        direction,
                        ports,
                    })));
                }
            }
        }
    }
    Ok(RolloutProof {
        steps,
        sides_checked,
        sides_decided_per_class,
    })
}

/// One pod's side in one direction, in one intermediate state.
struct SideCheck<'a> {
    analysis: &'a Analysis,
    direction: Direction,
    pod: ClassId,
}

impl SideCheck<'_> {
    /// Whether the state keeps at least what one of the sets allows, without looking at
    /// any class: exact where it says yes, and most sides of an emitted rollout are so.
    fn fast(
        &self,
        present: &dyn Fn(usize) -> bool,
        old: &dyn Fn(usize) -> bool,
        new: &dyn Fn(usize) -> bool,
    ) -> bool {
        // A state that holds every policy of one set that selects this pod allows at least
        // what that set allows (policies are additive), as long as that set isolates it.
        self.holds_all_of(present, new)
            || self.holds_all_of(present, old)
            || self.covers_rules_of(present, new)
            || self.covers_rules_of(present, old)
    }

    /// The first class (and ports) that both `old` and `new` allow on this side and the
    /// state `present` does not.
    fn first_cut(
        &self,
        present: &dyn Fn(usize) -> bool,
        old: &dyn Fn(usize) -> bool,
        new: &dyn Fn(usize) -> bool,
    ) -> Option<(ClassId, PortSet)> {
        let analysis = self.analysis;
        for other in 0..analysis.classes().len() as ClassId {
            // A pod talking to itself is outside the model (see `crate::eval`).
            if other == self.pod {
                continue;
            }
            let side = |among: &dyn Fn(usize) -> bool| {
                analysis.side_among(self.direction, self.pod, other, among)
            };
            let now = side(present);
            if now == Side::NotIsolated {
                return None;
            }
            let kept = side(old).allowed().intersection(&side(new).allowed());
            let cut = kept.difference(&now.allowed());
            if !cut.is_empty() {
                return Some((other, cut));
            }
        }
        None
    }

    /// Fast and exact too: every rule of `set` for this pod has its peers, with at least
    /// its ports, among the rules of the state (the same resolved peers, as the evaluator
    /// interns them), so the state allows at least what `set` allows.
    fn covers_rules_of(
        &self,
        present: &dyn Fn(usize) -> bool,
        set: &dyn Fn(usize) -> bool,
    ) -> bool {
        let analysis = self.analysis;
        let affecting = |among: &dyn Fn(usize) -> bool| {
            analysis
                .selecting_indices(self.pod)
                .iter()
                .map(|&p| p as usize)
                .filter(|&p| among(p) && analysis.policies()[p].compiled.affects(self.direction))
                .collect::<Vec<usize>>()
        };
        let wanted = affecting(set);
        let held = affecting(present);
        if wanted.is_empty() || held.is_empty() {
            return false;
        }
        let mut have: HashMap<PeerRef, PortSet> = HashMap::new();
        for &p in &held {
            for (peers, ports) in analysis.rules_at(p, self.direction, self.pod) {
                if let Some(ports) = ports {
                    have.entry(peers).or_default().union_with(&ports);
                }
            }
        }
        wanted.iter().all(|&p| {
            analysis
                .rules_at(p, self.direction, self.pod)
                .all(|(peers, ports)| match ports {
                    Some(ports) => {
                        let everything = have.get(&PeerRef::All);
                        let same = have.get(&peers);
                        let covered = same.map_or(ports.clone(), |have| ports.difference(have));
                        covered.is_empty()
                            || everything.is_some_and(|all| covered.difference(all).is_empty())
                    }
                    None => false,
                })
        })
    }

    fn holds_all_of(&self, present: &dyn Fn(usize) -> bool, set: &dyn Fn(usize) -> bool) -> bool {
        let mut isolates = false;
        for &p in self.analysis.selecting_indices(self.pod) {
            let p = p as usize;
            if !set(p) || !self.analysis.policies()[p].compiled.affects(self.direction) {
                continue;
            }
            isolates = true;
            if !present(p) {
                return false;
            }
        }
        isolates
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{Inputs, PodInfo};

    /// A file whose policies the caller already read is not parsed again: what the caller
    /// gives is taken, named as this side names the file, and only the other files are read.
    #[test]
    fn a_file_read_before_is_taken_as_given_and_named_by_this_side() {
        use std::path::Path;
        let deny = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  \
                    name: deny\n  namespace: a\nspec:\n  podSelector: {}\n";
        let read = policies(deny);
        // Not YAML at all: only a policy taken from `read_before` can come back from it.
        let files = BTreeMap::from([
            ("10-a.yaml".to_owned(), ": [ not yaml".to_owned()),
            (
                "20-b.yaml".to_owned(),
                deny.replace("namespace: a", "namespace: b"),
            ),
        ]);
        assert!(read_manifests("now", &files).is_err());
        let reused = read_manifests_reusing("now", &files, |name| {
            (name == "10-a.yaml").then(|| read.clone())
        })
        .expect("the unreadable file is not read");
        let named: Vec<_> = reused
            .iter()
            .map(|p| (p.display_name(), p.source.file.clone()))
            .collect();
        assert_eq!(
            named,
            [
                ("a/deny".to_owned(), Path::new("now").join("10-a.yaml")),
                ("b/deny".to_owned(), Path::new("now").join("20-b.yaml")),
            ]
        );
        assert_eq!(reused[0].policy, read[0].policy);
    }

    fn policies(yaml: &str) -> Vec<LoadedPolicy> {
        Inputs::from_yaml("test.yaml", yaml)
            .expect("test YAML loads")
            .policies
    }

    fn shop() -> Topology {
        Topology {
            namespaces: ["shop", "db"]
                .iter()
                .map(|n| crate::eval::NamespaceInfo::named(n))
                .collect(),
            pods: vec![
                PodInfo::new("shop", "web", &[("app", "web")]),
                PodInfo::new("db", "postgres", &[("app", "postgres")]),
            ],
        }
    }

    const DNS_FOR_ALL: &str = "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: all-pods.egress, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - ports: [{port: 53, protocol: UDP}]
";

    /// web's own egress: the database, and (when `complete`) DNS as well.
    fn web_egress(port: u16, complete: bool) -> String {
        let dns = if complete {
            "  - ports: [{port: 53, protocol: UDP}]\n"
        } else {
            ""
        };
        format!(
            "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: web.egress, namespace: shop}}
spec:
  podSelector: {{matchLabels: {{app: web}}}}
  policyTypes: [Egress]
  egress:
{dns}  - to:
    - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: db}}}}
      podSelector: {{matchLabels: {{app: postgres}}}}
    ports: [{{port: {port}, protocol: TCP}}]
"
        )
    }

    #[test]
    fn a_first_rollout_that_isolates_a_pod_with_an_incomplete_policy_is_refused() {
        // all-pods.egress first: for that moment web may only resolve names.
        let new = policies(&format!("{DNS_FOR_ALL}---{}", web_egress(5432, false)));
        let error = prove_rollout(&[], &new, shop()).unwrap_err();
        let RolloutError::Interrupted(cut) = error else {
            panic!("expected an interruption, got {error:?}");
        };
        assert_eq!(cut.step.to_string(), "applying shop/all-pods.egress");
        assert_eq!((cut.index, cut.steps), (1, 2));
        assert_eq!(
            (cut.source.as_str(), cut.destination.as_str()),
            ("shop/web", "db/postgres")
        );
        assert_eq!(cut.direction, Direction::Egress);
        assert_eq!(cut.ports.to_string(), "5432/tcp");
        assert!(
            RolloutError::Interrupted(cut.clone())
                .to_string()
                .starts_with("applying shop/all-pods.egress (step 1 of 2) would interrupt shop/web -> db/postgres on 5432/tcp"),
            "{}",
            RolloutError::Interrupted(cut)
        );
    }

    #[test]
    fn complete_workload_policies_first_make_the_first_rollout_safe() {
        let new = policies(&format!("{}---{DNS_FOR_ALL}", web_egress(5432, true)));
        let proof = prove_rollout(&[], &new, shop()).expect("safe");
        assert_eq!(proof.steps.len(), 2);
        assert!(proof.sides_checked >= 2, "{proof:?}");
    }

    #[test]
    fn the_same_order_is_refused_when_the_workload_policy_lacks_the_namespace_wide_flow() {
        // web.egress first isolates web without DNS, which both the old (nothing: all
        // allowed) and the new policies allow.
        let new = policies(&format!("{}---{DNS_FOR_ALL}", web_egress(5432, false)));
        let error = prove_rollout(&[], &new, shop()).unwrap_err().to_string();
        assert!(
            error
                .starts_with("applying shop/web.egress (step 1 of 2) would interrupt shop/web -> "),
            "{error}"
        );
        assert!(error.contains("53/udp"), "{error}");
    }

    #[test]
    fn a_changed_port_interrupts_nothing_both_sets_allow() {
        let old = policies(&format!("{}---{DNS_FOR_ALL}", web_egress(5432, true)));
        let new = policies(&format!("{}---{DNS_FOR_ALL}", web_egress(6432, true)));
        prove_rollout(&old, &new, shop()).expect("5432 is not in the new set, 6432 not in the old");
    }

    #[test]
    fn deleting_a_policy_that_the_new_set_replaces_by_another_name_is_last_and_safe() {
        let renamed = web_egress(5432, true).replace("name: web.egress", "name: web.calls");
        let old = policies(&format!("{}---{DNS_FOR_ALL}", web_egress(5432, true)));
        let new = policies(&format!("{renamed}---{DNS_FOR_ALL}"));
        let proof = prove_rollout(&old, &new, shop()).expect("safe");
        assert_eq!(
            proof.steps.last().map(ToString::to_string).as_deref(),
            Some("deleting shop/web.egress")
        );
    }

    #[test]
    fn replacing_the_only_policy_of_a_pod_by_a_narrower_one_before_its_successor_is_refused() {
        // Old: web.egress allows DNS and the database. New: the database flow moves to a
        // policy applied after web.egress is narrowed to DNS.
        let narrowed =
            policies(&web_egress(5432, false).replace("name: web.egress", "name: web.calls"));
        let dns_only = "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web.egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - ports: [{port: 53, protocol: UDP}]
";
        let old = policies(&web_egress(5432, true));
        let mut new = policies(dns_only);
        new.extend(narrowed);
        let error = prove_rollout(&old, &new, shop()).unwrap_err().to_string();
        assert!(
            error.starts_with("applying shop/web.egress (step 1 of 2) would interrupt shop/web -> db/postgres on 5432/tcp"),
            "{error}"
        );
    }

    /// A shop egress policy: DNS when `dns`, and web -> postgres on each of `ports`.
    fn shop_egress(name: &str, selector: &str, dns: bool, ports: &[u16]) -> String {
        let dns = if dns {
            "  - ports: [{port: 53, protocol: UDP}]\n"
        } else {
            ""
        };
        let postgres: String = ports
            .iter()
            .map(|port| {
                format!(
                    "  - to:
    - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: db}}}}
      podSelector: {{matchLabels: {{app: postgres}}}}
    ports: [{{port: {port}, protocol: TCP}}]
"
                )
            })
            .collect();
        format!(
            "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: {name}, namespace: shop}}
spec:
  podSelector: {selector}
  policyTypes: [Egress]
  egress:
{dns}{postgres}"
        )
    }

    /// The ports on which web may reach postgres, by its own egress policy and by shop's
    /// namespace-wide one (which also allows DNS to every pod).
    #[derive(Clone, Copy)]
    struct Egress {
        web: &'static [u16],
        namespace: &'static [u16],
    }

    #[derive(Clone, Copy)]
    enum Order {
        WorkloadsFirst,
        NamespaceWideFirst,
    }

    impl Egress {
        /// The two policies in `order`; with `copies`, web's policy also carries the
        /// namespace-wide rules.
        fn policies(self, copies: bool, order: Order) -> Vec<LoadedPolicy> {
            let mut own = self.web.to_vec();
            if copies {
                own.extend_from_slice(self.namespace);
            }
            let web = shop_egress("web.egress", "{matchLabels: {app: web}}", copies, &own);
            let wide = shop_egress("all-pods.egress", "{}", true, self.namespace);
            policies(&match order {
                Order::WorkloadsFirst => format!("{web}---{wide}"),
                Order::NamespaceWideFirst => format!("{wide}---{web}"),
            })
        }
    }

    /// web -> postgres:5432 becomes a flow of every shop pod (web keeps 6379).
    const GENERALIZE: [Egress; 2] = [
        Egress {
            web: &[5432, 6379],
            namespace: &[],
        },
        Egress {
            web: &[6379],
            namespace: &[5432],
        },
    ];
    /// The reverse: only web may still reach postgres:5432.
    const TIGHTEN: [Egress; 2] = [
        Egress {
            web: &[6379],
            namespace: &[5432],
        },
        Egress {
            web: &[5432, 6379],
            namespace: &[],
        },
    ];
    /// One flow moves each way for the same pod.
    const BOTH_WAYS: [Egress; 2] = [
        Egress {
            web: &[5432],
            namespace: &[6379],
        },
        Egress {
            web: &[6379],
            namespace: &[5432],
        },
    ];

    /// Why each workload's policy carries copies of the namespace-wide flows (see
    /// `crate::lower`): without them, an update that moves a flow between a workload's
    /// policy and the namespace-wide one (web -> postgres:5432 made a flow of every shop
    /// pod, or the reverse) cuts that flow in one of the two orders, and an update that
    /// moves flows both ways for one pod has no safe order at all. With the copies,
    /// workloads first is safe for all three.
    #[test]
    fn without_copies_no_order_is_safe_for_every_flow_moving_to_or_from_the_namespace_wide_policy()
    {
        use Order::{NamespaceWideFirst, WorkloadsFirst};
        let prove = |[old, new]: [Egress; 2], copies: bool, order: Order| {
            let old = old.policies(copies, WorkloadsFirst);
            prove_rollout(&old, &new.policies(copies, order), shop())
        };
        let cut = |change, order| match prove(change, false, order) {
            Err(RolloutError::Interrupted(cut)) => {
                assert_eq!(
                    (cut.source.as_str(), cut.destination.as_str()),
                    ("shop/web", "db/postgres")
                );
                (cut.step.to_string(), cut.ports.to_string())
            }
            other => panic!("expected an interruption, got {other:?}"),
        };
        let web_first = ("applying shop/web.egress".to_owned(), "5432/tcp".to_owned());

        assert_eq!(cut(GENERALIZE, WorkloadsFirst), web_first);
        prove(GENERALIZE, false, NamespaceWideFirst).expect("the namespace-wide policy first");
        assert_eq!(
            cut(TIGHTEN, NamespaceWideFirst),
            (
                "applying shop/all-pods.egress".to_owned(),
                "5432/tcp".to_owned()
            )
        );
        prove(TIGHTEN, false, WorkloadsFirst).expect("web's policy first");
        assert_eq!(cut(BOTH_WAYS, WorkloadsFirst), web_first);
        assert_eq!(
            cut(BOTH_WAYS, NamespaceWideFirst),
            (
                "applying shop/all-pods.egress".to_owned(),
                "6379/tcp".to_owned()
            )
        );

        for change in [GENERALIZE, TIGHTEN, BOTH_WAYS] {
            prove(change, true, WorkloadsFirst).expect("web's policy is complete for web");
        }
    }

    /// A policy the update writes again unchanged is present throughout: before its step it
    /// allows what it allowed, and its step decides nothing.
    #[test]
    fn a_policy_rewritten_unchanged_counts_from_the_start_and_its_step_decides_nothing() {
        // web's DNS and its database calls in two policies; the update moves the database
        // to 6432 first, and writes the DNS one again, unchanged, after it.
        let web = "{matchLabels: {app: web}}";
        let dns = shop_egress("web.dns", web, true, &[]);
        let db = |port| shop_egress("web.db", web, false, &[port]);
        let old = policies(&format!("{dns}---{}", db(5432)));
        let new = policies(&format!("{}---{dns}", db(6432)));
        let proof = prove_rollout(&old, &new, shop()).expect("web resolves names throughout");
        // web's egress after step 1 only.
        assert_eq!(proof.sides_checked, 1);
        let same = prove_rollout(&new, &new, shop()).expect("nothing changes");
        assert_eq!((same.steps.len(), same.sides_checked), (2, 0));
    }

    /// A policy written again unchanged is part of what the old set allows: web, allowed
    /// DNS alone before, is not owed the new database flows before the step that adds them.
    #[test]
    fn a_policy_rewritten_unchanged_is_what_the_old_set_allows() {
        let web = "{matchLabels: {app: web}}";
        let dns = shop_egress("web.dns", web, true, &[]);
        let old = policies(&dns);
        let db = |name, port| shop_egress(name, web, false, &[port]);
        let new = policies(&format!(
            "{}---{}---{dns}",
            db("web.db", 5432),
            db("web.replica", 6432)
        ));
        prove_rollout(&old, &new, shop()).expect("adding web's flows one by one is safe");
    }

    /// Recognizing the policies an update writes again unchanged gives the verdict, and the
    /// first interruption, of deciding every step: the same updates with every new policy
    /// annotated (which allows nothing else, but makes each a change) are decided alike.
    #[test]
    fn recognizing_unchanged_policies_gives_the_verdict_of_deciding_every_step() {
        let annotated = |policies: &[LoadedPolicy]| -> Vec<LoadedPolicy> {
            let mut policies = policies.to_vec();
            for loaded in &mut policies {
                let note = ("test".to_owned(), "decide every step".to_owned());
                loaded.policy.metadata.annotations = Some(BTreeMap::from([note]));
            }
            policies
        };
        let configurations = [GENERALIZE[0], GENERALIZE[1], BOTH_WAYS[0], BOTH_WAYS[1]];
        let (mut safe, mut cut, mut fewer_sides) = (0, 0, 0);
        for before in configurations {
            for after in configurations {
                for copies in [false, true] {
                    for order in [Order::WorkloadsFirst, Order::NamespaceWideFirst] {
                        let old = before.policies(copies, Order::WorkloadsFirst);
                        let new = after.policies(copies, order);
                        let recognized = prove_rollout(&old, &new, shop());
                        let every_step = prove_rollout(&old, &annotated(&new), shop());
                        match (&recognized, &every_step) {
                            (Ok(recognized), Ok(every_step)) => {
                                assert_eq!(recognized.steps, every_step.steps);
                                safe += 1;
                                fewer_sides += usize::from(
                                    recognized.sides_checked < every_step.sides_checked,
                                );
                            }
                            (Err(recognized), Err(every_step)) => {
                                assert_eq!(recognized, every_step);
                                cut += 1;
                            }
                            _ => panic!("{recognized:?} against {every_step:?}"),
                        }
                    }
                }
            }
        }
        // Both verdicts occur, and some updates rewrite policies unchanged.
        assert!(
            safe > 0 && cut > 0 && fewer_sides > 0,
            "{safe} {cut} {fewer_sides}"
        );
    }

    /// Both rollouts proven on the analysis of the emitted folder are those proven each on
    /// an analysis of its own (the same steps, the same first interruption), whatever order
    /// that analysis holds the policies in and whatever other policies the folder holds;
    /// and where it cannot serve, they are proven afresh.
    #[test]
    fn the_rollouts_proven_on_the_folders_analysis_are_those_proven_afresh() {
        // A policy of another file of the folder, which the rollouts never write.
        let other = Inputs::from_yaml(
            "other.yaml",
            &shop_egress("web.extra", "{matchLabels: {app: web}}", false, &[9999]),
        )
        .expect("test YAML loads")
        .policies;
        // How the two ways decide an update, after checking that they agree.
        let decide = |old: &[LoadedPolicy], new: &[LoadedPolicy]| {
            let steps = |proof: Result<RolloutProof, RolloutError>| proof.map(|p| p.steps);
            let first = steps(prove_rollout(&[], new, shop()));
            let update = steps(prove_rollout(old, new, shop()));
            let mut folder: Vec<LoadedPolicy> = new.iter().rev().cloned().collect();
            folder.extend(other.iter().cloned());
            let analysis = Analysis::from_parts(&folder, &shop()).unwrap();
            match prove_rollouts_on(analysis, &shop(), old, new) {
                Ok(shared) => {
                    assert_eq!(Ok(shared.first.steps), first);
                    let shared_update = shared.update.map(|u| u.steps);
                    assert_eq!(shared_update.ok_or(()), update.map_err(drop));
                    format!("safe, {} analyses more", shared.analyses)
                }
                Err((which, cut)) => {
                    match which {
                        WhichRollout::First => assert_eq!(Err(cut), first),
                        WhichRollout::Update => {
                            assert!(first.is_ok());
                            assert_eq!(Err(cut), update);
                        }
                    }
                    format!("{which:?} refused")
                }
            }
        };
        // An old policy that selects a pod the topology lacks, and one whose ipBlock no
        // other policy uses: the folder's analysis cannot serve the update.
        let gone = shop_egress("gone.egress", "{matchLabels: {app: gone}}", true, &[]);
        let block = "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web.cidr, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 10.9.0.0/16}}]
";
        let configurations = [GENERALIZE[0], GENERALIZE[1], BOTH_WAYS[0], BOTH_WAYS[1]];
        let mut outcomes = BTreeMap::new();
        for before in configurations {
            for after in configurations {
                for extra in [None, Some(gone.as_str()), Some(block)] {
                    for copies in [false, true] {
                        for order in [Order::WorkloadsFirst, Order::NamespaceWideFirst] {
                            let mut old = before.policies(copies, Order::WorkloadsFirst);
                            old.extend(extra.map(policies).unwrap_or_default());
                            let outcome = decide(&old, &after.policies(copies, order));
                            *outcomes.entry((extra.is_some(), outcome)).or_insert(0) += 1;
                        }
                    }
                }
            }
        }
        // An update refused where the first rollout is safe: web.dns stops governing web's
        // egress before web.db carries DNS.
        let web = "{matchLabels: {app: web}}";
        let dns = shop_egress("web.dns", web, true, &[]);
        let ingress_only = dns.replace("policyTypes: [Egress]", "policyTypes: [Ingress]");
        let db = |dns| shop_egress("web.db", web, dns, &[5432]);
        let old = policies(&format!("{dns}---{}", db(false)));
        let new = policies(&format!("{ingress_only}---{}", db(true)));
        assert_eq!(decide(&old, &new), "Update refused");
        // The other file's policy is not in the cluster: deleting web's one egress policy
        // leaves web unisolated, which cuts nothing.
        assert_eq!(decide(&policies(&dns), &[]), "safe, 0 analyses more");

        // The folder's analysis served every update it could; the others were proven
        // afresh: both rollouts when a pod is missing, the update alone for the ipBlock.
        let outcomes: Vec<_> = outcomes
            .keys()
            .map(|(extra, o)| (*extra, o.as_str()))
            .collect();
        assert_eq!(
            outcomes,
            [
                (false, "First refused"),
                (false, "safe, 0 analyses more"),
                (true, "First refused"),
                (true, "safe, 1 analyses more"),
                (true, "safe, 2 analyses more"),
            ]
        );
    }

    /// What a rollout without the copies would need in updates instead: a temporary copy of
    /// the old namespace-wide policy under another name (modelled as present before, which
    /// allows nothing more than the old policies do, and deleted last), and the
    /// namespace-wide policy written before the workloads'.
    #[test]
    fn a_temporary_copy_of_the_old_namespace_wide_policy_makes_every_move_safe_without_copies() {
        for [old, new] in [GENERALIZE, TIGHTEN, BOTH_WAYS] {
            let mut before = old.policies(false, Order::WorkloadsFirst);
            before.extend(policies(&shop_egress(
                "all-pods-previous.egress",
                "{}",
                true,
                old.namespace,
            )));
            let after = new.policies(false, Order::NamespaceWideFirst);
            let proof = prove_rollout(&before, &after, shop()).expect("safe");
            assert_eq!(
                proof.steps.last().map(ToString::to_string).as_deref(),
                Some("deleting shop/all-pods-previous.egress")
            );
        }
    }
}
