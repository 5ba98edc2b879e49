//! The law the tool rests on, over many random clusters: what the emitted YAML allows,
//! read back from text and evaluated with Kubernetes semantics, is exactly what the model
//! declares, on each side of every pair. proptest shrinks a failure to a minimal cluster.
//!
//! Each cluster is proven twice: on the model's own topology (one pod per workload, as
//! `emit` proves), and on a topology drawn independently of the selectors: namespaces with
//! random labels, including ones no policy names, and in each namespace a pod for every
//! combination of the pod label pool, so that a selector that is too wide or too narrow
//! meets a pod or namespace it gets wrong.

use proptest::prelude::*;
use zero_trust::eval::{Analysis, NamespaceInfo, PodInfo, Topology};
use zero_trust::model::{
    AddressBlock, CidrBlock, Endpoint, Expression, Flow, Label, Namespace, Operator, Policy,
    PortName, Selector, Workload,
};
use zero_trust::{Cluster, PortRange, Protocol};

/// A cluster as plain data, which proptest can generate and shrink.
#[derive(Clone, Debug)]
struct Spec {
    namespaces: Vec<NamespaceSpec>,
    /// Per namespace of the independent topology (the declared ones by name, then
    /// `EXTRA_NAMESPACES`): its labels from `NAMESPACE_LABEL_KEYS` and `LABEL_VALUES`.
    namespace_labels: Vec<Vec<(usize, usize)>>,
    cidrs: Vec<usize>,
    flows: Vec<(usize, usize, Vec<usize>)>,
}

#[derive(Clone, Debug)]
struct NamespaceSpec {
    managed: bool,
    /// `external namespaces` (never managed): requirements on `NAMESPACE_LABEL_KEYS`, or
    /// on the name label with `NAME_LISTS`; empty selects every namespace.
    selector: Option<Vec<(usize, Requirement)>>,
    /// Each workload's selector, one requirement per key, keys and values from a small
    /// pool so selectors overlap.
    workloads: Vec<Vec<(usize, Requirement)>>,
}

/// A requirement on one key: `matchLabels` or one of the set-based operators.
#[derive(Clone, Debug)]
enum Requirement {
    Equals(usize),
    /// An index into `VALUE_LISTS`.
    In(usize),
    NotIn(usize),
    Exists,
    DoesNotExist,
}

const LABEL_KEYS: [&str; 3] = ["app", "tier", "canary"];
/// Namespace label keys; the last is the name label the API server sets, whose
/// requirements take their values from `NAME_LISTS`.
const NAMESPACE_LABEL_KEYS: [&str; 3] = ["team", "env", "kubernetes.io/metadata.name"];
const NAME_KEY: usize = 2;
const NAME_LISTS: [&[&str]; 3] = [&["ns0"], &["ns1", "x0"], &["x1"]];
/// Namespaces of the independent topology that no policy names.
const EXTRA_NAMESPACES: [&str; 2] = ["x0", "x1"];
const LABEL_VALUES: [&str; 2] = ["a", "b"];
const VALUE_LISTS: [&[&str]; 3] = [&["a"], &["b"], &["a", "b"]];
/// Each a declared cidr: one block, or both families under one name.
const CIDRS: [&[AddressBlock]; 5] = [
    &[AddressBlock {
        cidr: "0.0.0.0/0",
        except: &["10.0.0.0/8", "192.168.0.0/16"],
    }],
    &[AddressBlock {
        cidr: "10.0.0.0/8",
        except: &["10.1.0.0/16"],
    }],
    &[AddressBlock {
        cidr: "192.168.1.0/24",
        except: &[],
    }],
    &[AddressBlock {
        cidr: "fd00::/8",
        except: &["fd00:1::/32"],
    }],
    &[
        AddressBlock {
            cidr: "0.0.0.0/0",
            except: &["10.0.0.0/8"],
        },
        AddressBlock {
            cidr: "::/0",
            except: &["fc00::/7"],
        },
    ],
];
const PORTS: [PortRange; 5] = [
    PortRange {
        protocol: Protocol::Tcp,
        first: 80,
        last: 80,
    },
    PortRange {
        protocol: Protocol::Tcp,
        first: 443,
        last: 443,
    },
    PortRange {
        protocol: Protocol::Udp,
        first: 53,
        last: 53,
    },
    PortRange {
        protocol: Protocol::Tcp,
        first: 8000,
        last: 8100,
    },
    PortRange {
        protocol: Protocol::Sctp,
        first: 9000,
        last: 9000,
    },
];
/// Beside `PORTS`: `any/tcp` and `any`, then the names of `PORT_NAMES`.
const ANY_TCP: usize = PORTS.len();
const ANY: usize = PORTS.len() + 1;
/// Container port names a flow to an external end may name (written as names, resolved on
/// each destination pod), and the ports pods of the independent topology give them.
const PORT_NAMES: [PortName; 2] = [
    PortName {
        name: "http",
        protocol: Protocol::Tcp,
    },
    PortName {
        name: "dns",
        protocol: Protocol::Udp,
    },
];

