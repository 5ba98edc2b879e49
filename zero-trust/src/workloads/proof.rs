//! The proof on the real pods: the emitted YAML evaluated over the pod templates of the
//! manifests (each template its own class, with all its labels, including those that make
//! it match other selectors), and each pod's ingress and egress compared with what the
//! policies declare for the workloads that select it. The evaluator and the comparison are
//! the ones `emit` proves with ([`crate::verify::check_intent`]); only the topology is the
//! real one instead of one pod per workload.

use super::Workloads;
use crate::cluster::Cluster;
use crate::eval::{Analysis, Inputs, LoadedPolicy};
use crate::verify::check_intent;

/// Every mismatch, one line each, naming the pod template, its file and the flow.
pub fn prove_on_pods(
    cluster: &Cluster,
    policies: &[LoadedPolicy],
    workloads: &Workloads,
) -> Result<(), Vec<String>> {
    let inputs = Inputs {
        policies: policies.to_vec(),
        topology: workloads.inputs.topology.clone(),
        ..Inputs::default()
    };
    let analysis = Analysis::new(&inputs)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let mismatches = check_intent(cluster, &analysis);
    if mismatches.is_empty() {
        return Ok(());
    }
    Err(mismatches
        .iter()
        .map(|mismatch| {
            let text = mismatch.to_string();
            // Name the file of each template the line is about.
            let files: Vec<String> = workloads
                .templates()
                .filter(|t| text.contains(&t.pod.display_name()))
                .map(|t| t.to_string())
                .collect();
            if files.is_empty() {
                text
            } else {
                format!("{text}; pod template {}", files.join(", "))
            }
        })
        .collect())
}
