//! Building a synthetic platform in memory: the `Policy` of each file, as the macro would
//! expand it, with every item leaked to `'static` like the model's consts, then assembled.

use zero_trust::model::{leak, leak_slice, leak_str};
use zero_trust::{
    AddressBlock, CidrBlock, Cluster, Endpoint, Flow, Label, Namespace, Policy, Workload,
};

use super::{End, Params, Plan, kubernetes_name};

/// The cluster that the crate of `cargo xtask synth` with these parameters assembles,
/// without compiling it: for benchmarks of what comes after the compiler.
///
/// # Panics
/// When `params` do not [`validate`](Params::validate).
pub fn synthetic_cluster(params: &Params) -> Cluster {
    let plan = Plan::generate(params);
    let parts = policies(&plan);
    Cluster::assemble(&parts).unwrap_or_else(|errors| {
        panic!("the synthetic platform {params:?} does not assemble: {errors:?}")
    })
}

/// One `POLICY` per file, in the order of `PARTS`.
fn policies(plan: &Plan) -> Vec<&'static Policy> {
    let namespaces: Vec<&'static Namespace> = (0..plan.namespaces.len())
        .map(|n| {
            let spec = &plan.namespaces[n];
            leak(Namespace {
                ident: leak_str(&spec.ident),
                name: leak_str(&kubernetes_name(&spec.ident)),
                managed: spec.managed,
                ports: leak_slice(plan.namespace_ports(n)),
                selector: None,
            })
        })
        .collect();
    let workloads: Vec<&'static Workload> = plan
        .workloads
        .iter()
        .map(|spec| {
            let name = leak_str(&kubernetes_name(&spec.ident));
            let selector = spec
                .selector()
                .iter()
                .map(|(key, value)| Label {
                    key: leak_str(key),
                    value: leak_str(value),
                })
                .collect();
            leak(Workload {
                ident: leak_str(&spec.ident),
                name,
                namespace: namespaces[spec.namespace],
                selector: leak_slice(selector),
                expressions: &[],
                ports: leak_slice(spec.ports.clone()),
            })
        })
        .collect();
    let cidrs: Vec<&'static CidrBlock> = plan
        .cidrs
        .iter()
        .map(|spec| {
            leak(CidrBlock {
                ident: leak_str(&spec.ident),
                blocks: leak_slice(vec![AddressBlock {
                    cidr: leak_str(&spec.cidr),
                    except: leak_slice(spec.except.iter().map(|e| leak_str(e)).collect()),
                }]),
            })
        })
        .collect();
    let endpoint = |end: End| match end {
        End::AllManaged => Endpoint::AllManaged,
        End::Namespace(n) => Endpoint::Namespace(namespaces[n]),
        End::Workload(w) => Endpoint::Workload(workloads[w]),
        End::Cidr(c) => Endpoint::Cidr(cidrs[c]),
    };
    plan.parts
        .iter()
        .map(|part| {
            let flows = part
                .flows
                .iter()
                .map(|flow| Flow {
                    from: endpoint(flow.from),
                    to: endpoint(flow.to),
                    ports: leak_slice(flow.ports.clone()),
                    port_names: &[],
                    reason: "",
                })
                .collect();
            let declared = part.namespaces.iter().map(|&n| namespaces[n]).collect();
            let declared_workloads = part
                .namespaces
                .iter()
                .flat_map(|&n| plan.namespaces[n].workloads.iter().map(|&w| workloads[w]))
                .collect();
            leak(Policy {
                file: leak_str(&format!("src/{}.rs", part.module)),
                namespaces: leak_slice(declared),
                workloads: leak_slice(declared_workloads),
                cidrs: leak_slice(part.cidrs.iter().map(|&c| cidrs[c]).collect()),
                flows: leak_slice(flows),
                clusters: &[],
                limits: &[],
            })
        })
        .collect()
}
