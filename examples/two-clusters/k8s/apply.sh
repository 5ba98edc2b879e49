#!/usr/bin/env bash
# Written by `cargo xtask emit` from policies/; do not edit by hand.
#
# Rolls the declared clusters out, each by its own `<cluster>/apply.sh`, in the declared
# order (staging before prod), stopping at the first failure. Run `apply.sh --help`.
# Needs bash 4.4 or later and kubectl on PATH.
set -euo pipefail

# The declared clusters, in rollout order.
clusters=(
  staging
  prod
)
# Every declared context, and the one cluster it may receive.
declared_contexts=(
  kind-staging
  gke-prod-eu
  gke-prod-us
)
declare -A cluster_of
cluster_of=(
  [kind-staging]=staging
  [gke-prod-eu]=prod
  [gke-prod-us]=prod
)

me=${0##*/}

# Every declared context with its cluster, on one line, for messages.
declared() {
  local context separator=""
  for context in "${declared_contexts[@]}"; do
    printf '%s%s (cluster %s)' "$separator" "$context" "${cluster_of[$context]}"
    separator=", "
  done
}

usage() {
  cat <<EOF
Usage: $0 --context CONTEXT [--context CONTEXT ...] [--dry-run | --verify]

Rolls out the clusters of this folder by running each one's <cluster>/apply.sh with the
contexts named that are declared for it. Clusters go in the declared order, whatever the
order of the options: ${clusters[*]}. A cluster none of whose contexts is named is left
alone; the first failure stops the rollout and the clusters after it are not touched.

Declared contexts: $(declared)

Options:
  --context CONTEXT  a kubectl context to apply to; repeat it for several clusters
  --dry-run          passed to each cluster's apply.sh: report, change nothing
  --verify           passed to each cluster's apply.sh: probe it with its verify.sh
                     after applying, so a failure in staging stops before prod
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
options=()
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
      if [[ -z ${cluster_of[$context]+declared} ]]; then
        error "context \`$context\` is not declared for any cluster; declared: $(declared) (in the assembly next to PARTS); nothing was applied"
        exit 2
      fi
      contexts+=("$context")
      ;;
    --dry-run | --verify)
      options+=("$1")
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
  usage_error "no \`--context\` given; name every cluster to apply to (this script never guesses from kubectl's current context)"
fi

here=$(CDPATH="" cd -- "$(dirname -- "${BASH_SOURCE[0]}")" >/dev/null && pwd)

for cluster in "${clusters[@]}"; do
  arguments=()
  for context in "${contexts[@]}"; do
    if [[ ${cluster_of[$context]} == "$cluster" ]]; then
      arguments+=(--context "$context")
    fi
  done
  if ((${#arguments[@]} == 0)); then
    printf '==> cluster %s: no context of it named, left alone\n' "$cluster"
    continue
  fi
  printf '==> cluster %s\n' "$cluster"
  status=0
  "$here/$cluster/apply.sh" "${arguments[@]}" "${options[@]}" || status=$?
  if ((status != 0)); then
    error "cluster \`$cluster\` failed (exit $status); the clusters after it were not touched"
    exit "$status"
  fi
done
