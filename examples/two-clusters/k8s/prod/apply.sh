#!/usr/bin/env bash
# Written by `cargo xtask emit` from policies/; do not edit by hand.
#
# Rolls the NetworkPolicies in this directory out to each kubectl context named with
# `--context`, in order, stopping at the first failure. Run `apply.sh --help` for details.
# Needs bash 4.4 or later and kubectl on PATH.
set -euo pipefail

# The proven rollout order: manifest, document number, namespace/name.
steps=(
  '10-allow-shop.yaml 1 shop/checkout.egress'
  '10-allow-shop.yaml 2 shop/checkout.ingress'
  '10-allow-shop.yaml 3 shop/web.egress'
  '10-allow-shop.yaml 4 shop/web.ingress'
  '10-allow-shop.yaml 5 shop/all-pods.egress'
  '20-default-deny.yaml 1 shop/default-deny-all'
)
# Preflight checks these; prune lists policies in these only.
managed_namespaces=(
  shop
)
# Prune deletes only objects carrying all three labels.
source_selector='app.kubernetes.io/managed-by=zero-trust,zero-trust.dev/policy-source=two-clusters-example,zero-trust.dev/cluster=prod'
# Run by `--verify` after each context is applied.
verify_script=verify.sh
# Policies with a port range (endPort): preflight refuses a server before 1.22.
port_range_policies=()
# The declared cluster: any context but these is refused.
cluster=prod
cluster_contexts=(
  gke-prod-eu
  gke-prod-us
)

