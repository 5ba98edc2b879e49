#!/usr/bin/env bash
# Written by `cargo xtask emit` from policies/; do not edit by hand.
#
# Probes one cluster (`--context`) to show the NetworkPolicies next to this script behave
# as declared in policies/. Run `verify.sh --help` for the options.
#
# Expected open: every declared flow, from one pod of its source to one pod of its
# destination (a namespace or `*` stands for one workload per namespace, one that listens
# on the port). Flows with a CIDR end are skipped: nothing outside the cluster is probed.
# Expected closed, at most one probe per (source, destination) pair, on the first port the
# destination listens on that the policies do not open to that source:
#   - each declared flow reversed, when its destination is a managed workload;
#   - each managed workload to the managed workloads it may not reach: at most
#     5 per source, taken in order after it (wrapping around) so every
#     workload is probed as a destination;
#   - a new pod without labels, in a namespace no policy names, to each managed workload;
#   - each managed workload to a private address (egress to it must be blocked; note that
#     it also times out when nothing answers there).
# Which of them must be blocked was decided by evaluating the emitted policies.
#
# Each probe runs with its source's network identity: in an ephemeral debug container
# added to a running pod of the source workload (`kubectl debug`), one per source per run.
# A blocked probe times out; "connection refused" means the packet got through (open).
# Needs bash 4.4 or later and kubectl on PATH.
set -euo pipefail

# Namespaces the policies name: the probe pod never runs in one of them.
named_namespaces=(
  ingress-nginx
  kube-system
  shop
)
default_probe_namespace=default
# How to find the pods of each workload: a label selector for `kubectl -l`;
# empty means any pod of the namespace.
declare -A selector_of=(
  [ingress-nginx/controller]=app.kubernetes.io/name=ingress-nginx
  [kube-system/kube-dns]=k8s-app=kube-dns
  [shop/checkout]=app=checkout
  [shop/web]=app=web
  [shop/web-canary]=app=web-canary
)
# One probe per line: expected, how (tcp, dns or skip), source, destination,
# port/protocol, and why it is probed (or why it is skipped).
probes=(
  'open tcp ingress-nginx/controller shop/web 8080/tcp declared: ingress_nginx -> web:8080'
  'open tcp shop/web shop/checkout 3000/tcp declared: web -> checkout:3000'
  'open tcp ingress-nginx/controller shop/web-canary 8080/tcp declared: ingress_nginx -> web_canary:8080'
  'open tcp shop/web-canary shop/checkout 3000/tcp declared: web_canary -> checkout:3000'
  'open dns shop/checkout kube-system/kube-dns 53/udp declared: * -> kube_dns:53/udp, 53/tcp'
  'open tcp shop/checkout kube-system/kube-dns 53/tcp declared: * -> kube_dns:53/udp, 53/tcp'
  'open skip shop/checkout partner_mock 8443/tcp the destination is the CIDR partner_mock; verify.sh never probes outside the cluster (declared: checkout -> partner_mock:8443)'
  'closed tcp shop/checkout shop/web 8080/tcp reverse of web -> checkout:3000'
  'closed tcp shop/checkout shop/web-canary 8080/tcp reverse of web_canary -> checkout:3000'
  'closed tcp shop/web shop/web-canary 8080/tcp not declared'
  'closed tcp shop/web-canary shop/web 8080/tcp not declared'
  'closed tcp @outside shop/checkout 3000/tcp from a new pod in a namespace no policy names'
  'closed tcp @outside shop/web 8080/tcp from a new pod in a namespace no policy names'
  'closed tcp @outside shop/web-canary 8080/tcp from a new pod in a namespace no policy names'
  'closed tcp shop/checkout @10.255.255.1 8443/tcp a private address'
  'closed tcp shop/web @10.255.255.1 443/tcp a private address'
  'closed tcp shop/web-canary @10.255.255.1 443/tcp a private address'
)
# The declared cluster: any context but these is refused.
cluster=staging
cluster_contexts=(
  kind-staging
)

