//! Emission of a whole policy source: one cluster in `k8s/` itself when none is declared
//! (as before clusters existed), otherwise `k8s/<cluster>/` per declared cluster, each
//! with its own manifests, scripts and FLOWS pages, and a `k8s/apply.sh` that rolls the
//! clusters out in the declared order.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::cluster::Cluster;
use crate::model::{Endpoint, Flow};
use crate::yaml::YamlError;

use super::shell::{fill_template, push_array, push_array_of, shell_word};
use super::{APPLY_SCRIPT, Emitted, FLOWS_MD, emit};

const TEMPLATE: &str = include_str!("apply_clusters.sh.in");

/// Every file of `k8s/`, and each cluster's emission.
#[derive(Debug)]
pub struct EmittedSource {
    /// By path relative to `k8s/` (`staging/10-allow-shop.yaml`).
    pub files: BTreeMap<String, String>,
    /// In the declared order. Their `files` were moved into [`EmittedSource::files`].
    pub clusters: Vec<EmittedCluster>,
}

#[derive(Debug)]
pub struct EmittedCluster {
    /// `k8s/` relative: `""` for the one undeclared cluster, `"staging/"` otherwise.
    pub folder: String,
    pub emitted: Emitted,
}

/// Emits `clusters` (as `assemble_clusters` gives them: one without a target, or one per
/// declared cluster).
pub fn emit_source(clusters: &[Cluster]) -> Result<EmittedSource, YamlError> {
    let mut files = BTreeMap::new();
    let mut emitted_clusters = Vec::new();
    for cluster in clusters {
        let mut emitted = emit(cluster)?;
        let folder = cluster
            .target
            .map(|target| format!("{}/", target.name))
            .unwrap_or_default();
        if cluster.target.is_some()
            && let Some(index) = emitted.files.get_mut(FLOWS_MD)
        {
            index.push_str(&particular_section(cluster, clusters));
        }
        for (name, text) in std::mem::take(&mut emitted.files) {
            files.insert(format!("{folder}{name}"), text);
        }
        emitted_clusters.push(EmittedCluster { folder, emitted });
    }
    if clusters.iter().any(|c| c.target.is_some()) {
        files.insert(APPLY_SCRIPT.to_owned(), render_rollout_script(clusters));
    }
    Ok(EmittedSource {
        files,
        clusters: emitted_clusters,
    })
}

/// The top-level `apply.sh`: which cluster each declared context belongs to, and the order.
fn render_rollout_script(clusters: &[Cluster]) -> String {
    let targets: Vec<_> = clusters.iter().filter_map(|c| c.target).collect();
    let mut data = String::new();
    data.push_str("# The declared clusters, in rollout order.\n");
    let names: Vec<&str> = targets.iter().map(|t| t.name).collect();
    push_array(&mut data, "clusters", &names);
    data.push_str("# Every declared context, and the one cluster it may receive.\n");
    let contexts: Vec<&str> = targets
        .iter()
        .flat_map(|t| t.contexts.iter().copied())
        .collect();
    push_array(&mut data, "declared_contexts", &contexts);
    data.push_str("declare -A cluster_of\n");
    push_array_of(
        &mut data,
        "cluster_of",
        targets.iter().flat_map(|t| {
            t.contexts
                .iter()
                .map(|c| format!("[{}]={}", shell_word(c), shell_word(t.name)))
        }),
    );
    fill_template(TEMPLATE, &data)
}

/// What a flow is, whichever file declares it: its ends and ports.
type FlowIdentity = (
    crate::model::EndpointKey,
    crate::model::EndpointKey,
    Vec<zero_trust_rules::PortRange>,
    Vec<crate::model::PortName>,
);

fn identity(flow: &Flow) -> FlowIdentity {
    (
        flow.from.key(),
        flow.to.key(),
        flow.ports.to_vec(),
        flow.port_names.to_vec(),
    )
}

/// The flows of `cluster` that some other declared cluster lacks: what review of this
/// cluster must look at besides what all clusters share.
pub fn particular_flows<'c>(cluster: &'c Cluster, clusters: &[Cluster]) -> Vec<&'c Flow> {
    let others: Vec<BTreeSet<FlowIdentity>> = clusters
        .iter()
        .filter(|other| other.target.map(|t| t.name) != cluster.target.map(|t| t.name))
        .map(|other| other.flows.iter().map(identity).collect())
        .collect();
    cluster
        .flows
        .iter()
        .filter(|flow| {
            let flow = identity(flow);
            others.iter().any(|other| !other.contains(&flow))
        })
        .collect()
}

/// The closing section of a declared cluster's `FLOWS.md`.
fn particular_section(cluster: &Cluster, clusters: &[Cluster]) -> String {
    let particular = particular_flows(cluster, clusters);
    let name = cluster.target.map_or("", |t| t.name);
    let mut text = format!("\n## Particular to cluster `{name}`\n\n");
    if particular.is_empty() {
        text.push_str("Nothing: every other declared cluster has all of its flows.\n");
        return text;
    }
    text.push_str("The flows of this cluster that another declared cluster lacks (`cargo xtask diff --clusters` compares two):\n\n| from | to | ports |\n| --- | --- | --- |\n");
    for flow in particular {
        let numbers = flow.ports.iter().map(ToString::to_string);
        let names = flow.port_names.iter().map(ToString::to_string);
        let ports: Vec<String> = numbers.chain(names).collect();
        writeln!(
            text,
            "| {} | {} | {} |",
            describe(&flow.from),
            describe(&flow.to),
            ports.join(", ")
        )
        .unwrap();
    }
    text
}

fn describe(end: &Endpoint) -> String {
    match end {
        Endpoint::Workload(w) => format!("`{}/{}`", w.namespace.name, w.name),
        Endpoint::Namespace(n) => format!("`{}` (every pod)", n.name),
        Endpoint::Cidr(c) => format!("`{}` ({})", c.ident, c.describe()),
        Endpoint::AllManaged => "`*` (every managed pod)".to_owned(),
    }
}
