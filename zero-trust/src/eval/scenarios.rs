//! Scenario tests of the evaluator: the cases of the Kubernetes e2e NetworkPolicy suite
//! (test/e2e/network/netpol/network_policy.go) that fit the model, on its usual topology of
//! namespaces x, y, z each with pods a, b, c serving 80 and 81.

use std::net::IpAddr;

use zero_trust_rules::Protocol::{self, Sctp, Tcp, Udp};

use super::*;

/// Namespaces `x`, `y`, `z` labelled `ns=<name>`; pods `a`, `b`, `c` in each labelled
/// `pod=<name>`, with named ports `serve-80-tcp`, `serve-81-tcp`, `serve-80-udp`,
/// `serve-81-sctp`, like the e2e suite's.
fn topology() -> Topology {
    let mut topology = Topology::default();
    for ns in ["x", "y", "z"] {
        topology.namespaces.push(NamespaceInfo {
            name: ns.into(),
            labels: Labels::from([("ns".into(), ns.into())]),
        });
        for pod in ["a", "b", "c"] {
            topology.pods.push(
                PodInfo::new(ns, pod, &[("pod", pod)])
                    .with_port("serve-80-tcp", Tcp, 80)
                    .with_port("serve-81-tcp", Tcp, 81)
                    .with_port("serve-80-udp", Udp, 80)
                    .with_port("serve-81-sctp", Sctp, 81),
            );
        }
    }
    topology
}

fn analyze(policies: &str) -> Analysis {
    let inputs = Inputs::from_yaml("policies.yaml", policies).unwrap_or_else(|e| panic!("{e:?}"));
    Analysis::from_parts(&inputs.policies, &topology()).unwrap_or_else(|e| panic!("{e:?}"))
}

/// `x/a` a topology pod, `x/*` another pod of x, `?` a pod of an unnamed namespace,
/// anything else an IP address.
fn class(analysis: &Analysis, endpoint: &str) -> ClassId {
    if endpoint == "?" {
        return analysis.class_of_unnamed_namespace_pod();
    }
    if let Ok(address) = endpoint.parse::<IpAddr>() {
        return analysis.class_of_address(address);
    }
    match endpoint.split_once('/') {
        Some((ns, "*")) => analysis.class_of_other_pod(ns),
        Some((ns, pod)) => analysis.class_of_pod(ns, pod),
        None => None,
    }
    .unwrap_or_else(|| panic!("no class for {endpoint}"))
}

fn allowed(analysis: &Analysis, from: &str, to: &str, port: u16, protocol: Protocol) -> bool {
    let ports = analysis.end_to_end(class(analysis, from), class(analysis, to));
    let answer = ports.contains(protocol, port);
    // The explanation is computed rule by rule; it must agree with the grant-based answer.
    let explained = analysis.explain(class(analysis, from), class(analysis, to), port, protocol);
    assert_eq!(
        explained.allowed, answer,
        "explain disagrees for {from} -> {to} {port}:\n{explained}"
    );
    answer
}

const PODS: [&str; 9] = [
    "x/a", "x/b", "x/c", "y/a", "y/b", "y/c", "z/a", "z/b", "z/c",
];

/// The e2e suite's truth table: which (from, to) pairs among the nine pods are allowed.
fn reachable(
    analysis: &Analysis,
    port: u16,
    protocol: Protocol,
) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    for from in PODS {
        for to in PODS {
            if allowed(analysis, from, to, port, protocol) {
                out.push((from, to));
            }
        }
    }
    out
}

fn policy(namespace: &str, name: &str, spec: &str) -> String {
    format!(
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}\n"
    )
}

#[test]
fn without_policies_everything_is_allowed() {
    let a = analyze("");
    assert_eq!(reachable(&a, 80, Tcp).len(), 81);
    assert!(allowed(&a, "x/a", "8.8.8.8", 443, Tcp));
    assert!(allowed(&a, "?", "x/*", 1, Sctp));
    assert_eq!(a.constrained_pairs().count(), 0);
}

