//! Import over random NetworkPolicy sets: where the report says "no difference", the
//! imported code's YAML allows exactly what the input allowed, checked on a topology of
//! its own (every combination of the labels in play, in every namespace, and addresses
//! inside and outside every block, namespaces with labels that namespace selectors match
//! and one no policy names), not the one the import's proof used.

use std::collections::BTreeMap;
use std::net::IpAddr;

use proptest::prelude::*;
use zero_trust::diff::topology_for;
use zero_trust::eval::{
    Analysis, Inputs, LoadedPolicy, NamespaceInfo, PodInfo, Topology, load_str,
};
use zero_trust::import::{Assumptions, import};

const NAMESPACES: [&str; 3] = ["ns-a", "ns-b", "ns-c"];
/// The labels of each namespace of `NAMESPACES` and of `OTHER_NAMESPACES`, which no
/// policy names, so that a namespace selected by labels reaches them too.
const NAMESPACE_LABELS: [&[(&str, &str)]; 5] = [
    &[("team", "x")],
    &[("team", "y"), ("env", "prod")],
    &[],
    &[("team", "x"), ("env", "prod")],
    &[("team", "y")],
];
const OTHER_NAMESPACES: [&str; 2] = ["ns-other-x", "ns-other-y"];
/// Namespace selectors on other labels than the name: import writes `external namespaces`.
const NAMESPACE_SELECTORS: [&str; 4] = [
    "{matchLabels: {team: x}}",
    "{}",
    "{matchExpressions: [{key: team, operator: In, values: [y, z]}]}",
    "{matchExpressions: [{key: env, operator: DoesNotExist}]}",
];
const SELECTORS: [&str; 4] = ["{}", "{app: a}", "{app: b}", "{app: a, tier: x}"];
const BLOCKS: [&str; 3] = [
    "{cidr: 0.0.0.0/0, except: [10.0.0.0/8]}",
    "{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}",
    "{cidr: 192.168.1.0/24}",
];
const PORTS: [&str; 5] = [
    "",
    "ports: [{port: 80}]",
    "ports: [{port: 8000, endPort: 8100}, {port: 53, protocol: UDP}]",
    "ports: [{protocol: UDP}]",
    "ports: [{port: 443}, {port: 80}]",
];
const ADDRESSES: [&str; 6] = [
    "8.8.8.8",
    "2001:db8::1",
    "10.0.0.1",
    "10.1.0.1",
    "192.168.1.7",
    "192.168.2.1",
];

/// One end of a flow: the pods of a namespace matching a selector, the pods matching a
/// selector in the namespaces a namespace selector selects (a peer only), or an ipBlock.
#[derive(Clone, Debug)]
enum EndSpec {
    Pods(usize, usize),
    Labelled(usize, usize),
    Block(usize),
    /// A rule without `from`/`to`: every source or destination (a peer only).
    Everything,
}

/// Which halves of a flow the input writes; zero-trust always writes both.
#[derive(Clone, Copy, Debug)]
enum Halves {
    Both,
    EgressOnly,
    IngressOnly,
}

#[derive(Clone, Debug)]
struct Spec {
    /// Namespaces with a default deny (the others may still get allow policies).
    default_deny: Vec<bool>,
    flows: Vec<(EndSpec, EndSpec, usize, Halves)>,
}

fn end() -> impl Strategy<Value = EndSpec> {
    prop_oneof![
        4 => (0..NAMESPACES.len(), 0..SELECTORS.len()).prop_map(|(n, s)| EndSpec::Pods(n, s)),
        1 => (0..NAMESPACE_SELECTORS.len(), 0..SELECTORS.len()).prop_map(|(n, s)| EndSpec::Labelled(n, s)),
        1 => (0..BLOCKS.len()).prop_map(EndSpec::Block),
        1 => Just(EndSpec::Everything),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let halves = prop_oneof![6 => Just(Halves::Both), 1 => Just(Halves::EgressOnly), 1 => Just(Halves::IngressOnly)];
    (
        proptest::collection::vec(proptest::bool::weighted(0.85), NAMESPACES.len()),
        proptest::collection::vec((end(), end(), 0..PORTS.len(), halves), 1..6),
    )
        .prop_map(|(default_deny, flows)| Spec {
            default_deny,
            flows,
        })
}

/// A rule with `end` as its peer (`word`: `from` or `to`), seen from a policy in
/// `namespace`; `ports` is the rule's `ports` line, or empty.
fn rule(word: &str, end: &EndSpec, namespace: usize, by_name: bool, ports: &str) -> String {
    match (end, ports.is_empty()) {
        (EndSpec::Everything, true) => "  - {}\n".to_owned(),
        (EndSpec::Everything, false) => format!("  - {}", ports.trim_start()),
        (end, _) => format!(
            "  - {word}:\n    - {}\n{ports}",
            peer(end, namespace, by_name)
        ),
    }
}

/// The peer item for `end`, seen from a policy in `namespace`.
fn peer(end: &EndSpec, namespace: usize, by_name: bool) -> String {
    match end {
        EndSpec::Everything => unreachable!("a rule without peers has no peer item"),
        EndSpec::Block(b) => format!("{{ipBlock: {}}}", BLOCKS[*b]),
        EndSpec::Labelled(n, s) => format!(
            "{{namespaceSelector: {}, podSelector: {}}}",
            NAMESPACE_SELECTORS[*n],
            match_labels(SELECTORS[*s])
        ),
        EndSpec::Pods(n, s) if *n == namespace && !by_name => {
            format!("{{podSelector: {}}}", match_labels(SELECTORS[*s]))
        }
        EndSpec::Pods(n, s) => {
            let pods = if *s == 0 {
                String::new()
            } else {
                format!(", podSelector: {}", match_labels(SELECTORS[*s]))
            };
            format!(
                "{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {}}}}}{pods}}}",
                NAMESPACES[*n]
            )
        }
    }
}

fn yaml(spec: &Spec) -> String {
    let mut text = String::new();
    let mut policy = |namespace: usize, selector: usize, kind: &str, rule: String| {
        let index = text.matches("kind: NetworkPolicy").count();
        text.push_str(&format!(
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p{index}, namespace: {}}}\nspec:\n  podSelector: {}\n  policyTypes: [{kind}]\n{rule}",
            NAMESPACES[namespace],
            match_labels(SELECTORS[selector]),
        ));
    };
    for (n, deny) in spec.default_deny.iter().enumerate() {
        if *deny {
            policy(n, 0, "Ingress, Egress", String::new());
        }
    }
    for (i, (from, to, ports, halves)) in spec.flows.iter().enumerate() {
        let ports = if PORTS[*ports].is_empty() {
            String::new()
        } else {
            format!("    {}\n", PORTS[*ports])
        };
        let by_name = i % 2 == 1;
        if let (EndSpec::Pods(n, s), Halves::Both | Halves::EgressOnly) = (from, halves) {
            policy(
                *n,
                *s,
                "Egress",
                format!("  egress:\n{}", rule("to", to, *n, by_name, &ports)),
            );
        }
        if let (EndSpec::Pods(n, s), Halves::Both | Halves::IngressOnly) = (to, halves) {
            policy(
                *n,
                *s,
                "Ingress",
                format!("  ingress:\n{}", rule("from", from, *n, by_name, &ports)),
            );
        }
    }
    text
}