/// A flow's ports as the macro would accept them: `any` alone, `any/tcp` without other
/// TCP ports.
fn flow_ports(chosen: &[usize]) -> Vec<PortRange> {
    if chosen.contains(&ANY) {
        return Protocol::ALL.into_iter().map(PortRange::every).collect();
    }
    let any_tcp = chosen.contains(&ANY_TCP);
    let mut ports: Vec<PortRange> = chosen
        .iter()
        .filter(|&&p| p < PORTS.len())
        .map(|&p| PORTS[p])
        .filter(|p| !(any_tcp && p.protocol == Protocol::Tcp))
        .collect();
    if any_tcp {
        ports.push(PortRange::every(Protocol::Tcp));
    }
    ports
}

fn spec() -> impl Strategy<Value = Spec> {
    let list = 0..VALUE_LISTS.len();
    let requirement = prop_oneof![
        3 => (0..LABEL_VALUES.len()).prop_map(Requirement::Equals),
        1 => list.clone().prop_map(Requirement::In),
        1 => list.prop_map(Requirement::NotIn),
        1 => Just(Requirement::Exists),
        1 => Just(Requirement::DoesNotExist),
    ];
    let labels = prop::collection::btree_map(0..LABEL_KEYS.len(), requirement.clone(), 1..=2)
        .prop_map(|labels| labels.into_iter().collect::<Vec<_>>());
    let namespace_selector =
        prop::collection::btree_map(0..NAMESPACE_LABEL_KEYS.len(), requirement, 0..=2)
            .prop_map(|labels| labels.into_iter().collect::<Vec<_>>());
    let namespace = (
        0..3u8,
        namespace_selector,
        prop::collection::vec(labels, 0..4),
    )
        .prop_map(|(kind, selector, workloads)| NamespaceSpec {
            managed: kind == 0,
            selector: (kind == 2).then_some(selector),
            workloads,
        });
    let namespaces = prop::collection::vec(namespace, 1..5);
    let namespace_labels = prop::collection::vec(
        prop::collection::btree_map(0..NAME_KEY, 0..LABEL_VALUES.len(), 0..=2)
            .prop_map(|labels| labels.into_iter().collect::<Vec<_>>()),
        5 + EXTRA_NAMESPACES.len(),
    );
    let cidrs =
        prop::collection::btree_set(0..CIDRS.len(), 0..3).prop_map(|c| c.into_iter().collect());
    let flows = prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            prop::collection::btree_set(0..ANY + 1 + PORT_NAMES.len(), 1..3),
        ),
        0..12,
    );
    (namespaces, namespace_labels, cidrs, flows).prop_map(
        |(namespaces, namespace_labels, cidrs, flows)| {
            let mut spec = Spec {
                namespaces,
                namespace_labels,
                cidrs,
                flows: Vec::new(),
            };
            let ends = spec.end_count();
            spec.flows = flows
                .into_iter()
                .map(|(a, b, ports)| (a.index(ends), b.index(ends), ports.into_iter().collect()))
                .collect();
            spec
        },
    )
}

impl Spec {
    fn end_count(&self) -> usize {
        1 + self
            .namespaces
            .iter()
            .map(|n| 1 + n.workloads.len())
            .sum::<usize>()
            + self.cidrs.len()
    }
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

fn leak_slice<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}