#[test]
fn deny_all_ingress_isolates_the_namespace_only() {
    // e2e "should support a 'default-deny-ingress' policy"; no policyTypes: Ingress by default.
    let a = analyze(&policy("x", "deny-ingress", "  podSelector: {}"));
    for to in ["x/a", "x/b", "x/c", "x/*"] {
        for from in ["x/a", "y/b", "?", "1.2.3.4"] {
            assert!(!allowed(&a, from, to, 80, Tcp), "{from} -> {to}");
        }
    }
    assert!(allowed(&a, "x/a", "y/a", 80, Tcp), "egress of x stays open");
    assert!(allowed(&a, "y/a", "z/a", 80, Tcp));
    assert!(a.is_isolated(class(&a, "x/*"), Direction::Ingress));
    assert!(!a.is_isolated(class(&a, "x/a"), Direction::Egress));
}

#[test]
fn deny_all_egress_blocks_outbound_only() {
    // e2e "should enforce policy to allow traffic only ... default-deny-all egress".
    let a = analyze(&policy(
        "x",
        "deny-egress",
        "  podSelector: {}\n  policyTypes: [Egress]",
    ));
    assert!(!allowed(&a, "x/a", "y/a", 80, Tcp));
    assert!(!allowed(&a, "x/a", "x/b", 80, Tcp));
    assert!(!allowed(&a, "x/a", "8.8.8.8", 53, Udp));
    assert!(
        allowed(&a, "y/a", "x/a", 80, Tcp),
        "ingress of x stays open"
    );
    assert!(!a.is_isolated(class(&a, "x/a"), Direction::Ingress));
}

#[test]
fn allow_from_a_namespace_by_label() {
    // e2e "should enforce policy to allow traffic from pods within server namespace based
    // on PodSelector" / "... based on NamespaceSelector with MatchExpressions".
    let a = analyze(&policy(
        "x",
        "allow-from-y",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {ns: y}}",
    ));
    for from in ["y/a", "y/b", "y/c", "y/*"] {
        assert!(allowed(&a, from, "x/a", 80, Tcp), "{from}");
    }
    for from in ["x/b", "z/a", "?", "9.9.9.9"] {
        assert!(
            !allowed(&a, from, "x/a", 80, Tcp),
            "{from}: the own namespace is not implied"
        );
    }
    assert!(allowed(&a, "z/a", "x/b", 80, Tcp), "x/b is not selected");
}

#[test]
fn both_selectors_in_one_peer_are_anded_in_two_peers_ored() {
    // e2e "should enforce policy based on PodSelector and NamespaceSelector" (AND) and
    // "... PodSelector or NamespaceSelector" (OR).
    let and = analyze(&policy(
        "x",
        "and",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {ns: y}}\n      podSelector: {matchLabels: {pod: b}}",
    ));
    let to_xa = |a: &Analysis| -> Vec<&str> {
        [
            "x/a", "x/b", "x/c", "x/*", "y/a", "y/b", "y/c", "y/*", "z/b", "?",
        ]
        .into_iter()
        .filter(|f| allowed(a, f, "x/a", 80, Tcp))
        .collect()
    };
    assert_eq!(to_xa(&and), ["y/b"]);
    let or = analyze(&policy(
        "x",
        "or",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {ns: y}}\n    - podSelector: {matchLabels: {pod: b}}",
    ));
    assert_eq!(to_xa(&or), ["x/b", "y/a", "y/b", "y/c", "y/*"]);
}

#[test]
fn namespace_selectors_match_expressions_and_unnamed_namespaces() {
    // e2e "... NamespaceSelector with MatchExpressions": ns NotIn (x) also matches every
    // namespace nobody names, and `{}` matches all namespaces.
    let a = analyze(&policy(
        "x",
        "not-x",
        "  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x]}]}",
    ));
    assert!(allowed(&a, "?", "x/a", 80, Tcp));
    assert!(allowed(&a, "z/c", "x/a", 80, Tcp));
    assert!(!allowed(&a, "x/b", "x/a", 80, Tcp));
    let by_name = analyze(&policy(
        "x",
        "from-monitoring",
        "  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}",
    ));
    // A namespace named by a selector gets a class of its own, even without a declaration.
    assert!(allowed(&by_name, "monitoring/*", "x/a", 80, Tcp));
    assert!(!allowed(&by_name, "?", "x/a", 80, Tcp));
    assert!(!allowed(&by_name, "y/a", "x/a", 80, Tcp));
}

