//! The law the tool rests on, over many random clusters: what the emitted YAML allows,
//! read back from text and evaluated with Kubernetes semantics, is exactly what the model
//! declares, on each side of every pair. proptest shrinks a failure to a minimal cluster.

use proptest::prelude::*;
use zero_trust::model::{
    AddressBlock, CidrBlock, Endpoint, Expression, Flow, Label, Namespace, Operator, Policy,
    Workload,
};
use zero_trust::{Cluster, PortRange, Protocol};

/// A cluster as plain data, which proptest can generate and shrink.
#[derive(Clone, Debug)]
struct Spec {
    namespaces: Vec<NamespaceSpec>,
    cidrs: Vec<usize>,
    flows: Vec<(usize, usize, Vec<usize>)>,
}

#[derive(Clone, Debug)]
struct NamespaceSpec {
    managed: bool,
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
/// Beside `PORTS`: `any/tcp` and `any`.
const ANY_TCP: usize = PORTS.len();
const ANY: usize = PORTS.len() + 1;

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
    let labels = prop::collection::btree_map(0..LABEL_KEYS.len(), requirement, 1..=2)
        .prop_map(|labels| labels.into_iter().collect::<Vec<_>>());
    let namespace = (any::<bool>(), prop::collection::vec(labels, 0..4))
        .prop_map(|(managed, workloads)| NamespaceSpec { managed, workloads });
    let namespaces = prop::collection::vec(namespace, 1..5);
    let cidrs =
        prop::collection::btree_set(0..CIDRS.len(), 0..3).prop_map(|c| c.into_iter().collect());
    let flows = prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            prop::collection::btree_set(0..ANY + 1, 1..3),
        ),
        0..12,
    );
    (namespaces, cidrs, flows).prop_map(|(namespaces, cidrs, flows)| {
        let mut spec = Spec {
            namespaces,
            cidrs,
            flows: Vec::new(),
        };
        let ends = spec.end_count();
        spec.flows = flows
            .into_iter()
            .map(|(a, b, ports)| (a.index(ends), b.index(ends), ports.into_iter().collect()))
            .collect();
        spec
    })
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

/// The model the spec describes, skipping flows the macro would reject.
fn build(spec: &Spec) -> Cluster {
    let mut ends = vec![Endpoint::AllManaged];
    let mut namespaces = Vec::new();
    let mut workloads = Vec::new();
    for (n, ns) in spec.namespaces.iter().enumerate() {
        let namespace = leak(Namespace {
            ident: leak_str(format!("ns{n}")),
            name: leak_str(format!("ns{n}")),
            managed: ns.managed,
            ports: &[],
        });
        namespaces.push(namespace);
        ends.push(Endpoint::Namespace(namespace));
        for (w, labels) in ns.workloads.iter().enumerate() {
            let mut selector = Vec::new();
            let mut expressions = Vec::new();
            for (key, requirement) in labels {
                let key = LABEL_KEYS[*key];
                let (operator, values) = match requirement {
                    Requirement::Equals(v) => {
                        selector.push(Label {
                            key,
                            value: LABEL_VALUES[*v],
                        });
                        continue;
                    }
                    Requirement::In(l) => (Operator::In, VALUE_LISTS[*l]),
                    Requirement::NotIn(l) => (Operator::NotIn, VALUE_LISTS[*l]),
                    Requirement::Exists => (Operator::Exists, &[][..]),
                    Requirement::DoesNotExist => (Operator::DoesNotExist, &[][..]),
                };
                expressions.push(Expression {
                    key,
                    operator,
                    values,
                });
            }
            let workload = leak(Workload {
                ident: leak_str(format!("w{n}_{w}")),
                name: leak_str(format!("w{w}")),
                namespace,
                selector: leak_slice(selector),
                expressions: leak_slice(expressions),
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
        let ports = leak_slice(flow_ports(ports));
        flows.push(Flow {
            from,
            to,
            ports,
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
    }
}