me=${0##*/}
default_image=busybox:1.36

usage() {
  cat <<EOF
Usage: $0 --context CONTEXT [--timeout SECONDS] [--probe-namespace NAMESPACE] [--image IMAGE]

Probes the cluster of one kubectl context: every declared flow must connect, and the
connections listed at the top of this script must be blocked. Prints a line per probe
(ok, FAIL or skip), then "N passed, M failed" (and ", K skipped").

Each probe runs in an ephemeral debug container added to a running pod of its source
workload (kubectl debug --profile=general), so it has that pod's network identity; an
ephemeral container stays in the pod's spec until the pod is replaced. Probes from
outside run in one new pod without labels in the probe namespace, deleted at the end.
A blocked connection must time out: "connection refused" means the packet got through,
so it counts as open. UDP other than DNS, SCTP, and flows with a CIDR end are skipped
and counted, with the reason.

Options:
  --context CONTEXT            the kubectl context to probe; required, never guessed
  --timeout SECONDS            how long a probe waits before it counts as blocked (default 3)
  --probe-namespace NAMESPACE  where the unlabelled probe pod runs, a namespace the
                               policies do not name (default: ${default_probe_namespace:-none})
  --image IMAGE                the probe image: sh, nc (with -w), nslookup, timeout and tr
                               (default $default_image)
  -h, --help                   print this help

Exit status: 0 if every probe passed, 1 if one failed, 2 on a usage error.
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

context=""
timeout=3
probe_namespace=$default_probe_namespace
image=$default_image
while (($# > 0)); do
  option=$1
  shift
  case $option in
    -h | --help)
      usage
      exit 0
      ;;
    --context=* | --timeout=* | --probe-namespace=* | --image=*)
      value=${option#*=}
      option=${option%%=*}
      ;;
    --context | --timeout | --probe-namespace | --image)
      value=${1-}
      if (($# > 0)); then
        shift
      fi
      ;;
    *)
      usage_error "unknown option \`$option\`"
      ;;
  esac
  case $option in
    --context) wanted="a kubectl context name" ;;
    --timeout) wanted="a number of seconds" ;;
    --probe-namespace) wanted="a namespace name" ;;
    *) wanted="an image name" ;;
  esac
  if [[ -z $value ]]; then
    usage_error "\`$option\` needs $wanted"
  elif [[ $value == -* ]]; then
    usage_error "\`$option\` needs $wanted, not \`$value\`"
  fi
  case $option in
    --context) context=$value ;;
    --timeout) timeout=$value ;;
    --probe-namespace) probe_namespace=$value ;;
    *) image=$value ;;
  esac
done

if [[ -z $context ]]; then
  usage_error "no \`--context\` given; name the cluster to probe, e.g. \`--context staging\` (this script never guesses from kubectl's current context)"
fi
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
if [[ ! $timeout =~ ^[1-9][0-9]{0,3}$ ]]; then
  usage_error "\`--timeout\` needs a whole number of seconds from 1 to 9999, not \`$timeout\`"
fi
if [[ -z $probe_namespace ]]; then
  usage_error "\`--probe-namespace\` is required here: the policies name \`default\`; name a namespace they do not"
fi
# Both are pasted into the probe pod's YAML and into kubectl's arguments, so they are
# checked first: a namespace is a DNS-1123 label, an image a reference
# ([registry[:port]/]path[:tag][@digest]) and nothing else.
if [[ ! $probe_namespace =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]]; then
  usage_error "\`--probe-namespace\` needs a namespace name (lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit), not \`$probe_namespace\`"