#[test]
fn ip_block_with_except() {
    // e2e "should allow egress access to server in CIDR block" and "should enforce except
    // clause while egress access to server in CIDR block".
    let a = analyze(&policy(
        "x",
        "egress-cidr",
        "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}",
    ));
    assert!(allowed(&a, "x/a", "10.0.0.1", 80, Tcp));
    assert!(allowed(&a, "x/a", "10.255.0.1", 443, Udp));
    assert!(!allowed(&a, "x/a", "10.1.2.3", 80, Tcp), "excepted");
    assert!(!allowed(&a, "x/a", "11.0.0.1", 80, Tcp), "outside the cidr");
    assert!(!allowed(&a, "x/a", "2001:db8::1", 80, Tcp), "other family");
    assert!(
        !allowed(&a, "x/a", "x/b", 80, Tcp),
        "an ipBlock never matches a pod in this model"
    );
    let verdict = a.verdict(class(&a, "x/a"), class(&a, "10.0.0.1"));
    assert_eq!(
        verdict.ingress,
        Side::External,
        "an address has only the cluster side"
    );
    assert_eq!(verdict.egress, Side::Isolated(PortSet::all()));
    // Ingress from an ipBlock: external sources in the block reach the pod.
    let ingress = analyze(&policy(
        "x",
        "from-cidr",
        "  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 0.0.0.0/0, except: [192.168.0.0/16]}",
    ));
    assert!(allowed(&ingress, "203.0.113.7", "x/a", 80, Tcp));
    assert!(!allowed(&ingress, "192.168.1.1", "x/a", 80, Tcp));
    assert!(!allowed(&ingress, "::1", "x/a", 80, Tcp));
    assert!(!allowed(&ingress, "y/a", "x/a", 80, Tcp));
}

#[test]
fn end_port_ranges_and_protocols() {
    // e2e "should support allow-all policy with endPort" / "... multiple ports with endPort".
    let a = analyze(&policy(
        "x",
        "range",
        "  podSelector: {}\n  ingress:\n  - ports:\n    - {port: 80, endPort: 81}\n    - {protocol: UDP, port: 5000, endPort: 5010}",
    ));
    assert!(allowed(&a, "y/a", "x/a", 80, Tcp) && allowed(&a, "y/a", "x/a", 81, Tcp));
    assert!(!allowed(&a, "y/a", "x/a", 82, Tcp) && !allowed(&a, "y/a", "x/a", 79, Tcp));
    assert!(
        !allowed(&a, "y/a", "x/a", 80, Udp),
        "protocol defaults to TCP"
    );
    assert!(allowed(&a, "y/a", "x/a", 5010, Udp) && !allowed(&a, "y/a", "x/a", 5010, Tcp));
    assert_eq!(
        a.end_to_end(class(&a, "y/a"), class(&a, "x/a")).to_string(),
        "80..=81/tcp, 5000..=5010/udp"
    );
}

#[test]
fn port_classes_are_cut_at_every_boundary() {
    let a = analyze(&policy(
        "x",
        "p",
        "  podSelector: {}\n  ingress:\n  - ports:\n    - {port: 80, endPort: 90}\n    - port: serve-81-tcp\n    - {port: 65535}\n    - {protocol: UDP, port: 53}",
    ));
    assert_eq!(
        a.port_classes(Tcp),
        [
            (1, 79),
            (80, 80),
            (81, 81),
            (82, 90),
            (91, 65534),
            (65535, 65535)
        ]
    );
    assert_eq!(a.port_classes(Udp), [(1, 52), (53, 53), (54, 65535)]);
    assert_eq!(a.port_classes(Sctp), [(1, 65535)]);
}

