//! The generated `k8s/apply.sh`: rolls the emitted policies out to named clusters in the
//! proven order (see [`crate::rollout`]), repairs hand edits, and prunes only this policy
//! source's objects in the managed namespaces.
//!
//! The script is a template, `apply.sh.in` (read, diffed and shellchecked as a script);
//! only its data section (the steps, the namespaces, the source) comes from the
//! [`ApplyPlan`], so the output is deterministic. See [`super::shell`].

use std::fmt::Write as _;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use zero_trust_rules::{CLUSTER_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE, POLICY_SOURCE_LABEL};

pub use super::shell::ClusterScope;
use super::shell::{fill_template, push_array, push_cluster_scope, shell_word, with_cluster_check};

/// The whole script but its data section: fixed, so every emitted script behaves the same.
const TEMPLATE: &str = include_str!("apply.sh.in");

/// One write of the rollout: the policy that document `index` (1-based) of `file` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyStep {
    pub file: String,
    pub index: usize,
    pub namespace: String,
    pub name: String,
}

/// What apply.sh needs to know, produced by the emitter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyPlan {
    /// Every emitted policy, in the proven rollout order.
    pub steps: Vec<ApplyStep>,
    /// Where prune looks, namespace by namespace; and what preflight checks.
    pub managed_namespaces: Vec<String>,
    /// The value of the policy-source label: prune deletes only objects carrying it.
    pub source: String,
    /// The declared cluster these policies are for, if the source declares clusters.
    pub cluster: Option<ClusterScope>,
    /// The policies (namespace/name) holding a port range: preflight refuses a server too
    /// old to keep one (see `apply.sh.in`).
    pub port_range_policies: Vec<String>,
}

/// Whether `policy` holds a port range (`endPort`), which a server before Kubernetes 1.22
/// silently drops.
pub fn holds_port_range(policy: &NetworkPolicy) -> bool {
    let Some(spec) = &policy.spec else {
        return false;
    };
    let ingress = spec.ingress.iter().flatten().map(|rule| &rule.ports);
    let egress = spec.egress.iter().flatten().map(|rule| &rule.ports);
    ingress
        .chain(egress)
        .flatten()
        .flatten()
        .any(|port| port.end_port.is_some())
}

/// The text of `k8s/apply.sh` for `plan`; the emitter writes it with mode 0755.
pub fn render_apply_script(plan: &ApplyPlan) -> String {
    let template = with_cluster_check(TEMPLATE, plan.cluster.as_ref());
    fill_template(&template, &data_section(plan))
}

/// The variables the template reads, with a comment saying what each is for.
fn data_section(plan: &ApplyPlan) -> String {
    let mut data = String::new();
    data.push_str("# The proven rollout order: manifest, document number, namespace/name.\n");
    let steps: Vec<String> = plan
        .steps
        .iter()
        .map(|s| format!("{} {} {}/{}", s.file, s.index, s.namespace, s.name))
        .collect();
    push_array(&mut data, "steps", &steps);
    data.push_str("# Preflight checks these; prune lists policies in these only.\n");
    push_array(&mut data, "managed_namespaces", &plan.managed_namespaces);
    let mut selector = format!(
        "{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},{POLICY_SOURCE_LABEL}={}",
        plan.source
    );
    if let Some(cluster) = &plan.cluster {
        write!(selector, ",{CLUSTER_LABEL}={}", cluster.name).unwrap();
    }
    data.push_str(if plan.cluster.is_some() {
        "# Prune deletes only objects carrying all three labels.\n"
    } else {
        "# Prune deletes only objects carrying both labels.\n"
    });
    writeln!(data, "source_selector={}", shell_word(&selector)).unwrap();
    data.push_str("# Run by `--verify` after each context is applied.\n");
    writeln!(data, "verify_script={}", shell_word(super::VERIFY_SCRIPT)).unwrap();
    data.push_str(
        "# Policies with a port range (endPort): preflight refuses a server before 1.22.\n",
    );
    push_array(&mut data, "port_range_policies", &plan.port_range_policies);
    if let Some(cluster) = &plan.cluster {
        push_cluster_scope(&mut data, cluster);
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_section_lists_steps_in_order_and_the_source_selector() {
        let plan = ApplyPlan {
            steps: vec![
                ApplyStep {
                    file: "10-allow-b.yaml".into(),
                    index: 1,
                    namespace: "b".into(),
                    name: "web.ingress".into(),
                },
                ApplyStep {
                    file: "20-default-deny.yaml".into(),
                    index: 1,
                    namespace: "a".into(),
                    name: "default-deny-all".into(),
                },
            ],
            managed_namespaces: vec!["a".into(), "b".into()],
            source: "shop".into(),
            cluster: None,
            port_range_policies: vec!["b/web.ingress".into()],
        };
        let script = render_apply_script(&plan);
        assert!(
            script.contains(
                "steps=(\n  '10-allow-b.yaml 1 b/web.ingress'\n  '20-default-deny.yaml 1 a/default-deny-all'\n)\n"
            ),
            "{script}"
        );
        assert!(script.contains("managed_namespaces=(\n  a\n  b\n)\n"));
        assert!(script.contains("port_range_policies=(\n  b/web.ingress\n)\n"));
        assert!(script.contains(
            "source_selector='app.kubernetes.io/managed-by=zero-trust,zero-trust.dev/policy-source=shop'\n"
        ));
        assert!(!script.contains("{SHELL_HELPERS}") && !script.contains("{DATA}"));
        assert!(!script.contains("{CLUSTER_CHECK}") && !script.contains("cluster_contexts"));
    }

    #[test]
    fn a_declared_cluster_prunes_by_its_label_and_knows_its_contexts() {
        let plan = ApplyPlan {
            source: "shop".into(),
            cluster: Some(ClusterScope {
                name: "prod".into(),
                contexts: vec!["gke-prod".into(), "gke prod eu".into()],
            }),
            ..ApplyPlan::default()
        };
        let script = render_apply_script(&plan);
        assert!(script.contains(
            "source_selector='app.kubernetes.io/managed-by=zero-trust,zero-trust.dev/policy-source=shop,zero-trust.dev/cluster=prod'\n"
        ));
        assert!(
            script.contains("cluster=prod\ncluster_contexts=(\n  gke-prod\n  'gke prod eu'\n)\n")
        );
        assert!(script.contains("      declared=0\n") && !script.contains("{CLUSTER_CHECK}"));
    }
}
