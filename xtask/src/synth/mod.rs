//! `cargo xtask synth`: a synthetic, deterministic platform of many workloads and flows,
//! written as a crate in the DSL (`code`) or built in memory (`model`), the same cluster
//! either way, so benchmarks can measure the compiler and the emitter at scale.
//!
//! The platform looks like a real one: teams own namespaces, a file holds a few of them,
//! most flows are workload -> workload TCP within a team, a third cross files (by path or
//! by `use`), and some are UDP, port ranges, whole namespaces, external ends or CIDRs.

pub mod change;
mod code;
pub mod digest;
mod draw;
mod model;
pub mod peers;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use fastrand::Rng;
use zero_trust::{PortRange, Protocol};

pub use code::{write_crate, write_empty_crate, write_policies};
pub use model::synthetic_cluster;

/// The size and seed of a synthetic platform; the same parameters give the same platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub namespaces: usize,
    pub workloads: usize,
    pub flows: usize,
    pub seed: u64,
}

/// Namespaces per file: a file per group of teams, so flows cross files as on a platform.
const NAMESPACES_PER_FILE: usize = 4;
/// The module of the shared pieces: ingress, DNS, monitoring and the CIDRs.
const PLATFORM: &str = "platform";

impl Params {
    /// Why the parameters cannot make a platform, if they cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.namespaces == 0 || self.workloads < self.namespaces {
            return Err("need at least one namespace and a workload per namespace".to_owned());
        }
        if self.workloads < 10 {
            return Err("need at least 10 workloads".to_owned());
        }
        if self.flows == 0 || self.flows > self.workloads * 20 {
            return Err(format!(
                "--flows must be 1 to 20 per workload ({}), so that distinct flows exist",
                self.workloads * 20
            ));
        }
        Ok(())
    }

    /// A short name for folders and crates: `k100-w10000-f50000-s1`.
    pub fn slug(&self) -> String {
        let Params {
            namespaces,
            workloads,
            flows,
            seed,
        } = self;
        format!("k{namespaces}-w{workloads}-f{flows}-s{seed}")
    }

    pub fn command(&self) -> String {
        let Params {
            namespaces,
            workloads,
            flows,
            seed,
        } = self;
        format!(
            "cargo xtask synth --namespaces {namespaces} --workloads {workloads} --flows {flows} --seed {seed}"
        )
    }
}

/// `cargo xtask synth --namespaces K --workloads N --flows M --seed S [--out DIR]`;
/// `flags` has validated the parameters.
pub fn run(params: Params, out: Option<PathBuf>) -> Result<(), String> {
    let out = out.unwrap_or_else(|| default_dir(&params));
    let plan = Plan::generate(&params);
    let files = write_crate(&plan, &params, &out)?;
    println!(
        "{}: {} files, {} namespaces, {} workloads, {} flows",
        out.display(),
        files,
        plan.namespaces.len(),
        plan.workloads.len(),
        plan.flow_count()
    );
    Ok(())
}

pub fn default_dir(params: &Params) -> PathBuf {
    crate::project_root()
        .join("target/synth")
        .join(params.slug())
}

/// A platform, decided once and then written as code or built in memory.
pub struct Plan {
    /// In the order of `PARTS`; the first is the platform file.
    pub parts: Vec<Part>,
    pub namespaces: Vec<NamespaceSpec>,
    pub workloads: Vec<WorkloadSpec>,
    pub cidrs: Vec<CidrSpec>,
}

/// One file: one `zero_trust!` block.
pub struct Part {
    pub module: String,
    pub namespaces: Vec<usize>,
    pub cidrs: Vec<usize>,
    /// Names of other files brought in with `use`, by module.
    pub imports: BTreeMap<String, BTreeSet<String>>,
    pub flows: Vec<FlowSpec>,
}

pub struct NamespaceSpec {
    pub ident: String,
    pub managed: bool,
    pub part: usize,
    pub workloads: Vec<usize>,
}

pub struct WorkloadSpec {
    pub ident: String,
    pub namespace: usize,
    /// `None`: the default selector `app: <name>`.
    pub labels: Option<Vec<(String, String)>>,
    pub ports: Vec<PortRange>,
}

impl WorkloadSpec {
    /// The labels its pods carry and its selector matches: its own, or `app: <name>`.
    pub fn selector(&self) -> Vec<(String, String)> {
        match &self.labels {
            Some(labels) => labels.clone(),
            None => vec![("app".to_owned(), kubernetes_name(&self.ident))],
        }
    }
}

