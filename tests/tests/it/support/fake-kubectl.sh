#!/usr/bin/env bash
# Stand-in for kubectl in tests/tests/it/apply_script.rs, installed first on PATH as `kubectl`. It
# keeps no state: it answers every call from these variables, whatever was written before.
#   FAKE_KUBECTL_LOG         file that gets one line per call: the arguments joined by
#                            spaces; the stdin of each `create` and `replace` is saved to
#                            FAKE_KUBECTL_LOG.stdin.N, N the number of the call's line
#   FAKE_KUBECTL_FAIL_ON     if set, every call whose line contains it fails (exit 1) with a
#                            two-line error, as kubectl's often are
#   FAKE_KUBECTL_NAMESPACES  the namespaces, one per line: the name, then the value of its
#                            label kubernetes.io/metadata.name if it has that label
#   FAKE_KUBECTL_LIVE        the NetworkPolicies, one per line: namespace/name, then
#                            `edited` if its spec is not what k8s/ says (a hand edit), or
#                            `unlabelled` if it lacks the source labels (`-l` never lists it)
#   FAKE_KUBECTL_VERSION     the answer to `get --raw /version`, if set; otherwise that of
#                            a Kubernetes 1.20.2 server
# A policy's compared line (what apply.sh's jsonpath `compared` prints) is
# `namespace/name<TAB>labels<TAB>spec`: labels `{"managed":"true"}` or `{}`, spec
# `{"policy":"namespace/name"}` (with `"edited":"by hand"` in it for an edited one).
# `get networkpolicies -n NS` without `-l` prints the compared line of each live policy in
# NS; with `-l`, the names of those with the source labels. Several documents on stdin (each
# after a line `---`) are answered one by one, in order: `replace --dry-run=server` prints
# each one's compared line, so it matches the live policy unless that is edited or
# unlabelled; `create` and `replace` otherwise print each one's `-o name`.
set -euo pipefail

call="$*"
printf '%s\n' "$call" >>"$FAKE_KUBECTL_LOG"

args=("$@")
if [[ ${args[0]-} == --context ]]; then
  args=("${args[@]:2}")
fi
namespace="" selector="" words=()
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    -n) namespace=${args[i + 1]} && i=$((i + 1)) ;;
    -l) selector=${args[i + 1]} && i=$((i + 1)) ;;
    -o | -f) i=$((i + 1)) ;;
    -*) ;;
    *) words+=("${args[i]}") ;;
  esac
done

stdin=""
if [[ ${words[0]-} == create || ${words[0]-} == replace ]]; then
  stdin="$FAKE_KUBECTL_LOG.stdin.$(wc -l <"$FAKE_KUBECTL_LOG")"
  cat >"$stdin"
fi

if [[ -n ${FAKE_KUBECTL_FAIL_ON:-} && $call == *"$FAKE_KUBECTL_FAIL_ON"* ]]; then
  echo "error: fake kubectl told to fail: $call" >&2
  echo "(a second line of detail)" >&2
  exit 1
fi

# The compared line of policy $1 with the flags $2.
compared() {
  local labels='{"managed":"true"}' spec="\"policy\":\"$1\""
  if [[ " $2 " == *" unlabelled "* ]]; then
    labels='{}'
  fi
  if [[ " $2 " == *" edited "* ]]; then
    spec+=',"edited":"by hand"'
  fi
  printf '%s\t%s\t{%s}\n' "$1" "$labels" "$spec"
}

# Each document on stdin as a line `namespace/name flags`: a line `---` starts a document,
# and one without the source label is `unlabelled`.
documents() {
  local line name="" namespace="" flags=unlabelled started=0
  while IFS= read -r line; do
    case $line in
      ---)
        if ((started)); then
          printf '%s/%s %s\n' "$namespace" "$name" "$flags"
        fi
        name="" namespace="" flags=unlabelled started=0
        ;;
      "  name: "*) name=${line#"  name: "} started=1 ;;
      "  namespace: "*) namespace=${line#"  namespace: "} started=1 ;;
      "    zero-trust.dev/policy-source: "*) flags="" started=1 ;;
      "") ;;
      *) started=1 ;;
    esac
  done <"$stdin"
  if ((started)); then
    printf '%s/%s %s\n' "$namespace" "$name" "$flags"
  fi
}

case "${words[*]}" in
  "get /version")
    old_server='{"major": "1", "minor": "20", "gitVersion": "v1.20.2"}'
    printf '%s\n' "${FAKE_KUBECTL_VERSION:-$old_server}"
    ;;
  "get namespaces "*)
    # Those of the named namespaces that exist, in the order named.
    for wanted in "${words[@]:2}"; do
      while read -r name label; do
        if [[ $name == "$wanted" ]]; then
          printf '%s %s\n' "$name" "${label-}"
        fi
      done <<<"${FAKE_KUBECTL_NAMESPACES-}"
    done
    ;;
  "get networkpolicies")
    while read -r policy flags; do
      if [[ -z $policy || $policy != "$namespace/"* ]]; then
        continue
      fi
      if [[ -z $selector ]]; then
        compared "$policy" "${flags-}"
      elif [[ " ${flags-} " != *" unlabelled "* ]]; then
        printf '%s\n' "${policy#*/}"
      fi
    done <<<"${FAKE_KUBECTL_LIVE-}"
    ;;
  create | replace)
    while read -r policy flags; do
      if [[ ${words[0]} == replace && " $call " == *" --dry-run=server "* ]]; then
        compared "$policy" "${flags-}"
      else
        echo "networkpolicy.networking.k8s.io/${policy#*/}"
      fi
    done < <(documents)
    ;;
  "delete networkpolicy "*)
    echo "networkpolicy.networking.k8s.io \"${words[2]}\" deleted"
    ;;
  *)
    echo "fake kubectl: unexpected call: $call" >&2
    exit 1
    ;;
esac
