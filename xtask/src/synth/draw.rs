//! Drawing the flows of a synthetic platform: kinds in a realistic mix, distinct, each
//! written in the file of the team that owns it and naming foreign ends by `use` or path.

use std::collections::{HashMap, HashSet};

use fastrand::Rng;
use zero_trust::PortRange;

use super::{End, FlowSpec, INGRESS_NGINX, OFFICE, PROMETHEUS, PUBLIC_INTERNET, Plan, TCP, pick};

/// Kinds of flows and how many of a hundred are of that kind.
#[derive(Clone, Copy)]
enum FlowKind {
    WorkloadToWorkload,
    WorkloadToNamespace,
    WorkloadToCidr,
    IngressToWorkload,
    MonitoringToWorkload,
    OfficeToWorkload,
    NamespaceToWorkload,
}

const FLOW_MIX: &[(FlowKind, u32)] = &[
    (FlowKind::WorkloadToWorkload, 80),
    (FlowKind::WorkloadToNamespace, 4),
    (FlowKind::WorkloadToCidr, 6),
    (FlowKind::IngressToWorkload, 4),
    (FlowKind::MonitoringToWorkload, 3),
    (FlowKind::OfficeToWorkload, 1),
    (FlowKind::NamespaceToWorkload, 2),
];

/// Drawing distinct flows one by one.
pub struct FlowDraw {
    /// Managed workloads that listen on something: the targets of flows.
    listening: Vec<usize>,
    listening_by_namespace: HashMap<usize, Vec<usize>>,
    listening_by_part: HashMap<usize, Vec<usize>>,
    managed_namespaces: Vec<usize>,
    /// (from, to) of every flow so far: a flow is written once.
    seen: HashSet<(End, End)>,
    /// Whether a file names a foreign end by `use` (true) or by path.
    spelling: HashMap<(usize, End), bool>,
    pub written: usize,
    pub attempts: usize,
}

impl FlowDraw {
    pub fn new(plan: &Plan) -> FlowDraw {
        let mut draw = FlowDraw {
            listening: Vec::new(),
            listening_by_namespace: HashMap::new(),
            listening_by_part: HashMap::new(),
            managed_namespaces: (0..plan.namespaces.len())
                .filter(|&n| plan.namespaces[n].managed)
                .collect(),
            seen: HashSet::new(),
            spelling: HashMap::new(),
            written: 1,
            attempts: 0,
        };
        for (w, workload) in plan.workloads.iter().enumerate() {
            let namespace = &plan.namespaces[workload.namespace];
            if namespace.managed && !workload.ports.is_empty() {
                draw.listening.push(w);
                let by_namespace = draw.listening_by_namespace.entry(workload.namespace);
                by_namespace.or_default().push(w);
                draw.listening_by_part
                    .entry(namespace.part)
                    .or_default()
                    .push(w);
            }
        }
        draw
    }

    pub fn attempt(&mut self, plan: &mut Plan, rng: &mut Rng) {
        self.attempts += 1;
        let total: u32 = FLOW_MIX.iter().map(|(_, weight)| weight).sum();
        let kind = pick(rng, FLOW_MIX, total, |(_, weight)| *weight).0;
        let Some((from, to, ports)) = self.draw(kind, plan, rng) else {
            return;
        };
        if from == to || !self.seen.insert((from, to)) {
            return;
        }
        // A team writes its calls out; flows into it from outside are written at the target.
        let part = match from {
            End::Workload(_) => plan.part_of(from),
            _ => plan.part_of(to),
        };
        let from_text = self.spell(plan, part, from, rng);
        let to_text = self.spell(plan, part, to, rng);
        plan.parts[part].flows.push(FlowSpec {
            from,
            to,
            from_text,
            to_text,
            ports,
        });
        self.written += 1;
    }

    fn draw(
        &self,
        kind: FlowKind,
        plan: &Plan,
        rng: &mut Rng,
    ) -> Option<(End, End, Vec<PortRange>)> {
        let any_workload = |rng: &mut Rng| self.listening[rng.usize(..self.listening.len())];
        let to_workload = |rng: &mut Rng| {
            let w = any_workload(rng);
            (End::Workload(w), flow_ports(rng, &plan.workloads[w].ports))
        };
        let (from, (to, ports)) = match kind {
            FlowKind::WorkloadToWorkload => {
                let from = any_workload(rng);
                let namespace = plan.workloads[from].namespace;
                let part = plan.namespaces[namespace].part;
                let r = rng.u32(..100);
                let near = if r < 45 {
                    self.listening_by_namespace.get(&namespace)
                } else if r < 65 {
                    self.listening_by_part.get(&part)
                } else {
                    None
                };
                let to = match near {
                    Some(near) => near[rng.usize(..near.len())],
                    None => any_workload(rng),
                };
                let ports = flow_ports(rng, &plan.workloads[to].ports);
                (End::Workload(from), (End::Workload(to), ports))
            }
            FlowKind::WorkloadToNamespace => {
                let n = self.managed_namespaces[rng.usize(..self.managed_namespaces.len())];
                let listened = plan.namespace_ports(n);
                let port = *listened.get(rng.usize(..listened.len().max(1)))?;
                let from = End::Workload(any_workload(rng));
                (from, (End::Namespace(n), vec![port]))
            }
            FlowKind::WorkloadToCidr => {
                let (cidr, ports) = match rng.u32(..10) {
                    0..6 => (PUBLIC_INTERNET, vec![443, 80]),
                    6..9 => (1, vec![443]),
                    _ => (3, vec![443, 8443]),
                };
                let ports = ports
                    .into_iter()
                    .map(|p| PortRange::single(TCP, p))
                    .collect();
                (End::Workload(any_workload(rng)), (End::Cidr(cidr), ports))
            }
            FlowKind::IngressToWorkload => (End::Namespace(INGRESS_NGINX), to_workload(rng)),
            FlowKind::MonitoringToWorkload => (End::Workload(PROMETHEUS), to_workload(rng)),
            FlowKind::OfficeToWorkload => (End::Cidr(OFFICE), to_workload(rng)),
            FlowKind::NamespaceToWorkload => {
                let n = self.managed_namespaces[rng.usize(..self.managed_namespaces.len())];
                (End::Namespace(n), to_workload(rng))
            }
        };
        Some((from, to, ports))
    }

    /// How the file `part` writes `end`: by its name when declared there or brought in by
    /// `use`, else by path. Each file decides once per foreign name.
    fn spell(&mut self, plan: &mut Plan, part: usize, end: End, rng: &mut Rng) -> String {
        let ident = plan.ident_of(end).to_owned();
        let home = plan.part_of(end);
        if end == End::AllManaged || home == part {
            return ident;
        }
        let by_use = *self
            .spelling
            .entry((part, end))
            .or_insert_with(|| rng.bool());
        let module = plan.parts[home].module.clone();
        if by_use {
            let imports = plan.parts[part].imports.entry(module).or_default();
            imports.insert(ident.clone());
            ident
        } else {
            format!("crate::{module}::{ident}")
        }
    }
}

/// The ports a flow to a workload names: usually one, sometimes all; for a range, the
/// whole range or one port of it.
fn flow_ports(rng: &mut Rng, listening: &[PortRange]) -> Vec<PortRange> {
    if listening.len() > 1 && rng.u32(..5) == 0 {
        return listening.to_vec();
    }
    let port = listening[rng.usize(..listening.len())];
    if !port.is_single() && rng.bool() {
        return vec![PortRange::single(
            port.protocol,
            rng.u16(port.first..=port.last),
        )];
    }
    vec![port]
}