pub struct CidrSpec {
    pub ident: String,
    pub cidr: String,
    pub except: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum End {
    AllManaged,
    Namespace(usize),
    Workload(usize),
    Cidr(usize),
}

pub struct FlowSpec {
    pub from: End,
    pub to: End,
    /// The ends as written in the flow's file: a local name, a `use`d one, or a path.
    pub from_text: String,
    pub to_text: String,
    pub ports: Vec<PortRange>,
}

impl FlowSpec {
    /// The line as the macro records it in `Flow::text`.
    pub fn text(&self) -> String {
        let ports: Vec<String> = self.ports.iter().map(PortRange::to_dsl).collect();
        format!(
            "{} -> {}:{}",
            self.from_text,
            self.to_text,
            ports.join(", ")
        )
    }
}

pub fn kubernetes_name(ident: &str) -> String {
    zero_trust_rules::kubernetes_name_of(ident)
}

#[rustfmt::skip]
const TEAMS: &[&str] = &[
    "payments", "checkout", "catalog", "identity", "billing", "ledger", "orders", "shipping",
    "reviews", "ads", "analytics", "notify", "profile", "inventory", "media", "pricing",
];

/// A workload role: its name, the ports it listens on, and whether it carries its own
/// labels instead of `app: <name>`.
struct Role {
    word: &'static str,
    weight: u32,
    ports: &'static [(Protocol, u16, u16)],
    labelled: bool,
}

const TCP: Protocol = Protocol::Tcp;
const UDP: Protocol = Protocol::Udp;

#[rustfmt::skip]
const ROLES: &[Role] = &[
    Role { word: "api", weight: 30, ports: &[(TCP, 8080, 8080)], labelled: false },
    Role { word: "web", weight: 12, ports: &[(TCP, 3000, 3000)], labelled: false },
    Role { word: "grpc", weight: 12, ports: &[(TCP, 9000, 9000), (TCP, 9090, 9090)], labelled: false },
    Role { word: "db", weight: 8, ports: &[(TCP, 5432, 5432)], labelled: true },
    Role { word: "cache", weight: 8, ports: &[(TCP, 6379, 6379)], labelled: false },
    Role { word: "queue", weight: 6, ports: &[(TCP, 5672, 5672), (TCP, 15672, 15672)], labelled: true },
    Role { word: "worker", weight: 10, ports: &[(TCP, 8081, 8081)], labelled: false },
    Role { word: "statsd", weight: 4, ports: &[(UDP, 8125, 8125)], labelled: false },
    Role { word: "resolver", weight: 2, ports: &[(UDP, 5353, 5353), (TCP, 5353, 5353)], labelled: false },
    Role { word: "rtp", weight: 3, ports: &[(UDP, 10000, 10099), (TCP, 8443, 8443)], labelled: false },
    Role { word: "gateway", weight: 3, ports: &[(TCP, 8000, 8099)], labelled: true },
    Role { word: "cron", weight: 2, ports: &[], labelled: false },
];

/// What the platform file declares, by index in `Plan::namespaces`, `workloads`, `cidrs`.
const INGRESS_NGINX: usize = 2;
const KUBE_DNS: usize = 0;
const PROMETHEUS: usize = 1;
const PUBLIC_INTERNET: usize = 0;
const OFFICE: usize = 2;

impl Plan {
    pub fn flow_count(&self) -> usize {
        self.parts.iter().map(|p| p.flows.len()).sum()
    }

    /// The platform of `params`, decided by a PRNG seeded with `params.seed`.
    ///
    /// # Panics
    /// When `params` do not [`validate`](Params::validate), or leave too few distinct
    /// flows to draw.
    pub fn generate(params: &Params) -> Plan {
        if let Err(why) = params.validate() {
            panic!("synthetic platform {params:?}: {why}");
        }
        let mut rng = Rng::with_seed(params.seed);
        let mut plan = Plan::platform();
        plan.declare_teams(params, &mut rng);
        let mut draw = draw::FlowDraw::new(&plan);
        while draw.written < params.flows {
            assert!(
                draw.attempts < params.flows * 50,
                "synthetic platform {params:?}: cannot draw {} distinct flows",
                params.flows
            );
            draw.attempt(&mut plan, &mut rng);
        }
        plan
    }

