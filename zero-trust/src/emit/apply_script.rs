//! The generated `k8s/apply.sh`: rolls the emitted policies out to named clusters in the
//! proven order (see [`crate::rollout`]), repairs hand edits, and prunes only this policy
//! source's objects in the managed namespaces.
//!
//! The script's logic is a real file, `apply.sh.in` (read, diffed and shellchecked as a
//! script); only its data section (the steps, the namespaces, the source) comes from the
//! [`ApplyPlan`], so the output is deterministic.

use std::fmt::Write as _;

use zero_trust_rules::{MANAGED_BY_LABEL, MANAGED_BY_VALUE, POLICY_SOURCE_LABEL};

/// The first comment line of every file `cargo xtask emit` writes (after `# ` in the script).
pub const GENERATED_HEADER: &str =
    "Written by `cargo xtask emit` from policies/; do not edit by hand.";

/// Everything after the data section: fixed, so every emitted script behaves the same.
const SCRIPT_LOGIC: &str = include_str!("apply.sh.in");

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
    let mut script = String::new();
    script.push_str("#!/usr/bin/env bash\n");
    writeln!(script, "# {GENERATED_HEADER}").unwrap();
    script.push_str(SCRIPT_INTRO);
    script.push('\n');
    script.push_str("# The proven rollout order: manifest, document number, namespace/name.\n");
    let steps: Vec<String> = plan
        .steps
        .iter()
        .map(|s| format!("{} {} {}/{}", s.file, s.index, s.namespace, s.name))
        .collect();
    push_array(&mut script, "steps", &steps);
    script.push_str("# Preflight checks these; prune lists policies in these only.\n");
    push_array(&mut script, "managed_namespaces", &plan.managed_namespaces);
    script.push_str("# Prune deletes only objects carrying both labels.\n");
    writeln!(
        script,
        "source_selector={}",
        shell_word(&format!(
            "{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},{POLICY_SOURCE_LABEL}={}",
            plan.source
        ))
    )
    .unwrap();
    script.push_str("# Run by `--verify` after each context is applied.\n");
    writeln!(script, "verify_script={}", shell_word(super::VERIFY_SCRIPT)).unwrap();
    script.push('\n');
    script.push_str(&SCRIPT_LOGIC.replacen("{SHELL_HELPERS}\n", SHELL_HELPERS, 1));
    script
}

/// A bash array assignment, one element per line.
fn push_array(script: &mut String, name: &str, values: &[String]) {
    if values.is_empty() {
        writeln!(script, "{name}=()").unwrap();
        return;
    }
    writeln!(script, "{name}=(").unwrap();
    for value in values {
        writeln!(script, "  {}", shell_word(value)).unwrap();
    }
    script.push_str(")\n");
}

/// `value` as one bash word: bare when every character is one bash never interprets (as
/// Kubernetes names and our file names are), single-quoted otherwise.
pub(crate) fn shell_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '='));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// Comment and shell options between the header and the data section.
/// What both generated scripts need first: error messages and the bash version check.
pub(crate) const SHELL_HELPERS: &str = r##"error() {
  printf '%s: %s\n' "$me" "$1" >&2
}

usage_error() {
  error "$1"
  printf '\n' >&2
  usage >&2
  exit 2
}

if ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 4))); then
  error "needs bash 4.4 or later, not $BASH_VERSION; run it with a newer bash"
  exit 1
fi
"##;

const SCRIPT_INTRO: &str = r##"#
# Rolls the NetworkPolicies in this directory out to each kubectl context named with
# `--context`, in order, stopping at the first failure. Run `apply.sh --help` for details.
# Needs bash 4.4 or later and kubectl on PATH.
set -euo pipefail
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_word_quotes_only_what_bash_would_interpret() {
        assert_eq!(shell_word("shop/allow-web"), "shop/allow-web");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
        assert_eq!(shell_word(""), "''");
    }

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
        assert!(!script.contains("{SHELL_HELPERS}"));
    }
}
