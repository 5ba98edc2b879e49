//! The generated `k8s/apply.sh`: rolls the emitted policies out to named clusters in the
//! proven order (see [`crate::rollout`]), repairs hand edits, and prunes only this policy
//! source's objects in the managed namespaces.
//!
//! The script is a template, `apply.sh.in` (read, diffed and shellchecked as a script);
//! only its data section (the steps, the namespaces, the source) comes from the
//! [`ApplyPlan`], so the output is deterministic. See [`super::shell`].

use std::fmt::Write as _;

use zero_trust_rules::{MANAGED_BY_LABEL, MANAGED_BY_VALUE, POLICY_SOURCE_LABEL};

use super::shell::{fill_template, push_array, shell_word};

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
}

/// The text of `k8s/apply.sh` for `plan`; the emitter writes it with mode 0755.
pub fn render_apply_script(plan: &ApplyPlan) -> String {
    fill_template(TEMPLATE, &data_section(plan))
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
    data.push_str("# Prune deletes only objects carrying both labels.\n");
    writeln!(
        data,
        "source_selector={}",
        shell_word(&format!(
            "{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},{POLICY_SOURCE_LABEL}={}",
            plan.source
        ))
    )
    .unwrap();
    data.push_str("# Run by `--verify` after each context is applied.\n");
    writeln!(data, "verify_script={}", shell_word(super::VERIFY_SCRIPT)).unwrap();
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
        };
        let script = render_apply_script(&plan);
        assert!(
            script.contains(
                "steps=(\n  '10-allow-b.yaml 1 b/web.ingress'\n  '20-default-deny.yaml 1 a/default-deny-all'\n)\n"
            ),
            "{script}"
        );
        assert!(script.contains("managed_namespaces=(\n  a\n  b\n)\n"));
        assert!(script.contains(
            "source_selector='app.kubernetes.io/managed-by=zero-trust,zero-trust.dev/policy-source=shop'\n"
        ));
        assert!(!script.contains("{SHELL_HELPERS}") && !script.contains("{DATA}"));
    }
}