fn leak_str(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// A selector of requirements; `equals` gives the key and value of an `Equals`, `lists`
/// the value lists of a key.
fn selector(
    requirements: &[(usize, Requirement)],
    equals: impl Fn(usize, &Requirement) -> (&'static str, &'static str),
    lists: impl Fn(usize) -> &'static [&'static [&'static str]; 3],
) -> Selector {
    let mut labels = Vec::new();
    let mut expressions = Vec::new();
    for (key, requirement) in requirements {
        let (name, value) = equals(*key, requirement);
        let (operator, values) = match requirement {
            Requirement::Equals(_) => {
                labels.push(Label { key: name, value });
                continue;
            }
            Requirement::In(l) => (Operator::In, lists(*key)[*l]),
            Requirement::NotIn(l) => (Operator::NotIn, lists(*key)[*l]),
            Requirement::Exists => (Operator::Exists, &[][..]),
            Requirement::DoesNotExist => (Operator::DoesNotExist, &[][..]),
        };
        expressions.push(Expression {
            key: name,
            operator,
            values,
        });
    }
    Selector {
        labels: leak_slice(labels),
        expressions: leak_slice(expressions),
    }
}

fn selector_of_pods(requirements: &[(usize, Requirement)]) -> Selector {
    selector(
        requirements,
        |key, requirement| match requirement {
            Requirement::Equals(v) => (LABEL_KEYS[key], LABEL_VALUES[*v]),
            _ => (LABEL_KEYS[key], ""),
        },
        |_| &VALUE_LISTS,
    )
}

/// The independent topology: every declared namespace by name and the extra ones, with
/// the spec's labels, and in each a pod for every combination of the pod label pool.
fn independent_topology(spec: &Spec) -> Topology {
    let names = (0..spec.namespaces.len())
        .map(|n| format!("ns{n}"))
        .chain(EXTRA_NAMESPACES.iter().map(|n| (*n).to_owned()));
    let namespaces: Vec<NamespaceInfo> = names
        .zip(&spec.namespace_labels)
        .map(|(name, labels)| NamespaceInfo {
            name,
            labels: labels
                .iter()
                .map(|(k, v)| {
                    (
                        NAMESPACE_LABEL_KEYS[*k].to_owned(),
                        LABEL_VALUES[*v].to_owned(),
                    )
                })
                .collect(),
        })
        .collect();
    let mut combinations: Vec<Vec<(&str, &str)>> = vec![Vec::new()];
    for key in LABEL_KEYS {
        combinations = combinations
            .into_iter()
            .flat_map(|labels| {
                let absent = labels.clone();
                LABEL_VALUES
                    .iter()
                    .map(move |value| {
                        let mut labels = labels.clone();
                        labels.push((key, *value));
                        labels
                    })
                    .chain([absent])
            })
            .collect();
    }
    let pods = namespaces
        .iter()
        .flat_map(|namespace| {
            combinations.iter().enumerate().map(|(i, labels)| {
                // Named ports differ between pods, so a name must be resolved per pod.
                let pod = PodInfo::new(&namespace.name, &format!("pod{i}"), labels);
                match i % 3 {
                    0 => pod.with_port("http", Protocol::Tcp, 8080),
                    1 => pod.with_port("http", Protocol::Tcp, 9090).with_port(
                        "dns",
                        Protocol::Udp,
                        53,
                    ),
                    _ => pod.with_port("dns", Protocol::Tcp, 53),
                }
            })
        })
        .collect();
    Topology { namespaces, pods }
}

/// The model the spec describes, skipping flows the macro would reject.
fn build(spec: &Spec) -> Cluster {
    let mut ends = vec![Endpoint::AllManaged];
    let mut namespaces = Vec::new();
    let mut workloads = Vec::new();
    for (n, ns) in spec.namespaces.iter().enumerate() {
        let selector = ns.selector.as_ref().map(|requirements| {
            selector(
                requirements,
                |key, requirement| match (key, requirement) {
                    (NAME_KEY, Requirement::Equals(v)) => {
                        (NAMESPACE_LABEL_KEYS[key], NAME_LISTS[*v][0])
                    }
                    (NAME_KEY, _) => (NAMESPACE_LABEL_KEYS[key], ""),
                    (_, Requirement::Equals(v)) => (NAMESPACE_LABEL_KEYS[key], LABEL_VALUES[*v]),
                    _ => (NAMESPACE_LABEL_KEYS[key], ""),
                },
                |key| {
                    if key == NAME_KEY {
                        &NAME_LISTS
                    } else {
                        &VALUE_LISTS
                    }
                },
            )
        });
        // The API server sets the name label on every namespace: a selector requiring
        // its absence matches none, which the macro refuses.
        let denies_name = ns.selector.iter().flatten().any(|(key, requirement)| {
            *key == NAME_KEY && matches!(requirement, Requirement::DoesNotExist)
        });
        let namespace = leak(Namespace {
            ident: leak_str(format!("ns{n}")),
            name: leak_str(format!("ns{n}")),
            managed: ns.managed && selector.is_none(),
            ports: &[],
            selector: selector.filter(|_| !denies_name),
        });
        namespaces.push(namespace);
        ends.push(Endpoint::Namespace(namespace));
        for (w, labels) in ns.workloads.iter().enumerate() {
            let pods = selector_of_pods(labels);
            let workload = leak(Workload {
                ident: leak_str(format!("w{n}_{w}")),
                name: leak_str(format!("w{w}")),
                namespace,
                selector: pods.labels,
                expressions: pods.expressions,
                ports: &[],
            });
            workloads.push(workload);
            ends.push(Endpoint::Workload(workload));
        }
    }
    let mut cidrs = Vec::new();
    for &c in &spec.cidrs {
        let block = leak(CidrBlock {
            ident: leak_str(format!("cidr{c}")),
            blocks: CIDRS[c],
        });
        cidrs.push(block);
        ends.push(Endpoint::Cidr(block));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut flows = Vec::new();
    for (from, to, ports) in &spec.flows {
        let (from, to) = (ends[*from], ends[*to]);
        let both_cidrs = matches!((from, to), (Endpoint::Cidr(_), Endpoint::Cidr(_)));
        if both_cidrs
            || (!from.is_managed() && !to.is_managed())
            || !seen.insert((from.key(), to.key()))
        {
            continue;
        }
        // Names only towards an external pod end, whose ports are not ours to know, and
        // not beside `any`, which holds them already.
        let names: Vec<PortName> = match to {
            Endpoint::Workload(_) | Endpoint::Namespace(_)
                if !to.is_managed() && !ports.contains(&ANY) =>
            {
                ports
                    .iter()
                    .filter_map(|p| p.checked_sub(ANY + 1))
                    .map(|n| PORT_NAMES[n])
                    .collect()
            }
            _ => Vec::new(),
        };
        let numbers = flow_ports(ports);
        if numbers.is_empty() && names.is_empty() {
            continue;
        }
        flows.push(Flow {
            from,
            to,
            ports: leak_slice(numbers),
            port_names: leak_slice(names),
            reason: "",
        });
    }
    let policy = leak(Policy {
        file: "generated.rs",
        namespaces: leak_slice(namespaces),
        workloads: leak_slice(workloads),
        cidrs: leak_slice(cidrs),
        flows: leak_slice(flows),
        clusters: &[],
        limits: &[],
    });
    Cluster::assemble(&[policy]).expect("a generated cluster assembles")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn emitted_yaml_allows_exactly_the_declared_flows(spec in spec()) {
        let cluster = build(&spec);
        let emitted = zero_trust::emit::emit(&cluster).expect("renders");
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in &emitted.files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        let proof = zero_trust::verify::prove_emitted(&cluster, dir.path());
        prop_assert!(proof.is_ok(), "{:#?}", proof.unwrap_err());

        let policies = zero_trust::workloads::emitted_policies(&emitted.files).expect("reads");
        let analysis = Analysis::from_parts(&policies, &independent_topology(&spec)).expect("compiles");
        let mismatches = zero_trust::verify::check_intent(&cluster, &analysis);
        prop_assert!(mismatches.is_empty(), "{:#?}", mismatches);
    }
}
