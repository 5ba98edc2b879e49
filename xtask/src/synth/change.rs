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
    /// A flow line copied to another workload as its source (as its destination where the
    /// source is a namespace selected by labels, so that the copy still comes from it).
    Add,
    /// A flow's ports replaced by one other TCP port.
    ChangePort,
}

/// `cluster` with one flow edited (drawn from `rng`).
pub fn edit_one_flow(cluster: &Cluster, edit: FlowEdit, rng: &mut Rng) -> Cluster {
    edit_one_flow_of(cluster, edit, rng, |_| true)
}

/// `cluster` with one of the flows `which` holds for edited (drawn from `rng`).
///
/// # Panics
/// When `which` holds for no flow of `cluster`.
pub fn edit_one_flow_of(
    cluster: &Cluster,
    edit: FlowEdit,
    rng: &mut Rng,
    which: impl Fn(&Flow) -> bool,
) -> Cluster {
    let mut changed = cluster.clone();
    let flows = &mut changed.flows;
    let candidates: Vec<usize> = (0..flows.len()).filter(|&i| which(&flows[i])).collect();
    assert!(!candidates.is_empty(), "no flow of the cluster to {edit:?}");
    let at = candidates[rng.usize(..candidates.len())];
    match edit {
        FlowEdit::Remove => {
            flows.remove(at);
        }
        FlowEdit::Add => {
            let workloads: Vec<_> = cluster.workloads.values().copied().collect();
            let workload = Endpoint::Workload(workloads[rng.usize(..workloads.len())]);
            let flow = match flows[at].from {
                Endpoint::Namespace(namespace) if namespace.selector.is_some() => Flow {
                    to: workload,
                    ..flows[at]
                },
                _ => Flow {
                    from: workload,
                    ..flows[at]
                },
            };
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
    use zero_trust::model::{
        Expression, Label, Namespace, Operator, PortName, Selector, Workload, leak, leak_str,
    };
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

    /// The namespaces selected by labels that [`with_named_ports_and_selected_namespaces`]
    /// adds: one set of namespaces of their own, and every namespace but one, which
    /// includes the managed ones.
    const PARTNERS: &str = "partners";
    const ALL_BUT_KUBE_SYSTEM: &str = "all-but-kube-system";

    fn selected_namespace(name: &str, selector: Selector) -> &'static Namespace {
        leak(Namespace {
            ident: leak_str(&name.replace('-', "_")),
            name: leak_str(name),
            managed: false,
            ports: &[],
            selector: Some(selector),
        })
    }

    /// `cluster` with the ends the synthetic platform does not draw: two namespaces
    /// selected by labels (one of them matching every managed namespace too), flows to
    /// and from them, and flows naming ports of the platform's external workloads (the
    /// names `kube_dns:dns/udp` uses), each name from several sources, so that one of
    /// them can change without the target losing the name.
    fn with_named_ports_and_selected_namespaces(cluster: &Cluster, rng: &mut Rng) -> Cluster {
        let mut changed = cluster.clone();
        let partners = selected_namespace(
            PARTNERS,
            Selector {
                labels: leak_slice(vec![Label {
                    key: "team",
                    value: "partners",
                }]),
                expressions: &[],
            },
        );
        let all_but_kube_system = selected_namespace(
            ALL_BUT_KUBE_SYSTEM,
            Selector {
                labels: &[],
                expressions: leak_slice(vec![Expression {
                    key: "kubernetes.io/metadata.name",
                    operator: Operator::NotIn,
                    values: leak_slice(vec!["kube-system"]),
                }]),
            },
        );
        for namespace in [partners, all_but_kube_system] {
            changed.namespaces.insert(namespace.name, namespace);
        }
        let managed: Vec<&'static Workload> = cluster
            .workloads
            .values()
            .copied()
            .filter(|w| w.namespace.managed && !w.ports.is_empty())
            .collect();
        let external =
            |namespace: &str, name: &str| Endpoint::Workload(cluster.workloads[&(namespace, name)]);
        let dns = leak_slice(vec![
            PortName {
                name: "dns",
                protocol: Protocol::Udp,
            },
            PortName {
                name: "dns-tcp",
                protocol: Protocol::Tcp,
            },
        ]);
        let https = leak_slice(vec![PortName {
            name: "https",
            protocol: Protocol::Tcp,
        }]);
        let http = leak_slice(vec![PortRange::single(Protocol::Tcp, 80)]);
        let tls = leak_slice(vec![PortRange::single(Protocol::Tcp, 443)]);
        let mut added = Vec::new();
        for _ in 0..6 {
            let workload = Endpoint::Workload(managed[rng.usize(..managed.len())]);
            let listens = match workload {
                Endpoint::Workload(w) => &w.ports[..1],
                _ => unreachable!(),
            };
            let flow = |from, to, ports, port_names| Flow {
                from,
                to,
                ports,
                port_names,
                reason: "",
            };
            let partners = Endpoint::Namespace(partners);
            let everywhere = Endpoint::Namespace(all_but_kube_system);
            added.extend([
                flow(partners, workload, listens, &[][..]),
                flow(workload, partners, tls, &[]),
                flow(everywhere, workload, listens, &[]),
                flow(workload, everywhere, http, &[]),
                flow(workload, external("kube-system", "kube-dns"), &[], dns),
                flow(
                    workload,
                    external("ingress-nginx", "controller"),
                    http,
                    https,
                ),
            ]);
        }
        for flow in added {
            let at = rng.usize(..=changed.flows.len());
            changed.flows.insert(at, flow);
        }
        changed
    }

    /// Which flows a change edits.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Flows {
        Any,
        /// Those naming a port of their target.
        Named,
        /// Those from or to a namespace selected by labels.
        Selected,
    }

    impl Flows {
        fn holds(self, flow: &Flow) -> bool {
            let selected =
                |end: &Endpoint| matches!(end, Endpoint::Namespace(n) if n.selector.is_some());
            match self {
                Flows::Any => true,
                Flows::Named => !flow.port_names.is_empty(),
                Flows::Selected => selected(&flow.from) || selected(&flow.to),
            }
        }
    }

    #[derive(Clone, Copy, Debug)]
    enum Change {
        /// The model edited and the YAML emitted again: proves.
        Emitted(FlowEdit, Flows),
        /// The model edited, the YAML kept: a discrepancy.
        ModelOnly(FlowEdit, Flows),
        /// The YAML edited by hand: a discrepancy.
        SelectorInYaml,
    }

    impl Change {
        fn flows(self) -> Flows {
            match self {
                Change::Emitted(_, flows) | Change::ModelOnly(_, flows) => flows,
                Change::SelectorInYaml => Flows::Any,
            }
        }
    }

    const CHANGES: [Change; 13] = [
        Change::Emitted(FlowEdit::Add, Flows::Any),
        Change::Emitted(FlowEdit::Remove, Flows::Any),
        Change::ModelOnly(FlowEdit::ChangePort, Flows::Any),
        Change::Emitted(FlowEdit::ChangePort, Flows::Any),
        Change::SelectorInYaml,
        Change::Emitted(FlowEdit::Remove, Flows::Any),
        Change::ModelOnly(FlowEdit::ChangePort, Flows::Any),
        Change::Emitted(FlowEdit::Add, Flows::Named),
        Change::ModelOnly(FlowEdit::ChangePort, Flows::Named),
        Change::Emitted(FlowEdit::Remove, Flows::Named),
        Change::Emitted(FlowEdit::Add, Flows::Selected),
        Change::ModelOnly(FlowEdit::ChangePort, Flows::Selected),
        Change::Emitted(FlowEdit::Remove, Flows::Selected),
    ];
    // (A flow added to the model alone is no sure discrepancy: other flows, to a whole
    // namespace say, may already allow it.)

    /// After each of a series of random changes, the re-proof that decides only what the
    /// change can affect gives exactly the mismatches of a full proof of the same
    /// policies and cluster: none after a change emitted again, and the same list, line
    /// for line, after a change of the model or of the YAML alone. The changes include
    /// flows naming ports of external workloads and flows to and from namespaces selected
    /// by labels, which the re-proof decides incrementally as any other flow.
    #[test]
    fn a_reproof_after_each_change_is_the_full_proof() {
        let mut incremental = 0;
        let mut afresh_of_named_or_selected = Vec::new();
        for seed in 1..=3 {
            let params = Params {
                namespaces: 6,
                workloads: 60,
                flows: 240,
                seed,
            };
            let mut rng = Rng::with_seed(seed);
            let mut cluster =
                with_named_ports_and_selected_namespaces(&synthetic_cluster(&params), &mut rng);
            let mut policies = emitted_policies(&cluster);
            let mut state = ProvenState::new(cluster.clone(), policies.clone()).unwrap();
            assert_eq!(state.mismatches(), []);
            for (step, change) in CHANGES.iter().cycle().take(2 * CHANGES.len()).enumerate() {
                let edit = |cluster: &Cluster, edit, rng: &mut Rng| {
                    edit_one_flow_of(cluster, edit, rng, |f| change.flows().holds(f))
                };
                let (next_cluster, next_policies) = match *change {
                    Change::Emitted(flow_edit, _) => {
                        let next = edit(&cluster, flow_edit, &mut rng);
                        let emitted = emitted_policies(&next);
                        (next, emitted)
                    }
                    Change::ModelOnly(flow_edit, _) => {
                        (edit(&cluster, flow_edit, &mut rng), policies.clone())
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
                let context = format!("seed {seed}, step {step}: {change:?} ({how:?})");
                match how {
                    Reproved::Incremental { .. } => incremental += 1,
                    Reproved::Afresh(_) if change.flows() != Flows::Any => {
                        afresh_of_named_or_selected.push(context.clone());
                    }
                    Reproved::Afresh(_) => {}
                }
                let analysis =
                    Analysis::from_parts(state.policies(), &model_topology(&next_cluster)).unwrap();
                let full = check_intent(&next_cluster, &analysis);
                assert_eq!(state.mismatches(), full, "{context}");
                match change {
                    Change::Emitted(..) => assert!(full.is_empty(), "{context}: {full:?}"),
                    _ => assert!(!full.is_empty(), "{context}: not caught"),
                }
                (cluster, policies) = (next_cluster, next_policies);
            }
        }
        let steps = 3 * 2 * CHANGES.len();
        assert!(
            incremental >= steps * 2 / 3,
            "only {incremental} of {steps} re-proofs were incremental"
        );
        // Each target keeps its port names (several flows name them), so the model's pods
        // stay the same and nothing calls for a proof afresh.
        assert_eq!(afresh_of_named_or_selected, Vec::<String>::new());
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

    /// A flow naming a port its target was given by no flow before gives the model's pod
    /// another container port (each name a number of its own), so the analysis is of
    /// other pods and the re-proof starts afresh, with the full proof's answer: a
    /// discrepancy while the YAML lacks the name, none once emitted, and afresh again
    /// when the flow goes and the name with it.
    #[test]
    fn a_port_name_new_to_its_target_is_proven_afresh() {
        let params = Params {
            namespaces: 4,
            workloads: 30,
            flows: 100,
            seed: 7,
        };
        let mut rng = Rng::with_seed(7);
        let cluster =
            with_named_ports_and_selected_namespaces(&synthetic_cluster(&params), &mut rng);
        let policies = emitted_policies(&cluster);
        let mut state = ProvenState::new(cluster.clone(), policies.clone()).unwrap();
        let full = |state: &ProvenState, cluster: &Cluster| {
            let analysis =
                Analysis::from_parts(state.policies(), &model_topology(cluster)).unwrap();
            check_intent(cluster, &analysis)
        };
        let mut named = cluster.clone();
        let at = named.flows.iter().position(|f| !f.port_names.is_empty());
        let at = at.expect("a flow naming a port");
        let metrics = leak_slice(vec![PortName {
            name: "metrics",
            protocol: Protocol::Tcp,
        }]);
        let flow = Flow {
            port_names: metrics,
            ..named.flows[at]
        };
        named.flows.insert(at, flow);
        let afresh = |how: &Reproved| matches!(how, Reproved::Afresh(why) if why.contains("port names flows give"));

        let how = state
            .reprove(named.clone(), PolicyChange::default())
            .unwrap();
        assert!(afresh(&how), "{how:?}");
        assert!(!state.mismatches().is_empty());
        assert_eq!(state.mismatches(), full(&state, &named));

        let emitted = emitted_policies(&named);
        let how = state
            .reprove(named.clone(), PolicyChange::between(&policies, &emitted))
            .unwrap();
        assert!(matches!(how, Reproved::Incremental { .. }), "{how:?}");
        assert_eq!(state.mismatches(), []);
        assert_eq!(full(&state, &named), []);

        let how = state
            .reprove(cluster.clone(), PolicyChange::between(&emitted, &policies))
            .unwrap();
        assert!(afresh(&how), "{how:?}");
        assert_eq!(state.mismatches(), []);
        assert_eq!(full(&state, &cluster), []);
    }
}