#[test]
fn named_ports_resolve_on_the_destination_pod() {
    // e2e "should allow ingress access on one named port" and "should allow egress access
    // on one named port".
    let ingress = analyze(&policy(
        "x",
        "named",
        "  podSelector: {}\n  ingress:\n  - ports:\n    - port: serve-80-tcp",
    ));
    assert!(allowed(&ingress, "y/a", "x/a", 80, Tcp));
    assert!(!allowed(&ingress, "y/a", "x/a", 81, Tcp));
    assert!(
        !allowed(&ingress, "y/a", "x/a", 80, Udp),
        "name and protocol must both match"
    );
    assert!(
        !allowed(&ingress, "y/a", "x/*", 80, Tcp),
        "another pod has no such named port"
    );
    let udp = analyze(&policy(
        "x",
        "named-udp",
        "  podSelector: {}\n  ingress:\n  - ports:\n    - {port: serve-80-udp, protocol: UDP}",
    ));
    assert!(allowed(&udp, "y/a", "x/a", 80, Udp) && !allowed(&udp, "y/a", "x/a", 80, Tcp));
    let egress = analyze(&policy(
        "x",
        "named-egress",
        "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress:\n  - ports:\n    - port: serve-81-tcp",
    ));
    assert!(allowed(&egress, "x/a", "y/b", 81, Tcp));
    assert!(!allowed(&egress, "x/a", "y/b", 80, Tcp));
    assert!(
        !allowed(&egress, "x/a", "y/*", 81, Tcp),
        "resolved on the destination, which has none"
    );
    assert!(
        !allowed(&egress, "x/a", "1.1.1.1", 81, Tcp),
        "an address has no named ports"
    );
}

#[test]
fn egress_to_a_cidr_only() {
    // e2e "should allow egress access to server in CIDR block" with nothing else allowed.
    let a = analyze(&policy(
        "y",
        "to-web",
        "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - ipBlock: {cidr: 203.0.113.0/24}\n    ports:\n    - {port: 443}",
    ));
    assert!(allowed(&a, "y/c", "203.0.113.200", 443, Tcp));
    assert!(!allowed(&a, "y/c", "203.0.113.200", 80, Tcp));
    assert!(!allowed(&a, "y/c", "203.0.114.1", 443, Tcp));
    assert!(!allowed(&a, "y/c", "x/a", 443, Tcp));
    assert!(allowed(&a, "x/a", "y/c", 80, Tcp), "ingress of y is open");
}

#[test]
fn policy_types_default_from_the_rules() {
    // An egress section makes the policy affect egress; every policy affects ingress.
    let with_egress = analyze(&policy(
        "x",
        "p",
        "  podSelector: {}\n  egress:\n  - to:\n    - podSelector: {}",
    ));
    let xa = class(&with_egress, "x/a");
    assert!(
        with_egress.is_isolated(xa, Direction::Ingress)
            && with_egress.is_isolated(xa, Direction::Egress)
    );
    let egress_to = |to: &str| with_egress.egress_side(xa, class(&with_egress, to));
    assert_eq!(egress_to("x/b"), Side::Isolated(PortSet::all()));
    assert_eq!(egress_to("y/b"), Side::Isolated(PortSet::empty()));
    assert!(
        !allowed(&with_egress, "x/a", "x/b", 80, Tcp),
        "isolated for ingress with no ingress rule"
    );
    let ingress_only = analyze(&policy("x", "p", "  podSelector: {}\n  ingress:\n  - {}"));
    assert!(!ingress_only.is_isolated(xa, Direction::Egress));
    // An empty egress list is no egress section.
    let empty_egress = analyze(&policy("x", "p", "  podSelector: {}\n  egress: []"));
    assert!(!empty_egress.is_isolated(xa, Direction::Egress));
    // Explicit types win: ingress rules of an Egress-only policy are ignored.
    let egress_only = analyze(&policy(
        "x",
        "p",
        "  podSelector: {}\n  policyTypes: [Egress]\n  ingress:\n  - {}",
    ));
    assert!(
        !egress_only.is_isolated(xa, Direction::Ingress)
            && egress_only.is_isolated(xa, Direction::Egress)
    );
    assert!(!allowed(&egress_only, "x/a", "y/a", 80, Tcp));
}