me=${0##*/}

usage() {
  cat <<EOF
Usage: $0 --context CONTEXT [--context CONTEXT ...] [--dry-run | --verify]

Rolls out the zero-trust NetworkPolicies next to this script to each kubectl context.
Nothing is written anywhere until every context has passed steps 1 and 2:
  1. preflight: the cluster answers, runs Kubernetes 1.22 or later if a policy holds a
     port range, and every managed namespace exists and carries the
     kubernetes.io/metadata.name label the policies select namespaces by;
  2. a server-side dry run of every policy, comparing it with the live one;
then, for each context in the order given, stopping at the first failure:
  3. write the policies in the proven rollout order (cargo xtask emit proves that no
     moment of it interrupts a connection that both the old and new policies allow):
     create the missing ones, replace every one whose live labels or spec differ
     from this directory (a hand edit is repaired), leave the rest untouched;
  4. prune: in the managed namespaces only, delete the NetworkPolicies labelled
     $source_selector
     that are no longer emitted. Nothing else is ever deleted;
  5. with --verify: probe the cluster with $verify_script --context CONTEXT, and stop
     the rollout if a probe fails.

Options:
  --context CONTEXT  a kubectl context to apply to; repeat it for several clusters
  --dry-run          steps 1 and 2 only: report what would be created, repaired and
                     pruned, and change nothing
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
# A failed kubectl inside $(...) must stop the script too (bash 4.4+, checked above).
shopt -s inherit_errexit

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
      for seen in "${contexts[@]}"; do
        if [[ $seen == "$context" ]]; then
          usage_error "\`--context $context\` is given twice; name each cluster once"
        fi
      done
      # This folder holds one declared cluster's policies: a context not declared for it could
      # be another cluster, so it is refused before anything reaches any cluster.
      declared=0
      for allowed in "${cluster_contexts[@]}"; do
        if [[ $context == "$allowed" ]]; then
          declared=1
        fi
      done
      if ((!declared)); then
        error "context \`$context\` is not declared for cluster \`$cluster\`, whose policies these are; its contexts: ${cluster_contexts[*]} (declared in the assembly next to PARTS); nothing was sent to any cluster"
        exit 2
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
here=$(CDPATH="" cd -- "$(dirname -- "${BASH_SOURCE[0]}")" >/dev/null && pwd)

declare -A emitted=()
for entry in "${steps[@]}"; do
  read -r file _ policy <<<"$entry"
  if [[ ! -f $here/$file ]]; then
    error "manifest \`$here/$file\` is missing; run \`cargo xtask emit\` to write k8s/ again"
    exit 1
  fi
  emitted[$policy]=1
done
if ((verify)) && [[ ! -x $here/$verify_script ]]; then
  error "\`$here/$verify_script\` is missing or not executable; run \`cargo xtask emit\` to write k8s/ again"
  exit 1
fi
if ! command -v kubectl >/dev/null 2>&1; then
  error "\`kubectl\` is not on PATH; install it or add its directory to PATH"
  exit 1
fi

step() {
  printf '==> %s: %s\n' "$1" "$2"
}

# The Nth document (1-based) of a multi-document YAML file that emit wrote: documents
# start at a line `---`, and the header comment comes before the first.
document() {
  awk -v n="$2" '/^---$/ { i++; next } i == n' "$here/$1"
}

# What is compared between k8s/ and the live object: its labels and its spec, each as the
# API server prints them (defaults filled in), on one line after namespace/name.
readonly compared='{.metadata.namespace}{"/"}{.metadata.name}{"\t"}{.metadata.labels}{"\t"}{.spec}{"\n"}'

# The version in a server's /version answer ($1, JSON), as `MAJOR MINOR SHOWN`, SHOWN the
# version as the server names it (gitVersion, e.g. v1.20.2); fails if it names none. Some
# distributions suffix the minor ("20+"), so only its leading digits count; where major
# and minor are empty, they are read from gitVersion (vMAJOR.MINOR.PATCH...).
server_version() {
  local answer=$1 major="" minor="" shown=""
  local major_field='"major":[[:space:]]*"([0-9]+)' minor_field='"minor":[[:space:]]*"([0-9]+)'
  local git_field='"gitVersion":[[:space:]]*"([^"]+)"' git_version='^v([0-9]+)\.([0-9]+)'
  [[ $answer =~ $major_field ]] && major=${BASH_REMATCH[1]}
  [[ $answer =~ $minor_field ]] && minor=${BASH_REMATCH[1]}
  [[ $answer =~ $git_field ]] && shown=${BASH_REMATCH[1]}
  if [[ -z $major || -z $minor ]] && [[ $shown =~ $git_version ]]; then
    major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
  fi
  [[ -n $major && -n $minor ]] || return 1
  printf '%s %s %s\n' "$major" "$minor" "${shown:-$major.$minor}"
}

# Whether the server of context $1, by its /version answer $2, keeps the port ranges of
# port_range_policies; says on one line why not. A range is `port` + `endPort`, which
# Kubernetes added in 1.21 as alpha (feature gate NetworkPolicyEndPort, off by default),
# made beta and on by default in 1.22 and stable in 1.25 (KEP-2079,
# https://www.kubernetes.dev/resources/keps/2079/; the 1.22-1.24 API reference of
# NetworkPolicyPort.endPort: "This feature is in Beta state and is enabled by default. It
# can be disabled using the Feature Gate NetworkPolicyEndPort"). A server that does not
# know the field, or has its gate off, drops it without an error, and the policy then
# allows only the first port of the range: an outage that no dry run shows. (Before 1.21,
# kubectl's schema check may refuse the unknown field first, suggesting to turn the check
# off; from 1.21 the field is in the schema, so nothing warns.) Hence 1.22, the first
# version whose default keeps it. A 1.21 server with the gate turned on is refused too,
# since /version cannot show a gate; for the same reason a 1.22-1.24 server whose gate
# was turned off is not caught here, nor a network plugin that does not enforce endPort.
keeps_port_ranges() {
  local context=$1 version major minor shown
  if ! version=$(server_version "$2"); then
    error "cannot tell the Kubernetes version of context \`$context\` from its /version answer, and these policies hold a port range (endPort), which a server before 1.22 drops: ${port_range_policies[*]}; check the cluster's version, or list the ports one by one instead of a range"
    return 1
  fi
  read -r major minor shown <<<"$version"
  # 10#: a leading zero must not read as octal.
  if ((10#$major > 1 || (10#$major == 1 && 10#$minor >= 22))); then
    return 0
  fi
  error "context \`$context\` runs Kubernetes $shown, which drops the port range (endPort) of ${port_range_policies[*]}, so each would allow only the first port of its range; upgrade the cluster to Kubernetes 1.22 or later, or list the ports one by one instead of a range"
  return 1
}

# Says on one line per problem why a context cannot be rolled out to, or nothing.
preflight() {
  local context=$1 output line name label ready=1
  if ! output=$(kubectl --context "$context" --request-timeout=15s get --raw /version 2>&1); then
    error "cannot reach the cluster of context \`$context\`: ${output%%$'\n'*}"
    return 1
  fi
  if ((${#port_range_policies[@]} > 0)) && ! keeps_port_ranges "$context" "$output"; then
    ready=0
  fi
  # stderr apart: a warning kubectl prints on success must not read as a namespace.
  # Several names print a List (the range), a single name the object itself (the tail).
  local row='{.metadata.name}{" "}{.metadata.labels.kubernetes\.io/metadata\.name}{"\n"}'
  if ! output=$(kubectl --context "$context" get namespaces "${managed_namespaces[@]}" --ignore-not-found \
    -o jsonpath="{range .items[*]}$row{end}$row" 2>/dev/null); then
    output=$(kubectl --context "$context" get namespaces "${managed_namespaces[@]}" 2>&1 >/dev/null) || true
    error "cannot read the managed namespaces on context \`$context\`: ${output%%$'\n'*}"
    return 1
  fi
  local -A found=()
  while read -r name label; do
    [[ -n $name ]] && found[$name]=$label
  done <<<"$output"
  local -a missing=() unlabelled=()
  for name in "${managed_namespaces[@]}"; do
    if [[ -z ${found[$name]+present} ]]; then
      missing+=("$name")
    elif [[ ${found[$name]} != "$name" ]]; then
      unlabelled+=("$name")
    fi
  done
  if ((${#missing[@]} > 0)); then
    error "context \`$context\` lacks the managed namespaces: ${missing[*]}; create them (kubectl create namespace NAME) and run again"
  fi
  if ((${#unlabelled[@]} > 0)); then
    error "on context \`$context\`, these namespaces lack the label kubernetes.io/metadata.name=<their name> that the policies select namespaces by (Kubernetes sets it from 1.21 on): ${unlabelled[*]}; label each, e.g. kubectl --context $context label namespace ${unlabelled[0]} --overwrite kubernetes.io/metadata.name=${unlabelled[0]}"
  fi
  ((ready && ${#missing[@]} == 0 && ${#unlabelled[@]} == 0))
}

# Decides what each step needs on a context: `create`, `replace` (the live labels or spec
# differ from k8s/) or `keep`. One listing per namespace, then one server-side dry run of
# all creates and one of all replaces, which validates every object on the real server.
declare -A actions=()
plan_context() {
  local context=$1 ns n file index policy line output
  local -A live=() wanted=()
  # Each answer is read from a variable, not from `< <(kubectl ...)`: set -e never sees a
  # failure inside a process substitution, and a failed listing or dry run must stop here.
  for ns in "${managed_namespaces[@]}"; do
    output=$(kubectl --context "$context" get networkpolicies -n "$ns" -o jsonpath="{range .items[*]}$compared{end}")
    while IFS= read -r line; do
      [[ -n $line ]] && live[${line%%$'\t'*}]=${line#*$'\t'}
    done <<<"$output"
  done
  local creates="" replaces=""
  for n in "${!steps[@]}"; do
    read -r file index policy <<<"${steps[n]}"
    if [[ -z ${live[$policy]+present} ]]; then
      actions[$context/$n]=create
      creates+=$'---\n'$(document "$file" "$index")$'\n'
    else
      replaces+=$'---\n'$(document "$file" "$index")$'\n'
    fi
  done
  if [[ -n $creates ]]; then
    kubectl --context "$context" create --dry-run=server -f - -o name <<<"$creates" >/dev/null
  fi
  if [[ -n $replaces ]]; then
    output=$(kubectl --context "$context" replace --dry-run=server -f - -o jsonpath="$compared" <<<"$replaces")
    while IFS= read -r line; do
      [[ -n $line ]] && wanted[${line%%$'\t'*}]=${line#*$'\t'}
    done <<<"$output"
  fi
  for n in "${!steps[@]}"; do
    [[ -n ${actions[$context/$n]+decided} ]] && continue
    policy=${steps[n]##* }
    if [[ ${wanted[$policy]-} == "${live[$policy]}" ]]; then
      actions[$context/$n]=keep
    else
      actions[$context/$n]=replace
    fi
  done
}

# The managed policies of this source that are no longer emitted, as namespace/name,
# listed namespace by namespace (a deployer needs no cluster-wide rights).
stale_policies() {
  local context=$1 ns listed name
  for ns in "${managed_namespaces[@]}"; do
    listed=$(kubectl --context "$context" get networkpolicies -n "$ns" -l "$source_selector" \
      -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
    while IFS= read -r name; do
      if [[ -n $name && -z ${emitted[$ns/$name]+kept} ]]; then
        printf '%s/%s\n' "$ns" "$name"
      fi
    done <<<"$listed"
  done
}

check_context() {
  local context=$1 n created=0 replaced=0 kept=0 policy stale
  step "$context" "preflight"
  preflight "$context"
  step "$context" "server-side dry run of ${#steps[@]} policies"
  plan_context "$context"
  for n in "${!steps[@]}"; do
    policy=${steps[n]##* }
    case ${actions[$context/$n]} in
      create)
        created=$((created + 1))
        if ((dry_run)); then echo "    would create $policy"; fi
        ;;
      replace)
        replaced=$((replaced + 1))
        if ((dry_run)); then echo "    would repair $policy (its live labels or spec differ from k8s/)"; fi
        ;;
      *) kept=$((kept + 1)) ;;
    esac
  done
  echo "    $created to create, $replaced to repair, $kept up to date"
  if ((dry_run)); then
    stale=$(stale_policies "$context")
    if [[ -z $stale ]]; then
      echo "    nothing to prune"
    else
      while IFS= read -r policy; do
        echo "    would delete $policy (managed by this source, no longer emitted)"
      done <<<"$stale"
    fi
  fi
}

apply_to_context() {
  local context=$1 n file index policy doc stale
  stage=apply
  step "$context" "writing policies in the proven order"
  for n in "${!steps[@]}"; do
    read -r file index policy <<<"${steps[n]}"
    case ${actions[$context/$n]} in
      create)
        doc=$(document "$file" "$index")
        kubectl --context "$context" create --save-config -f - -o name <<<"$doc" >/dev/null
        echo "    created $policy"
        ;;
      replace)
        doc=$(document "$file" "$index")
        kubectl --context "$context" replace --save-config -f - -o name <<<"$doc" >/dev/null
        echo "    repaired $policy (its live labels or spec differed from k8s/)"
        ;;
    esac
  done
  stage=prune
  step "$context" "pruning this source's policies that are no longer emitted"
  stale=$(stale_policies "$context")
  if [[ -z $stale ]]; then
    echo "    nothing to prune"
  else
    while IFS= read -r policy; do
      kubectl --context "$context" delete networkpolicy -n "${policy%%/*}" "${policy#*/}" >/dev/null
      echo "    deleted $policy (managed by this source, no longer emitted)"
    done <<<"$stale"
  fi
  if ((verify)); then
    stage=verify
    step "$context" "verifying with $verify_script"
    "$here/$verify_script" --context "$context"
  fi
}

# On a failure (set -e), say which context it hit and which were left alone.
current_context=""
stage=check # how far the current context got: check, apply, prune or verify
later_contexts=()
report_failure() {
  local status=$?
  if ((status == 0)) || [[ -z $current_context ]]; then
    return
  fi
  error "failed on context \`$current_context\` (exit status $status); see the output above"
  case $stage in
    check) error "nothing was changed on any context" ;;
    apply) error "\`$current_context\` may be partly updated (every prefix of the order is safe); fix the cause and run again" ;;
    prune) error "\`$current_context\` has every emitted policy, but prune did not finish; fix the cause and run again" ;;
    verify) error "\`$current_context\` has every emitted policy, but $verify_script failed on it (see its FAIL lines above); fix the cause and run again" ;;
  esac
  if ((${#later_contexts[@]} > 0)); then
    error "later contexts were not touched: ${later_contexts[*]}"
  fi
}
trap report_failure EXIT

for context in "${contexts[@]}"; do
  current_context=$context
  check_context "$context"
done
current_context=""
if ((dry_run)); then
  echo "==> dry run passed for: ${contexts[*]}; nothing was changed"
  exit 0
fi

for i in "${!contexts[@]}"; do
  current_context=${contexts[i]}
  later_contexts=("${contexts[@]:i+1}")
  apply_to_context "$current_context"
  step "$current_context" "done"
done
current_context=""
echo "==> applied to: ${contexts[*]}"
