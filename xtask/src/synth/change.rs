//! One-flow changes of a synthetic cluster, the edits of a day on a platform: what the
//! bench re-proves, and what the tests re-prove against a full proof.

use fastrand::Rng;
use zero_trust::Cluster;
use zero_trust::model::{Endpoint, Flow, leak_slice};
use zero_trust::{PortRange, Protocol};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowEdit {
    /// A flow line deleted.
    Remove,
    /// A flow line copied to another workload as its source.
    Add,
    /// A flow's ports replaced by one other TCP port.
    ChangePort,
}

/// `cluster` with one flow edited (drawn from `rng`).
pub fn edit_one_flow(cluster: &Cluster, edit: FlowEdit, rng: &mut Rng) -> Cluster {
    let mut changed = cluster.clone();
    let flows = &mut changed.flows;
    let at = rng.usize(..flows.len());
    match edit {
        FlowEdit::Remove => {
            flows.remove(at);
        }
        FlowEdit::Add => {
            let workloads: Vec<_> = cluster.workloads.values().copied().collect();
            let from = Endpoint::Workload(workloads[rng.usize(..workloads.len())]);
            let flow = Flow { from, ..flows[at] };
            flows.insert(rng.usize(..=flows.len()), flow);
        }
        FlowEdit::ChangePort => {
            let port = PortRange::single(Protocol::Tcp, rng.u16(20_000..30_000));
            flows[at].ports = leak_slice(vec![port]);
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{Params, synthetic_cluster};
    use zero_trust::emit::emit;
    use zero_trust::eval::{Analysis, LoadedPolicy};
    use zero_trust::rollout::read_manifests;
    use zero_trust::verify::{PolicyChange, ProvenState, Reproved, check_intent, model_topology};

    fn emitted_policies(cluster: &Cluster) -> Vec<LoadedPolicy> {
        read_manifests("emitted", &emit(cluster).unwrap().files).unwrap()
    }

    /// A policy's pod selector changed by hand in the YAML: a label value no pod has.
    fn with_a_selector_changed(policies: &[LoadedPolicy], rng: &mut Rng) -> Vec<LoadedPolicy> {
        let mut changed = policies.to_vec();
        let candidates: Vec<usize> = (0..changed.len())
            .filter(|&i| {
                let spec = changed[i].policy.spec.as_ref();
                spec.and_then(|s| s.pod_selector.as_ref())
                    .and_then(|s| s.match_labels.as_ref())
                    .is_some_and(|labels| !labels.is_empty())
            })
            .collect();
        let i = candidates[rng.usize(..candidates.len())];
        let spec = changed[i].policy.spec.as_mut().unwrap();
        let labels = spec
            .pod_selector
            .as_mut()
            .unwrap()
            .match_labels
            .as_mut()
            .unwrap();
        for value in labels.values_mut() {
            value.push_str("-renamed");
        }
        changed
    }

    #[derive(Clone, Copy, Debug)]
    enum Change {
        /// The model edited and the YAML emitted again: proves.
        Emitted(FlowEdit),
        /// The model edited, the YAML kept: a discrepancy.
        ModelOnly(FlowEdit),
        /// The YAML edited by hand: a discrepancy.
        SelectorInYaml,
    }

    const CHANGES: [Change; 7] = [
        Change::Emitted(FlowEdit::Add),
        Change::Emitted(FlowEdit::Remove),
        Change::ModelOnly(FlowEdit::ChangePort),
        Change::Emitted(FlowEdit::ChangePort),
        Change::SelectorInYaml,
        Change::Emitted(FlowEdit::Remove),
        Change::ModelOnly(FlowEdit::ChangePort),
    ];
    // (A flow added to the model alone is no sure discrepancy: other flows, to a whole
    // namespace say, may already allow it.)

    /// After each of a series of random changes, the re-proof that decides only what the
    /// change can affect gives exactly the mismatches of a full proof of the same
    /// policies and cluster: none after a change emitted again, and the same list, line
    /// for line, after a change of the model or of the YAML alone.
    #[test]
    fn a_reproof_after_each_change_is_the_full_proof() {
        let mut incremental = 0;
        for seed in 1..=3 {
            let params = Params {
                namespaces: 6,
                workloads: 60,
                flows: 240,
                seed,
            };
            let mut cluster = synthetic_cluster(&params);
            let mut policies = emitted_policies(&cluster);
            let mut state = ProvenState::new(cluster.clone(), policies.clone()).unwrap();
            assert_eq!(state.mismatches(), []);
            let mut rng = Rng::with_seed(seed);
            for (step, change) in CHANGES.iter().cycle().take(14).enumerate() {
                let (next_cluster, next_policies) = match *change {
                    Change::Emitted(edit) => {
                        let next = edit_one_flow(&cluster, edit, &mut rng);
                        let emitted = emitted_policies(&next);
                        (next, emitted)
                    }
                    Change::ModelOnly(edit) => {
                        (edit_one_flow(&cluster, edit, &mut rng), policies.clone())
                    }
                    Change::SelectorInYaml => (
                        cluster.clone(),
                        with_a_selector_changed(&policies, &mut rng),
                    ),
                };
                let how = state
                    .reprove(
                        next_cluster.clone(),
                        PolicyChange::between(&policies, &next_policies),
                    )
                    .unwrap();
                incremental += usize::from(matches!(how, Reproved::Incremental { .. }));
                let analysis =
                    Analysis::from_parts(state.policies(), &model_topology(&next_cluster)).unwrap();
                let full = check_intent(&next_cluster, &analysis);
                let context = format!("seed {seed}, step {step}: {change:?} ({how:?})");
                assert_eq!(state.mismatches(), full, "{context}");
                match change {
                    Change::Emitted(_) => assert!(full.is_empty(), "{context}: {full:?}"),
                    _ => assert!(!full.is_empty(), "{context}: not caught"),
                }
                (cluster, policies) = (next_cluster, next_policies);
            }
        }
        assert!(
            incremental >= 30,
            "only {incremental} of 42 re-proofs were incremental"
        );
    }

    /// A policy removed by hand is re-proven incrementally and caught; a policy added with
    /// an ipBlock no other policy uses gives the analysis other address classes, so it is
    /// proven afresh, and so is one naming a namespace the model does not hold; each gives
    /// the full proof's answer.
    #[test]
    fn a_removed_policy_is_caught_and_a_new_ip_block_is_proven_afresh() {
        let params = Params {
            namespaces: 4,
            workloads: 30,
            flows: 100,
            seed: 7,
        };
        let cluster = synthetic_cluster(&params);
        let policies = emitted_policies(&cluster);
        let mut state = ProvenState::new(cluster.clone(), policies.clone()).unwrap();
        let full = |state: &ProvenState| {
            let analysis =
                Analysis::from_parts(state.policies(), &model_topology(&cluster)).unwrap();
            check_intent(&cluster, &analysis)
        };
        let egress = policies
            .iter()
            .find(|p| {
                p.policy
                    .metadata
                    .name
                    .as_deref()
                    .is_some_and(|n| n.ends_with(".egress"))
            })
            .expect("a workload's egress policy");
        let namespace = egress.policy.metadata.namespace.clone().unwrap();
        let removed = (
            namespace.clone(),
            egress.policy.metadata.name.clone().unwrap(),
        );
        let how = state
            .reprove(
                cluster.clone(),
                PolicyChange {
                    written: Vec::new(),
                    removed: vec![removed],
                },
            )
            .unwrap();
        assert!(matches!(how, Reproved::Incremental { .. }), "{how:?}");
        assert!(!state.mismatches().is_empty());
        assert_eq!(state.mismatches(), full(&state));

        let yaml = format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n\
             metadata: {{name: to-a-new-block, namespace: {namespace}}}\n\
             spec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n\
             \x20 egress: [{{to: [{{ipBlock: {{cidr: 100.64.7.0/24}}}}]}}]\n"
        );
        let added = zero_trust::eval::Inputs::from_yaml("added.yaml", &yaml)
            .unwrap()
            .policies;
        let how = state
            .reprove(
                cluster.clone(),
                PolicyChange {
                    written: added,
                    removed: Vec::new(),
                },
            )
            .unwrap();
        assert!(
            matches!(how, Reproved::Afresh(ref why) if why.contains("100.64.7.0/24")),
            "{how:?}"
        );
        assert!(!state.mismatches().is_empty());
        assert_eq!(state.mismatches(), full(&state));

        // The block of a CIDR of the model: the address classes stay, so incremental.
        let again = yaml
            .replace("100.64.7.0/24", "203.0.113.0/24")
            .replace("to-a-new-block", "to-a-partner");
        let written = zero_trust::eval::Inputs::from_yaml("added.yaml", &again)
            .unwrap()
            .policies;
        let how = state
            .reprove(
                cluster.clone(),
                PolicyChange {
                    written,
                    removed: Vec::new(),
                },
            )
            .unwrap();
        assert!(matches!(how, Reproved::Incremental { .. }), "{how:?}");
        assert_eq!(state.mismatches(), full(&state));

        // A namespace the model does not hold gets classes of its own: afresh.
        let elsewhere = yaml.replace(
            "{ipBlock: {cidr: 100.64.7.0/24}}",
            "{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: elsewhere}}}",
        );
        let written = zero_trust::eval::Inputs::from_yaml("added.yaml", &elsewhere)
            .unwrap()
            .policies;
        let how = state
            .reprove(
                cluster.clone(),
                PolicyChange {
                    written,
                    removed: Vec::new(),
                },
            )
            .unwrap();
        assert!(
            matches!(how, Reproved::Afresh(ref why) if why.contains("`elsewhere`")),
            "{how:?}"
        );
        assert_eq!(state.mismatches(), full(&state));
    }
}