#[test]
fn empty_and_absent_from_to_and_ports() {
    // `ingress: [{}]` allows everything; `ingress: []` nothing; `from: []` and `ports: []`
    // are "all"; `ports: [{}]` is every TCP port, the protocol's default.
    let all = analyze(&policy("x", "p", "  podSelector: {}\n  ingress:\n  - {}"));
    assert!(allowed(&all, "?", "x/a", 9, Sctp) && allowed(&all, "8.8.8.8", "x/a", 1, Udp));
    let none = analyze(&policy("x", "p", "  podSelector: {}\n  ingress: []"));
    assert!(!allowed(&none, "x/b", "x/a", 80, Tcp));
    let empty_lists = analyze(&policy(
        "x",
        "p",
        "  podSelector: {}\n  ingress:\n  - {from: [], ports: []}",
    ));
    assert!(allowed(&empty_lists, "z/c", "x/a", 65535, Udp));
    let all_tcp = analyze(&policy(
        "x",
        "p",
        "  podSelector: {}\n  ingress:\n  - ports: [{}]",
    ));
    assert!(
        allowed(&all_tcp, "z/c", "x/a", 65535, Tcp) && !allowed(&all_tcp, "z/c", "x/a", 53, Udp)
    );
    let all_udp = analyze(&policy(
        "x",
        "p",
        "  podSelector: {}\n  ingress:\n  - ports: [{protocol: UDP}]",
    ));
    assert_eq!(
        all_udp.end_to_end(class(&all_udp, "y/a"), class(&all_udp, "x/a")),
        PortSet::all_of(Udp)
    );
}