fi
image_component='[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*'
image_host='[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*(:[0-9]+)?/'
image_pattern="^($image_host)?$image_component(/$image_component)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@[a-z0-9]+([-+._][a-z0-9]+)*:[0-9a-fA-F]{32,})?$"
if ((${#image} > 512)) || [[ ! $image =~ $image_pattern ]]; then
  usage_error "\`--image\` needs an image reference such as \`busybox:1.36\` or \`registry.example.com:5000/tools/busybox@sha256:<digest>\`, not \`$image\`"
fi
for namespace in "${named_namespaces[@]}"; do
  if [[ $namespace == "$probe_namespace" ]]; then
    usage_error "the policies name \`$probe_namespace\`, so they may select the probe pod; give \`--probe-namespace\` a namespace they do not name"
  fi
done
if ! command -v kubectl >/dev/null 2>&1; then
  error "\`kubectl\` is not on PATH; install it or add its directory to PATH"
  exit 1
fi

# Run inside the source pod by the image's sh (busybox): for each group of index, method,
# address and port, prints `zero-trust-probe INDEX RESULT OUTPUT`, RESULT being open,
# refused (the packet got through), timeout (blocked) or error (anything else, such as
# "no route to host", or an nc without `-w`: reported, never taken for blocked).
# `nc -w` ends a connect that gets no answer ("timed out"); a connection made and held
# open is ended by the outer `timeout`, later. A DNS query that gets any answer is open.
# shellcheck disable=SC2016 # expanded by the sh in the pod
probe_script='seconds=$1
shift
while [ "$#" -ge 4 ]; do
  index=$1 method=$2 address=$3 port=$4
  shift 4
  if [ "$method" = dns ]; then
    output=$(timeout "$seconds" nslookup kubernetes.default "$address" 2>&1)
  else
    output=$(timeout "$((seconds + 2))" nc -w "$seconds" "$address" "$port" 2>&1 </dev/null)
  fi
  status=$?
  output=$(printf "%s" "$output" | tr -s "\n\t" "  ")
  if [ "$status" -eq 0 ]; then
    result=open
  else
    case $method:$output in
      dns:*NXDOMAIN* | dns:*SERVFAIL* | dns:*REFUSED*) result=open ;;
      *efused*) result=refused ;;
      *"timed out"*) result=timeout ;;
      dns:*) if [ "$status" -ge 124 ]; then result=timeout; else result=error; fi ;;
      *) if [ "$status" -ge 124 ]; then result=open; else result=error; fi ;;
    esac
  fi
  echo "zero-trust-probe $index $result $output"
done'

scratch=$(mktemp -d)
probe_pod=""
probe_pod_problem=""

# A kubectl error saved in a file, on one line.
message_of() {
  local text
  text=$(tr -s '\n' ' ' <"$1")
  printf '%s' "${text:-no message}"
}

cleanup() {
  if [[ -n $probe_pod ]] &&
    ! kubectl --context "$context" delete -n "$probe_namespace" "pod/$probe_pod" --wait=false >/dev/null 2>"$scratch/delete"; then
    error "could not delete the probe pod \`$probe_namespace/$probe_pod\`: $(message_of "$scratch/delete"); delete it by hand"
  fi
  rm -rf -- "$scratch"
}
trap cleanup EXIT

# Runs a command, ending it after $1 seconds: `kubectl debug` waits for its container
# without a limit, e.g. while the image cannot be pulled.
with_deadline() {
  local seconds=$1 pid watchdog status=0
  shift
  "$@" &
  pid=$!
  (sleep "$seconds" && kill "$pid") >/dev/null 2>&1 &
  watchdog=$!
  wait "$pid" || status=$?
  kill "$watchdog" 2>/dev/null || true
  return "$status"
}

declare -A pod_name=() pod_ip=() pod_problem=()
# Finds a running pod of a workload (not one being deleted), once per run.
find_pod() {
  local id=$1 listed name ip deleting
  if [[ -n ${pod_name[$id]+found} || -n ${pod_problem[$id]+found} ]]; then
    return 0
  fi
  local selector=${selector_of[$id]} described="any pod of the namespace"
  local -a args=(get pods -n "${id%%/*}" --field-selector=status.phase=Running)
  args+=(-o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.status.podIP}{" "}{.metadata.deletionTimestamp}{"\n"}{end}')
  if [[ -n $selector ]]; then
    args+=(-l "$selector")
    described="selector $selector"
  fi
  if ! listed=$(kubectl --context "$context" "${args[@]}" 2>"$scratch/get"); then
    pod_problem[$id]="could not list the pods of $id: $(message_of "$scratch/get")"
    return 0
  fi
  while read -r name ip deleting; do
    if [[ -n $name && -n $ip && -z $deleting ]]; then
      pod_name[$id]=$name
      pod_ip[$id]=$ip
      return 0
    fi
  done <<<"$listed"
  pod_problem[$id]="no running pod of $id ($described); start one or fix its labels, then run again"
}

