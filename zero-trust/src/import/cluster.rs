//! The imported declarations as the model the macro would build from the written code, so
//! that import can emit and prove them without compiling anything.
//!
//! The model holds `&'static` references, as the macro's `const` items do; import runs
//! once per process, so the few declarations it builds are leaked ([`leak`]).

use crate::cluster::{Cluster, ClusterError};
use crate::model::{
    AddressBlock, CidrBlock, Endpoint, Expression, Flow, Label, Namespace, Policy, PortName,
    Selector, Workload, leak, leak_slice, leak_str,
};
use zero_trust_rules::kubernetes_name_of;

use super::decls::{Declarations, EndRef, FileOf};
use super::plan::{PodSelector, merge};

/// A selector of the imported code as the model's.
fn model_selector(selector: &PodSelector) -> Selector {
    let labels = selector
        .labels
        .iter()
        .map(|(key, value)| Label {
            key: leak_str(key),
            value: leak_str(value),
        })
        .collect();
    let expressions = selector
        .expressions
        .iter()
        .map(|(key, operator, values)| Expression {
            key: leak_str(key),
            operator: *operator,
            values: leak_slice(values.iter().map(|v| leak_str(v)).collect()),
        })
        .collect();
    Selector {
        labels: leak_slice(labels),
        expressions: leak_slice(expressions),
    }
}

/// The cluster the imported code declares.
pub fn cluster(decls: &Declarations) -> Result<Cluster, Vec<ClusterError>> {
    let mut namespaces = Vec::new();
    let mut workloads = Vec::new();
    for namespace in &decls.namespaces {
        // As the macro names namespaces selected by labels: after the identifier.
        let name = match &namespace.selector {
            Some(_) => kubernetes_name_of(&namespace.ident),
            None => namespace.name.clone(),
        };
        let ns: &'static Namespace = leak(Namespace {
            ident: leak_str(&namespace.ident),
            name: leak_str(&name),
            managed: namespace.managed,
            ports: leak_slice(merge(
                namespace
                    .workloads
                    .iter()
                    .flat_map(|w| w.ports.iter().copied()),
            )),
            selector: namespace.selector.as_ref().map(model_selector),
        });
        let declared: Vec<&'static Workload> = namespace
            .workloads
            .iter()
            .map(|workload| {
                let selector = model_selector(&workload.selector);
                leak(Workload {
                    ident: leak_str(&workload.ident),
                    name: leak_str(&workload.name()),
                    namespace: ns,
                    selector: selector.labels,
                    expressions: selector.expressions,
                    ports: leak_slice(workload.ports.clone()),
                })
            })
            .collect();
        namespaces.push(ns);
        workloads.push(declared);
    }
    let cidrs: Vec<&'static CidrBlock> = decls
        .cidrs
        .iter()
        .map(|cidr| {
            let except = cidr.except.iter().map(|e| leak_str(&e.to_string()));
            leak(CidrBlock {
                ident: leak_str(&cidr.ident),
                blocks: leak_slice(vec![AddressBlock {
                    cidr: leak_str(&cidr.cidr.to_string()),
                    except: leak_slice(except.collect()),
                }]),
            })
        })
        .collect();
    let endpoint = |end: EndRef| match end {
        EndRef::Workload(n, w) => Endpoint::Workload(workloads[n][w]),
        EndRef::Namespace(n) => Endpoint::Namespace(namespaces[n]),
        EndRef::Cidr(c) => Endpoint::Cidr(cidrs[c]),
        EndRef::AllManaged => Endpoint::AllManaged,
    };
    // One part per file, as the written code has.
    let mut files: Vec<FileOf> = (0..decls.namespaces.len())
        .map(|n| decls.file_of_end(EndRef::Namespace(n)))
        .chain(std::iter::once(FileOf::Shared))
        .collect();
    files.sort();
    files.dedup();
    let parts: Vec<&'static Policy> = files
        .iter()
        .map(|file| {
            let in_file = |n: &usize| decls.file_of_end(EndRef::Namespace(*n)) == *file;
            let part_namespaces = (0..namespaces.len()).filter(in_file);
            leak(Policy {
                file: leak_str(&format!("{}.rs", decls.file_name(file))),
                namespaces: leak_slice(part_namespaces.clone().map(|n| namespaces[n]).collect()),
                workloads: leak_slice(
                    part_namespaces
                        .flat_map(|n| workloads[n].iter().copied())
                        .collect(),
                ),
                cidrs: if *file == FileOf::Shared {
                    leak_slice(cidrs.clone())
                } else {
                    &[]
                },
                flows: leak_slice(
                    decls
                        .flows
                        .iter()
                        .filter(|flow| decls.file_of_flow(flow) == *file)
                        .map(|flow| Flow {
                            from: endpoint(flow.from),
                            to: endpoint(flow.to),
                            ports: leak_slice(flow.ports.clone()),
                            port_names: leak_slice(
                                flow.port_names
                                    .iter()
                                    .map(|name| PortName {
                                        name: leak_str(&name.name),
                                        protocol: name.protocol,
                                    })
                                    .collect(),
                            ),
                            reason: leak_str(&decls.reason(flow)),
                        })
                        .collect(),
                ),
                clusters: &[],
                limits: &[],
            })
        })
        .collect();
    Cluster::assemble(&parts)
}