fn match_labels(selector: &str) -> String {
    if selector == "{}" {
        "{}".to_owned()
    } else {
        format!("{{matchLabels: {selector}}}")
    }
}

/// Every namespace with a pod for every combination of the labels in play.
fn own_topology() -> Topology {
    let mut topology = Topology::default();
    let labelings: [&[(&str, &str)]; 6] = [
        &[],
        &[("app", "a")],
        &[("app", "b")],
        &[("app", "a"), ("tier", "x")],
        &[("app", "b"), ("tier", "x")],
        &[("tier", "x")],
    ];
    let names = NAMESPACES.iter().chain(&OTHER_NAMESPACES);
    for (namespace, labels) in names.zip(NAMESPACE_LABELS) {
        topology.namespaces.push(NamespaceInfo {
            name: (*namespace).to_owned(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        });
        for (i, labels) in labelings.iter().enumerate() {
            topology
                .pods
                .push(PodInfo::new(namespace, &format!("pod{i}"), labels));
        }
    }
    topology
}

fn load(name: &str, text: &str) -> Vec<LoadedPolicy> {
    let mut inputs = Inputs::default();
    load_str(&mut inputs, std::path::Path::new(name), text).expect("loads");
    inputs.policies
}

/// The (source, destination) pairs of the own topology that input and output decide
/// differently.
fn disagreements(input: &[LoadedPolicy], output: &[LoadedPolicy]) -> Vec<String> {
    let topology = topology_for(own_topology(), &[]);
    let before = Analysis::from_parts(input, &topology).expect("input analyses");
    let after = Analysis::from_parts(output, &topology).expect("output analyses");
    let mut ends: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for pod in &topology.pods {
        ends.insert(
            pod.display_name(),
            (
                before.class_of_pod(&pod.namespace, &pod.name).expect("pod"),
                after.class_of_pod(&pod.namespace, &pod.name).expect("pod"),
            ),
        );
    }
    for address in ADDRESSES {
        let address: IpAddr = address.parse().expect("address");
        ends.insert(
            address.to_string(),
            (
                before.class_of_address(address),
                after.class_of_address(address),
            ),
        );
    }
    let mut found = Vec::new();
    for (source, (b_source, a_source)) in &ends {
        for (destination, (b_destination, a_destination)) in &ends {
            let was = before.end_to_end(*b_source, *b_destination);
            let is = after.end_to_end(*a_source, *a_destination);
            if was != is {
                found.push(format!(
                    "{source} -> {destination}: {was} before, {is} after"
                ));
            }
        }
    }
    found
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// "No difference" is never wrong, and a reported difference is a real one.
    #[test]
    fn the_report_says_whether_anything_differs(spec in spec()) {
        let text = yaml(&spec);
        prop_assume!(!text.is_empty());
        let mut inputs = Inputs::default();
        load_str(&mut inputs, std::path::Path::new("input.yaml"), &text).expect("loads");
        // The namespaces and their labels, as `--workloads` would give them: whether a
        // namespace selector reaches a namespace depends on them.
        inputs.topology.namespaces = own_topology().namespaces;
        let imported = import(&inputs, &Assumptions::default()).expect("imports");
        let output: Vec<LoadedPolicy> = imported
            .emitted
            .iter()
            .filter(|(name, _)| name.ends_with(".yaml"))
            .flat_map(|(name, text)| load(name, text))
            .collect();
        let found = disagreements(&inputs.policies, &output);
        let report = &imported.report;
        let code = imported.files.values().cloned().collect::<Vec<_>>().join("\n");
        if report.is_exact() {
            prop_assert!(found.is_empty(), "the report says no difference, but:\n{}\n{}\n{}", found.join("\n"), text, code);
        }
        if !report.differences.is_empty() || !report.isolation.is_empty() {
            prop_assert!(!found.is_empty(), "the report lists differences that do not exist:\n{}\n{}\n{}", report, text, code);
        }
    }
}