# The pod for the probes from outside: no labels at all, in a namespace no policy names,
# so no policy selects it; it also ends itself after an hour should deleting it fail.
start_probe_pod() {
  local created
  if [[ -n $probe_pod || -n $probe_pod_problem ]]; then
    return 0
  fi
  if ! created=$(kubectl --context "$context" create -n "$probe_namespace" -o name -f - 2>"$scratch/create" <<EOF
apiVersion: v1
kind: Pod
metadata:
  generateName: zero-trust-probe-
  annotations:
    zero-trust/purpose: "verify.sh: probes from a pod no policy selects; deleted when it ends"
spec:
  restartPolicy: Never
  activeDeadlineSeconds: 3600
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 0
  securityContext:
    runAsNonRoot: true
    runAsUser: 65534
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: probe
      image: "$image"
      command: ["sleep", "3600"]
      securityContext:
        allowPrivilegeEscalation: false
        capabilities:
          drop: ["ALL"]
EOF
  ); then
    probe_pod_problem="could not create the probe pod in \`$probe_namespace\`: $(message_of "$scratch/create")"
    return 0
  fi
  probe_pod=${created#pod/}
  if ! kubectl --context "$context" wait -n "$probe_namespace" --for=condition=Ready --timeout=120s \
    "pod/$probe_pod" >/dev/null 2>"$scratch/wait"; then
    probe_pod_problem="the probe pod \`$probe_namespace/$probe_pod\` did not become ready: $(message_of "$scratch/wait")"
  fi
}

display() {
  case $1 in
    @outside) printf '%s/<new unlabelled pod>' "$probe_namespace" ;;
    @*) printf '%s' "${1#@}" ;;
    */\*) printf '%s/<any pod>' "${1%/*}" ;;
    *) printf '%s' "$1" ;;
  esac
}

passed=0
failed=0
skipped=0
report() {
  printf '%-4s %s\n' "$1" "$2"
  case $1 in
    ok) passed=$((passed + 1)) ;;
    FAIL) failed=$((failed + 1)) ;;
    *) skipped=$((skipped + 1)) ;;
  esac
}

# Per probe index, once resolved: the text printed, what it expects, why, where it goes,
# and the verdict when known before probing (skipped, or no pod to probe from or to).
probe_text=()
probe_expect=()
probe_why=()
probe_address=()
probe_early=()

