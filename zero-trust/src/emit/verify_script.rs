//! The generated `k8s/verify.sh`: probes a live cluster, each probe with its source's own
//! network identity, that every declared flow connects and that a chosen set of other
//! connections is blocked.
//!
//! Which probes, and what each must observe, is decided in [`plan`]. As `apply.sh`, the
//! script is a template, `verify.sh.in`, and only its data section comes from the
//! [`VerifyPlan`], so the output is deterministic. See [`super::shell`].

mod plan;

use std::fmt::Write as _;

use crate::cluster::Cluster;
use crate::eval::LoadedPolicy;

use super::shell::{
    fill_template, push_array, push_array_of, push_cluster_scope, shell_word, with_cluster_check,
};

pub use plan::{CLOSED_PER_SOURCE, Expect, Method, OUTSIDE, Probe, VerifyPlan, plan_probes};

/// The text of `k8s/verify.sh` for `cluster`; the emitter writes it with mode 0755.
pub fn render_verify_script(cluster: &Cluster) -> String {
    render_plan(&plan_probes(cluster))
}

/// [`render_verify_script`] for the policies lowered from `cluster`, already read as the
/// evaluator reads them.
pub fn render_verify_script_for(cluster: &Cluster, policies: &[LoadedPolicy]) -> String {
    render_plan(&plan::plan_probes_for(cluster, policies))
}

/// The whole script but its data section: fixed, so every emitted script behaves the same.
const TEMPLATE: &str = include_str!("verify.sh.in");

/// Where the template's intro says how many closed probes a source gets.
const CLOSED_PER_SOURCE_PLACEHOLDER: &str = "{CLOSED_PER_SOURCE}";

pub fn render_plan(plan: &VerifyPlan) -> String {
    let template = with_cluster_check(TEMPLATE, plan.cluster.as_ref()).replacen(
        CLOSED_PER_SOURCE_PLACEHOLDER,
        &CLOSED_PER_SOURCE.to_string(),
        1,
    );
    fill_template(&template, &data_section(plan))
}

/// The variables the template reads, with a comment saying what each is for.
fn data_section(plan: &VerifyPlan) -> String {
    let mut data = String::new();
    data.push_str("# Namespaces the policies name: the probe pod never runs in one of them.\n");
    push_array(&mut data, "named_namespaces", &plan.named_namespaces);
    let default = plan.default_probe_namespace.as_deref().unwrap_or("");
    writeln!(data, "default_probe_namespace={}", shell_word(default)).unwrap();
    data.push_str("# How to find the pods of each workload: a label selector for `kubectl -l`;\n");
    data.push_str("# empty means any pod of the namespace.\n");
    push_array_of(
        &mut data,
        "declare -A selector_of",
        plan.targets
            .iter()
            .map(|(id, selector)| format!("[{}]={}", shell_word(id), shell_word(selector))),
    );
    data.push_str("# One probe per line: expected, how (tcp, dns or skip), source, destination,\n");
    data.push_str("# port/protocol, and why it is probed (or why it is skipped).\n");
    let probes = plan.probes.iter().map(|probe| {
        let expect = match probe.expect {
            Expect::Open => "open",
            Expect::Closed => "closed",
        };
        let method = match probe.method {
            Method::Tcp => "tcp",
            Method::Dns => "dns",
            Method::Skip(_) => "skip",
        };
        let port = probe
            .port_name
            .map_or_else(|| probe.port.to_string(), str::to_owned);
        let why = match &probe.method {
            Method::Skip(reason) if probe.why.is_empty() => reason,
            _ => &probe.why,
        };
        shell_word(&format!(
            "{expect} {method} {} {} {port}/{} {why}",
            probe.source,
            probe.destination,
            probe.protocol.as_dsl(),
        ))
    });
    push_array_of(&mut data, "probes", probes);
    if let Some(cluster) = &plan.cluster {
        push_cluster_scope(&mut data, cluster);
    }
    data
}
