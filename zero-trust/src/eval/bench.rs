//! Timing checks on synthetic clusters shaped like the emitter's output (run them with
//! `cargo test -p zero-trust --lib --release -- --ignored --nocapture bench`).

use std::collections::BTreeMap;
use std::time::Instant;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use zero_trust_rules::Protocol;

use super::*;

fn labels(key: &str, value: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([(key.to_owned(), value.to_owned())])),
        match_expressions: None,
    }
}

fn workload_peer(namespace: &str, app: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(labels("kubernetes.io/metadata.name", namespace)),
        pod_selector: Some(labels("app", app)),
        ip_block: None,
    }
}

fn tcp(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port.into())),
        protocol: Some("TCP".into()),
        end_port: None,
    }
}

fn loaded(namespace: &str, name: &str, spec: NetworkPolicySpec) -> LoadedPolicy {
    LoadedPolicy {
        policy: NetworkPolicy {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(namespace.into()),
                ..Default::default()
            },
            spec: Some(spec),
        },
        source: Provenance::default(),
    }
}

/// `namespaces` x `per_namespace` workloads, each with `flows_each` outgoing flows to
/// pseudo-random workloads, lowered the way a zero-trust emitter would: a default deny per
/// namespace, DNS egress for all, and per workload one policy with one ingress rule per
/// incoming flow and one egress rule per outgoing flow; every tenth workload also reaches
/// an external /24.
fn synthetic(
    namespaces: usize,
    per_namespace: usize,
    flows_each: usize,
) -> (Vec<LoadedPolicy>, Topology, usize) {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let workloads = namespaces * per_namespace;
    let name = |w: usize| (format!("ns{}", w / per_namespace), format!("w{w}"));
    let mut topology = Topology::default();
    for w in 0..workloads {
        let (ns, app) = name(w);
        topology
            .pods
            .push(PodInfo::new(&ns, &app, &[("app", &app)]).with_port("http", Protocol::Tcp, 8080));
    }
    topology.pods.push(PodInfo::new(
        "kube-system",
        "dns",
        &[("k8s-app", "kube-dns")],
    ));
    let mut ingress: Vec<Vec<NetworkPolicyIngressRule>> = vec![Vec::new(); workloads];
    let mut egress: Vec<Vec<NetworkPolicyEgressRule>> = vec![Vec::new(); workloads];
    let mut flows = 0;
    for (from, outgoing) in egress.iter_mut().enumerate() {
        for _ in 0..flows_each {
            let to = next(workloads);
            let port = 8000 + next(100) as u16;
            let (from_ns, from_app) = name(from);
            let (to_ns, to_app) = name(to);
            outgoing.push(NetworkPolicyEgressRule {
                to: Some(vec![workload_peer(&to_ns, &to_app)]),
                ports: Some(vec![tcp(port)]),
            });
            ingress[to].push(NetworkPolicyIngressRule {
                from: Some(vec![workload_peer(&from_ns, &from_app)]),
                ports: Some(vec![tcp(port)]),
            });
            flows += 1;
        }
        if from % 10 == 0 {
            let cidr = format!("198.{}.{}.0/24", (from / 256) % 256, from % 256);
            let peer = NetworkPolicyPeer {
                ip_block: Some(IPBlock { cidr, except: None }),
                ..Default::default()
            };
            outgoing.push(NetworkPolicyEgressRule {
                to: Some(vec![peer]),
                ports: Some(vec![tcp(443)]),
            });
            flows += 1;
        }
    }
    let mut policies = Vec::new();
    for n in 0..namespaces {
        let ns = format!("ns{n}");
        let deny = NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ..Default::default()
        };
        policies.push(loaded(&ns, "default-deny", deny));
        let dns = NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Egress".into()]),
            egress: Some(vec![NetworkPolicyEgressRule {
                to: Some(vec![NetworkPolicyPeer {
                    namespace_selector: Some(labels("kubernetes.io/metadata.name", "kube-system")),
                    pod_selector: Some(labels("k8s-app", "kube-dns")),
                    ip_block: None,
                }]),
                ports: Some(vec![NetworkPolicyPort {
                    port: Some(IntOrString::Int(53)),
                    protocol: Some("UDP".into()),
                    end_port: None,
                }]),
            }]),
            ..Default::default()
        };
        policies.push(loaded(&ns, "allow-dns", dns));
    }
    for (w, (ingress, egress)) in ingress.into_iter().zip(egress).enumerate() {
        let (ns, app) = name(w);
        let spec = NetworkPolicySpec {
            pod_selector: Some(labels("app", &app)),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress),
            egress: Some(egress),
        };
        policies.push(loaded(&ns, &app, spec));
    }
    (policies, topology, flows)
}

fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? / 1024)
}

fn run(namespaces: usize, per_namespace: usize, flows_each: usize) -> (f64, usize) {
    let (policies, topology, flows) = synthetic(namespaces, per_namespace, flows_each);
    let start = Instant::now();
    let analysis = Analysis::from_parts(&policies, &topology).unwrap();
    let built = start.elapsed().as_secs_f64();
    let pairs = analysis
        .constrained_pairs()
        .filter(|p| !p.verdict.end_to_end.is_empty())
        .count();
    let total = start.elapsed().as_secs_f64();
    println!(
        "{} pods, {} policies, {flows} flows: analysis {built:.3}s, all pairs {total:.3}s, {pairs} allowed pairs, {} classes, peak RSS {:?} MiB",
        topology.pods.len(),
        policies.len(),
        analysis.classes().len(),
        peak_rss_mib()
    );
    (total, pairs)
}

#[test]
#[ignore = "timing; run in release"]
fn bench_1000_pods_2000_rules() {
    let (seconds, pairs) = run(20, 50, 1);
    // Every flow is allowed end to end, plus DNS from every workload.
    assert!(pairs >= 1000);
    assert!(seconds < 1.0, "{seconds}s");
}

#[test]
#[ignore = "timing; run in release"]
fn bench_10000_workloads_50000_flows() {
    let (seconds, pairs) = run(100, 100, 5);
    assert!(pairs >= 10_000);
    assert!(seconds < 30.0, "{seconds}s");
}

#[test]
fn synthetic_flows_are_all_allowed_and_nothing_else() {
    let (policies, topology, _) = synthetic(3, 4, 2);
    let analysis = Analysis::from_parts(&policies, &topology).unwrap();
    let pods = topology.pods.len() - 1;
    for w in 0..pods {
        let src = w as ClassId;
        for rule in policies[6 + w]
            .policy
            .spec
            .as_ref()
            .unwrap()
            .egress
            .iter()
            .flatten()
        {
            let port = match &rule.ports.as_ref().unwrap()[0].port {
                Some(IntOrString::Int(p)) => *p as u16,
                _ => unreachable!(),
            };
            let peer = &rule.to.as_ref().unwrap()[0];
            let dst = match &peer.pod_selector {
                Some(selector) => {
                    let app = &selector.match_labels.as_ref().unwrap()["app"];
                    topology.pods.iter().position(|p| &p.name == app).unwrap() as ClassId
                }
                None => {
                    let net: ipnet::IpNet = peer.ip_block.as_ref().unwrap().cidr.parse().unwrap();
                    analysis.class_of_address(net.network())
                }
            };
            assert!(
                analysis.end_to_end(src, dst).contains(Protocol::Tcp, port),
                "{w} -> {dst}:{port}"
            );
        }
    }
    let other = analysis.class_of_other_pod("ns0").unwrap();
    assert!(analysis.end_to_end(0, other).is_empty());
    assert!(analysis.end_to_end(other, 0).is_empty());
}