# Runs every probe of one source in a single container, so a source pod gets one
# ephemeral container per run, then judges each answer.
run_source() {
  local source=$1 i expect method destination port why problem="" failure="" where=""
  local -a indexes=() batch=() pending=() run_in=()
  local -A observed=() said=()
  read -ra indexes <<<"${indexes_of[$source]}"
  if [[ $source == @outside ]]; then
    start_probe_pod
    problem=$probe_pod_problem
  else
    find_pod "$source"
    problem=${pod_problem[$source]-}
  fi
  for i in "${indexes[@]}"; do
    read -r expect method _ destination port why <<<"${probes[i]}"
    probe_text[i]="$(display "$source") -> $(display "$destination"):$port expected $expect"
    if [[ $method == skip ]]; then
      probe_early[i]="skip ${probe_text[i]}: skipped, $why"
      continue
    fi
    if [[ -n $problem ]]; then
      probe_early[i]="FAIL ${probe_text[i]}: $problem"
      continue
    fi
    if [[ $destination == @* ]]; then
      probe_address[i]=${destination#@}
    else
      find_pod "$destination"
      if [[ -n ${pod_problem[$destination]+found} ]]; then
        probe_early[i]="FAIL ${probe_text[i]}: ${pod_problem[$destination]}"
        continue
      fi
      probe_address[i]=${pod_ip[$destination]}
    fi
    probe_expect[i]=$expect
    probe_why[i]=$why
    batch+=("$i" "$method" "${probe_address[i]}" "${port%/*}")
    pending+=("$i")
  done
  if ((${#pending[@]} > 0)); then
    probe_in_pod
  fi
  for i in "${indexes[@]}"; do
    if [[ -n ${probe_early[i]-} ]]; then
      report "${probe_early[i]%% *}" "${probe_early[i]#* }"
    else
      judge "$i"
    fi
  done
}

# Runs the pending probes of run_source in one container; reads and sets its locals
# (bash scoping is dynamic): batch, run_in, where, failure, observed and said.
probe_in_pod() {
  local output status=0 deadline=$((120 + ${#pending[@]} * (timeout + 2)))
  if [[ $source == @outside ]]; then
    run_in=(exec -n "$probe_namespace" "$probe_pod" --)
    where="$probe_namespace/$probe_pod"
  else
    run_in=(debug "${pod_name[$source]}" -n "${source%%/*}" "--image=$image" --profile=general -q --attach --)
    where="${source%%/*}/${pod_name[$source]}"
  fi
  output=$(with_deadline "$deadline" kubectl --context "$context" "${run_in[@]}" \
    sh -c "$probe_script" sh "$timeout" "${batch[@]}" 2>"$scratch/probe") || status=$?
  if ((status == 143)); then
    failure="\`kubectl ${run_in[0]}\` did not finish within ${deadline}s; is the image \`$image\` pullable there?"
  elif ((status != 0)); then
    failure="\`kubectl ${run_in[0]}\` failed: $(message_of "$scratch/probe")"
  fi
  local tag index result rest
  while read -r tag index result rest; do
    if [[ $tag == zero-trust-probe && -n $index ]]; then
      observed[$index]=${result%$'\r'}
      said[$index]=${rest%$'\r'}
    fi
  done <<<"$output"
}

# Reports one probe that ran, from the locals of run_source that probe_in_pod set.
judge() {
  local i=$1 seen result=${observed[$1]-}
  case $result in
    open | refused) seen=open ;;
    timeout) seen=closed ;;
    error)
      report FAIL "${probe_text[i]}: the probe neither connected nor timed out (${said[$i]}); from pod $where to ${probe_address[i]}"
      return 0
      ;;
    *)
      report FAIL "${probe_text[i]}: no answer from the probe in pod $where: ${failure:-it printed no result}"
      return 0
      ;;
  esac
  if [[ $seen == "${probe_expect[i]}" ]]; then
    report ok "${probe_text[i]}, observed $result (${probe_why[i]})"
  elif [[ $seen == open ]]; then
    report FAIL "${probe_text[i]}, observed $result (${probe_why[i]}); from pod $where to ${probe_address[i]}: the policies allow more than declared, or the network plugin does not enforce NetworkPolicy"
  else
    report FAIL "${probe_text[i]}, observed $result (${probe_why[i]}); from pod $where to ${probe_address[i]}: blocked; check the policies that select both pods, and the pods' labels"
  fi
}

# The probes grouped by source, sources in the order of the data.
sources=()
declare -A indexes_of=()
for i in "${!probes[@]}"; do
  read -r _ _ source _ <<<"${probes[i]}"
  if [[ -z ${indexes_of[$source]+seen} ]]; then
    sources+=("$source")
    indexes_of[$source]=""
  fi
  indexes_of[$source]+=" $i"
done

echo "==> $context: ${#probes[@]} probes from ${#sources[@]} sources, timeout ${timeout}s"
for source in "${sources[@]}"; do
  run_source "$source"
done

summary="$passed passed, $failed failed"
if ((skipped > 0)); then
  summary+=", $skipped skipped"
fi
printf '%s\n' "$summary"
if ((failed > 0)); then
  exit 1
fi
