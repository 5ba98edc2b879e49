#!/usr/bin/env bash
# Written by `cargo xtask emit` from policies/; do not edit by hand.
#
# Applies the NetworkPolicies in this directory to each kubectl context named with
# `--context`, in order, stopping at the first failure. Run `apply.sh --help` for details.
# Needs bash 4.4 or later and kubectl on PATH.
set -euo pipefail

# Allow-policies: applied first, so no moment has a deny without its allows.
allow_files=(
  10-allow-prod-api.yaml
  10-allow-prod-auth.yaml
  10-allow-prod-image.yaml
  10-allow-prod-storage.yaml
)
# Default-deny policies: applied once every allow file is in place.
deny_files=(
  20-default-deny.yaml
)
# Every NetworkPolicy emitted, as namespace/name: prune deletes only managed
# policies that are not listed here.
emitted_policies=(
  prod-api/all-pods.egress
  prod-api/default-deny-all
  prod-api/main-api.egress
  prod-api/main-api.ingress
  prod-auth/all-pods.egress
  prod-auth/auth-service.ingress
  prod-auth/default-deny-all
  prod-image/all-pods.egress
  prod-image/default-deny-all
  prod-image/image-service.egress
  prod-image/image-service.ingress
  prod-storage/all-pods.egress
  prod-storage/all-pods.ingress
  prod-storage/default-deny-all
)
managed_selector=app.kubernetes.io/managed-by=zero-trust
# Run by `--verify` after each context is applied.
verify_script=verify.sh

me=${0##*/}

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

error() {
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