    /// The shared file: external namespaces, CIDRs, and DNS for every managed pod.
    fn platform() -> Plan {
        let labelled = |key: &str, value: &str| Some(vec![(key.to_owned(), value.to_owned())]);
        let namespace = |ident: &str, workloads| NamespaceSpec {
            ident: ident.to_owned(),
            managed: false,
            part: 0,
            workloads,
        };
        let cidr = |ident: &str, cidr: &str, except: &[&str]| CidrSpec {
            ident: ident.to_owned(),
            cidr: cidr.to_owned(),
            except: except.iter().map(|e| (*e).to_owned()).collect(),
        };
        let dns = [PortRange::single(UDP, 53), PortRange::single(TCP, 53)];
        Plan {
            parts: vec![Part {
                module: PLATFORM.to_owned(),
                namespaces: vec![0, 1, 2],
                cidrs: vec![0, 1, 2, 3],
                imports: BTreeMap::new(),
                flows: vec![FlowSpec {
                    from: End::AllManaged,
                    to: End::Workload(KUBE_DNS),
                    from_text: "*".to_owned(),
                    to_text: "kube_dns".to_owned(),
                    ports: dns.to_vec(),
                }],
            }],
            namespaces: vec![
                namespace("kube_system", vec![KUBE_DNS]),
                namespace("monitoring", vec![PROMETHEUS]),
                namespace("ingress_nginx", vec![2]),
            ],
            workloads: vec![
                WorkloadSpec {
                    ident: "kube_dns".to_owned(),
                    namespace: 0,
                    labels: labelled("k8s-app", "kube-dns"),
                    ports: dns.to_vec(),
                },
                WorkloadSpec {
                    ident: "prometheus".to_owned(),
                    namespace: 1,
                    labels: labelled("app.kubernetes.io/name", "prometheus"),
                    ports: Vec::new(),
                },
                WorkloadSpec {
                    ident: "controller".to_owned(),
                    namespace: 2,
                    labels: labelled("app.kubernetes.io/name", "ingress-nginx"),
                    ports: Vec::new(),
                },
            ],
            cidrs: vec![
                cidr(
                    "public_internet",
                    "0.0.0.0/0",
                    &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
                ),
                cidr("partner_api", "203.0.113.0/24", &[]),
                cidr("office", "198.51.100.0/24", &[]),
                cidr("backup_v6", "2001:db8::/32", &[]),
            ],
        }
    }

    /// The managed namespaces, a few per file, and their workloads.
    fn declare_teams(&mut self, params: &Params, rng: &mut Rng) {
        let first_namespace = self.namespaces.len();
        for i in 0..params.namespaces {
            let part = 1 + i / NAMESPACES_PER_FILE;
            if part == self.parts.len() {
                self.parts.push(Part {
                    module: format!("group_{:02}", part - 1),
                    namespaces: Vec::new(),
                    cidrs: Vec::new(),
                    imports: BTreeMap::new(),
                    flows: Vec::new(),
                });
            }
            self.parts[part].namespaces.push(self.namespaces.len());
            self.namespaces.push(NamespaceSpec {
                ident: format!("{}_{i:03}", TEAMS[i % TEAMS.len()]),
                managed: true,
                part,
                workloads: Vec::new(),
            });
        }
        let total_weight: u32 = ROLES.iter().map(|r| r.weight).sum();
        for i in 0..params.workloads {
            // Every namespace gets one, then the rest land anywhere: uneven team sizes.
            let namespace = first_namespace
                + if i < params.namespaces {
                    i
                } else {
                    rng.usize(..params.namespaces)
                };
            let role = pick(rng, ROLES, total_weight, |r| r.weight);
            let ident = format!("{}_{i:05}", role.word);
            let labels = role.labelled.then(|| {
                vec![
                    ("app.kubernetes.io/name".to_owned(), kubernetes_name(&ident)),
                    ("tier".to_owned(), role.word.to_owned()),
                ]
            });
            let ports = role
                .ports
                .iter()
                .map(|&(protocol, first, last)| PortRange {
                    protocol,
                    first,
                    last,
                })
                .collect();
            self.namespaces[namespace]
                .workloads
                .push(self.workloads.len());
            self.workloads.push(WorkloadSpec {
                ident,
                namespace,
                labels,
                ports,
            });
        }
    }

    fn part_of(&self, end: End) -> usize {
        match end {
            End::Workload(w) => self.namespaces[self.workloads[w].namespace].part,
            End::Namespace(n) => self.namespaces[n].part,
            End::Cidr(_) | End::AllManaged => 0,
        }
    }

    fn ident_of(&self, end: End) -> &str {
        match end {
            End::Workload(w) => &self.workloads[w].ident,
            End::Namespace(n) => &self.namespaces[n].ident,
            End::Cidr(c) => &self.cidrs[c].ident,
            End::AllManaged => "*",
        }
    }

    /// Every port some workload of the namespace listens on, sorted: what the macro
    /// checks a flow to the namespace against.
    pub fn namespace_ports(&self, namespace: usize) -> Vec<PortRange> {
        let ports: BTreeSet<PortRange> = self.namespaces[namespace]
            .workloads
            .iter()
            .flat_map(|&w| self.workloads[w].ports.iter().copied())
            .collect();
        ports.into_iter().collect()
    }
}

fn pick<'t, T>(rng: &mut Rng, table: &'t [T], total: u32, weight: impl Fn(&T) -> u32) -> &'t T {
    let mut r = rng.u32(..total);
    for entry in table {
        if r < weight(entry) {
            return entry;
        }
        r -= weight(entry);
    }
    &table[table.len() - 1]
}
