//! The generated `k8s/apply.sh`: applies the emitted manifests to named clusters, allow
//! policies before default-deny ones, and prunes the managed NetworkPolicies no longer emitted.
//!
//! The script's logic is fixed text ([`SCRIPT_LOGIC`]); only its data section (which files,
//! which policies to keep) comes from the [`ApplyPlan`], so the output is deterministic and
//! the logic can be read, and shellchecked, as one piece.

use std::fmt::Write as _;

use zero_trust_rules::{MANAGED_BY_LABEL, MANAGED_BY_VALUE};

/// The first comment line of every file `cargo xtask emit` writes (after `# ` in the script).
pub const GENERATED_HEADER: &str =
    "Written by `cargo xtask emit` from policies/; do not edit by hand.";

/// What apply.sh needs to know, produced by the emitter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyPlan {
    /// Manifest file names in k8s/ (no directory), applied first: the allow-policies.
    pub allow_files: Vec<String>,
    /// Applied after the allow files: the default-deny policies.
    pub deny_files: Vec<String>,
    /// Every NetworkPolicy emitted, as (namespace, name), sorted: what prune keeps.
    pub policies: Vec<(String, String)>,
}

/// The text of `k8s/apply.sh` for `plan`; the emitter writes it with mode 0755.
///
/// File order is kept as given (it is the apply order); the kept policies are sorted and
/// deduplicated here too, so the text never depends on how the caller collected them.
pub fn render_apply_script(plan: &ApplyPlan) -> String {
    let mut kept: Vec<String> = plan
        .policies
        .iter()
        .map(|(namespace, name)| format!("{namespace}/{name}"))
        .collect();
    kept.sort();
    kept.dedup();

    let mut script = String::new();
    script.push_str("#!/usr/bin/env bash\n");
    writeln!(script, "# {GENERATED_HEADER}").unwrap();
    script.push_str(SCRIPT_INTRO);
    script.push('\n');
    script
        .push_str("# Allow-policies: applied first, so no moment has a deny without its allows.\n");
    push_array(&mut script, "allow_files", &plan.allow_files);
    script.push_str("# Default-deny policies: applied once every allow file is in place.\n");
    push_array(&mut script, "deny_files", &plan.deny_files);
    script
        .push_str("# Every NetworkPolicy emitted, as namespace/name: prune deletes only managed\n");
    script.push_str("# policies that are not listed here.\n");
    push_array(&mut script, "emitted_policies", &kept);
    writeln!(
        script,
        "managed_selector={}",
        shell_word(&format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"))
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
# Applies the NetworkPolicies in this directory to each kubectl context named with
# `--context`, in order, stopping at the first failure. Run `apply.sh --help` for details.
# Needs bash 4.4 or later and kubectl on PATH.
set -euo pipefail
"##;

/// Everything after the data section: fixed, so every emitted script behaves the same.
const SCRIPT_LOGIC: &str = r##"me=${0##*/}

usage() {
  cat <<EOF
Usage: $0 --context CONTEXT [--context CONTEXT ...] [--dry-run | --verify]

Applies the zero-trust NetworkPolicies next to this script to each kubectl context, in
the order given, and stops at the first failure. For each context:
  1. a server-side dry run of every manifest;
  2. apply the allow policies, then the default-deny policies;
  3. prune: delete the NetworkPolicies labelled $managed_selector
     that are no longer emitted. Nothing else is ever deleted;
  4. with --verify: probe the cluster with $verify_script --context CONTEXT, and stop
     the rollout if a probe fails.

Options:
  --context CONTEXT  a kubectl context to apply to; repeat it for several clusters
  --dry-run          only the server-side dry run, and show what prune would delete
  --verify           after applying to each context, run $verify_script on it
  -h, --help         print this help
EOF
}

{SHELL_HELPERS}

contexts=()
dry_run=0
verify=0
while (($# > 0)); do
  case $1 in
    --context | --context=*)
      if [[ $1 == --context=* ]]; then
        context=${1#--context=}
        shift
      elif (($# >= 2)); then
        context=$2
        shift 2
      else
        usage_error "\`--context\` needs a kubectl context name"
      fi
      if [[ -z $context || $context == -* ]]; then
        usage_error "\`--context\` needs a kubectl context name, not \`$context\`"
      fi
      contexts+=("$context")
      ;;
    --dry-run)
      dry_run=1
      shift
      ;;
    --verify)
      verify=1
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage_error "unknown option \`$1\`"
      ;;
  esac
done

if ((${#contexts[@]} == 0)); then
  usage_error "no \`--context\` given; name every cluster to apply to, e.g. \`--context staging\` (this script never guesses from kubectl's current context)"
fi

if ((dry_run && verify)); then
  usage_error "\`--verify\` probes a cluster after applying to it, so it cannot go with \`--dry-run\`"
fi

# Manifests are found next to this script, whatever the working directory (and CDPATH).
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" >/dev/null && pwd)

for file in "${allow_files[@]}" "${deny_files[@]}"; do
  if [[ ! -f $here/$file ]]; then
    error "manifest \`$here/$file\` is missing; run \`cargo xtask emit\` to write k8s/ again"
    exit 1
  fi
done
if ((verify)) && [[ ! -x $here/$verify_script ]]; then
  error "\`$here/$verify_script\` is missing or not executable; run \`cargo xtask emit\` to write k8s/ again"
  exit 1
fi
if ! command -v kubectl >/dev/null 2>&1; then
  error "\`kubectl\` is not on PATH; install it or add its directory to PATH"
  exit 1
fi

allow_args=()
for file in "${allow_files[@]}"; do
  allow_args+=(-f "$here/$file")
done
deny_args=()
for file in "${deny_files[@]}"; do
  deny_args+=(-f "$here/$file")
done
all_args=("${allow_args[@]}" "${deny_args[@]}")

declare -A emitted=()
for policy in "${emitted_policies[@]}"; do
  emitted[$policy]=1
done

step() {
  printf '==> %s: %s\n' "$1" "$2"
}

# Deletes (or, with --dry-run, dry-run deletes) each NetworkPolicy that carries the
# managed-by label but is not emitted any more. Policies without the label are never listed.
prune() {
  local context=$1
  local listed entry
  listed=$(kubectl --context "$context" get networkpolicies --all-namespaces -l "$managed_selector" \
    -o jsonpath='{range .items[*]}{.metadata.namespace}{"/"}{.metadata.name}{"\n"}{end}')
  local -a stale=()
  while IFS= read -r entry; do
    [[ -n $entry ]] || continue
    if [[ $entry != ?*/?* || $entry == */*/* ]]; then
      error "\`kubectl get\` printed \`$entry\` where namespace/name was expected; nothing was pruned"
      return 1
    fi
    if [[ -z ${emitted[$entry]+kept} ]]; then
      stale+=("$entry")
    fi
  done <<<"$listed"

  if ((${#stale[@]} == 0)); then
    echo "    no stale policies"
    return
  fi
  local -a delete_flags=()
  local verb="deleting"
  if ((dry_run)); then
    delete_flags=(--dry-run=server)
    verb="would delete"
  fi
  for entry in "${stale[@]}"; do
    echo "    $verb networkpolicy ${entry} (managed by zero-trust, no longer emitted)"
    kubectl --context "$context" delete "${delete_flags[@]}" networkpolicy -n "${entry%%/*}" "${entry#*/}"
  done
}

apply_to_context() {
  local context=$1
  step "$context" "server-side dry run"
  if ((${#all_args[@]} > 0)); then
    kubectl --context "$context" apply --dry-run=server "${all_args[@]}"
  fi
  if ((dry_run)); then
    step "$context" "what prune would delete (server-side dry run)"
    prune "$context"
    return
  fi

  stage=apply
  step "$context" "applying allow policies"
  if ((${#allow_args[@]} > 0)); then
    kubectl --context "$context" apply "${allow_args[@]}"
  fi
  step "$context" "applying default-deny policies"
  if ((${#deny_args[@]} > 0)); then
    kubectl --context "$context" apply "${deny_args[@]}"
  fi
  stage=prune
  step "$context" "pruning managed policies that are no longer emitted"
  prune "$context"
  if ((verify)); then
    stage=verify
    step "$context" "verifying with $verify_script"
    "$here/$verify_script" --context "$context"
  fi
}

# On a failure (set -e), say which context it hit and which were left alone.
current_context=""
stage=dry-run # how far the current context got: dry-run, apply, prune or verify
later_contexts=()
report_failure() {
  local status=$?
  if ((status == 0)) || [[ -z $current_context ]]; then
    return
  fi
  error "failed on context \`$current_context\` (exit status $status); see the output above"
  case $stage in
    dry-run) error "nothing was changed on \`$current_context\`" ;;
    apply) error "\`$current_context\` may be partly updated; fix the cause and run again (applying twice is safe)" ;;
    prune) error "\`$current_context\` has every emitted policy, but prune did not finish; fix the cause and run again" ;;
    verify) error "\`$current_context\` has every emitted policy, but $verify_script failed on it (see its FAIL lines above); fix the cause and run again" ;;
  esac
  if ((${#later_contexts[@]} > 0)); then
    error "later contexts were not touched: ${later_contexts[*]}"
  fi
}
trap report_failure EXIT

for i in "${!contexts[@]}"; do
  current_context=${contexts[i]}
  later_contexts=("${contexts[@]:i+1}")
  stage=dry-run
  apply_to_context "$current_context"
  step "$current_context" "done"
done
current_context=""

if ((dry_run)); then
  echo "==> dry run passed for: ${contexts[*]}; nothing was changed"
else
  echo "==> applied to: ${contexts[*]}"
fi
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
    fn kept_policies_are_sorted_and_unique() {
        let plan = ApplyPlan {
            allow_files: vec![],
            deny_files: vec![],
            policies: vec![
                ("b".into(), "x".into()),
                ("a".into(), "y".into()),
                ("b".into(), "x".into()),
            ],
        };
        let script = render_apply_script(&plan);
        assert!(
            script.contains("emitted_policies=(\n  a/y\n  b/x\n)\n"),
            "{script}"
        );
        assert!(script.contains("allow_files=()\n"));
    }
}