#[test]
fn policies_are_additive_and_both_sides_must_agree() {
    // e2e "should allow ingress access from updated pod" style unions, and the docs' rule
    // that egress at the source and ingress at the destination must both allow.
    let policies = [
        policy("x", "deny", "  podSelector: {}\n  policyTypes: [Ingress, Egress]"),
        policy("x", "a-to-y", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - namespaceSelector: {matchLabels: {ns: y}}\n    ports: [{port: 80}]"),
        policy("x", "a-to-y-81", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - namespaceSelector: {matchLabels: {ns: y}}\n    ports: [{port: 81}]"),
        policy("y", "deny", "  podSelector: {}"),
        policy("y", "from-x", "  podSelector: {matchLabels: {pod: b}}\n  ingress:\n  - from:\n    - namespaceSelector: {}\n    ports: [{port: 81, endPort: 90}]"),
    ]
    .concat();
    let a = analyze(&policies);
    let verdict = a.verdict(class(&a, "x/a"), class(&a, "y/b"));
    assert_eq!(verdict.egress, Side::Isolated(PortSet::range(Tcp, 80, 81)));
    assert_eq!(verdict.ingress, Side::Isolated(PortSet::range(Tcp, 81, 90)));
    assert_eq!(verdict.end_to_end, PortSet::single(Tcp, 81));
    assert!(!allowed(&a, "x/a", "y/a", 80, Tcp), "y/a accepts nothing");
    assert!(allowed(&a, "z/a", "y/b", 90, Tcp));
    // The sparse listing holds exactly the pairs an isolated side allows something for.
    let listing = format_pairs(&a, &a.pairs_from(class(&a, "x/a")));
    assert_eq!(
        listing,
        "x/a -> y/a: nothing\nx/a -> y/b: 81/tcp\nx/a -> y/c: nothing\nx/a -> y/<any other pod>: nothing\n"
    );
}

#[test]
fn the_sparse_listing_decides_every_pair() {
    let policies = [
        policy("x", "deny", "  podSelector: {}\n  policyTypes: [Ingress, Egress]"),
        policy("x", "web", "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from:\n    - namespaceSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}\n    - podSelector: {matchLabels: {pod: b}}\n    ports: [{port: serve-81-tcp}, {port: 443}]"),
        policy("z", "deny-in", "  podSelector: {matchLabels: {pod: c}}"),
    ]
    .concat();
    let a = analyze(&policies);
    let listed: Vec<PairVerdict> = a.constrained_pairs().collect();
    let n = a.classes().len() as ClassId;
    for s in 0..n {
        for d in 0..n {
            if a.class(s).is_address() && a.class(d).is_address() {
                continue;
            }
            let verdict = a.verdict(s, d);
            match listed.iter().find(|p| p.source == s && p.destination == d) {
                Some(pair) => assert_eq!(pair.verdict, verdict),
                None => {
                    let open = !a.is_isolated(s, Direction::Egress)
                        && !a.is_isolated(d, Direction::Ingress);
                    let expected = if open {
                        PortSet::all()
                    } else {
                        PortSet::empty()
                    };
                    assert_eq!(
                        verdict.end_to_end,
                        expected,
                        "{} -> {}",
                        a.class(s),
                        a.class(d)
                    );
                }
            }
        }
    }
    assert!(allowed(&a, "x/a", "8.8.8.8", 443, Tcp) && !allowed(&a, "x/a", "10.0.0.1", 443, Tcp));
    // Egress of x/a allows x/b on its named port 81 and on 443, but x/b's ingress is denied.
    let half_open = a.verdict(class(&a, "x/a"), class(&a, "x/b"));
    assert_eq!(
        half_open.egress,
        Side::Isolated(PortSet::single(Tcp, 81).union(&PortSet::single(Tcp, 443)))
    );
    assert_eq!(half_open.ingress, Side::Isolated(PortSet::empty()));
    assert!(half_open.end_to_end.is_empty());
    assert!(
        listed
            .iter()
            .any(|p| p.source == class(&a, "x/a") && p.destination == class(&a, "x/b"))
    );
}

#[test]
fn explain_names_the_policies_and_rules() {
    let policies = [
        policy("x", "deny", "  podSelector: {}\n  policyTypes: [Ingress, Egress]"),
        policy("x", "allow-81", "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {pod: c}}}]\n  - from: [{namespaceSelector: {matchLabels: {ns: y}}}]\n    ports: [{port: 81}]"),
    ]
    .concat();
    let a = analyze(&policies);
    let e = a.explain(class(&a, "y/b"), class(&a, "x/a"), 81, Tcp);
    assert!(e.allowed && e.egress.allowed && !e.egress.isolated);
    assert!(e.ingress.isolated);
    let selecting: Vec<&str> = e
        .ingress
        .selecting
        .iter()
        .map(|(p, _)| p.name.as_str())
        .collect();
    assert_eq!(selecting, ["x/deny", "x/allow-81"]);
    assert_eq!(e.ingress.allowing.len(), 1);
    assert_eq!(
        (
            e.ingress.allowing[0].policy.name.as_str(),
            e.ingress.allowing[0].rule
        ),
        ("x/allow-81", 1)
    );
    let text = e.to_string();
    assert!(
        text.starts_with("y/b -> x/a on 81/tcp: allowed\n"),
        "{text}"
    );
    assert!(
        text.contains("allowed by: x/allow-81 spec.ingress[1] (policies.yaml, document 2"),
        "{text}"
    );
    let denied = a.explain(class(&a, "y/b"), class(&a, "x/a"), 80, Tcp);
    assert!(!denied.allowed && denied.ingress.allowing.is_empty());
    assert!(
        denied
            .to_string()
            .contains("denied (isolated, and no ingress rule of a selecting policy matches)")
    );
    let out = a.explain(class(&a, "x/c"), class(&a, "8.8.8.8"), 80, Tcp);
    assert!(!out.allowed && out.ingress.allowed && !out.ingress.in_cluster);
}

#[test]
fn invalid_policies_are_reported_with_their_field() {
    let inputs = Inputs::from_yaml(
        "bad.yaml",
        &policy("x", "bad", "  podSelector: {}\n  ingress:\n  - ports: [{port: http, endPort: 90}]\n    from: [{ipBlock: {cidr: nonsense}}]"),
    )
    .unwrap();
    let errors = Analysis::new(&inputs).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "spec.ingress[0].ports[0].endPort",
            "spec.ingress[0].from[0].ipBlock.cidr"
        ]
    );
    assert!(
        errors[0]
            .to_string()
            .starts_with("bad.yaml, document 1, line 2: NetworkPolicy `x/bad`: "),
        "{}",
        errors[0]
    );
}

#[test]
fn the_report_reads_well() {
    let policies = [
        policy("x", "deny", "  podSelector: {}\n  policyTypes: [Ingress, Egress]"),
        policy(
            "x",
            "web",
            "  podSelector: {matchLabels: {pod: a}}\n  egress:\n  - to:\n    - ipBlock: {cidr: 203.0.113.0/24}\n    ports: [{port: 443}]",
        ),
    ]
    .concat();
    let a = analyze(&policies);
    let report = a.report();
    assert!(
        report.contains("  [0] x/a: isolated for ingress and egress\n"),
        "{report}"
    );
    assert!(report.contains("  [3] y/a: not isolated\n"), "{report}");
    assert!(
        report.contains("  [13] 203.0.113.0/24: external\n"),
        "{report}"
    );
    assert!(
        report.contains("  x/a -> 203.0.113.0/24: 443/tcp (egress: 443/tcp; ingress: external)\n"),
        "{report}"
    );
    assert!(report.ends_with("otherwise nothing\n"), "{report}");
}
