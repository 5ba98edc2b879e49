#!/usr/bin/env bash
# Stand-in for kubectl in tests/apply_script.rs, installed first on PATH as `kubectl`. It
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
# The jsonpath of labels and spec prints `{"managed":"true"}` or `{}`, then
# `{"policy":"NAMESPACE/NAME"}` (with `"edited":"by hand"` in it for an edited one); a
# `replace --dry-run=server` prints the same for the document on its stdin, so it matches
# the live policy unless that is edited or unlabelled.
set -euo pipefail

call="$*"
printf '%s\n' "$call" >>"$FAKE_KUBECTL_LOG"
stdin=""
if [[ ${3-} == create || ${3-} == replace ]]; then
  stdin="$FAKE_KUBECTL_LOG.stdin.$(wc -l <"$FAKE_KUBECTL_LOG")"
  cat >"$stdin"
fi

if [[ -n ${FAKE_KUBECTL_FAIL_ON:-} && $call == *"$FAKE_KUBECTL_FAIL_ON"* ]]; then
  echo "error: fake kubectl told to fail: $call" >&2
  echo "(a second line of detail)" >&2
  exit 1
fi

# The labels line, then the spec line, of policy $1 with the flags $2.
compared() {
  local labels='{"managed":"true"}' spec="\"policy\":\"$1\""
  if [[ " $2 " == *" unlabelled "* ]]; then
    labels='{}'
  fi
  if [[ " $2 " == *" edited "* ]]; then
    spec+=',"edited":"by hand"'
  fi
  printf '%s\n{%s}\n' "$labels" "$spec"
}

# The document on stdin as `namespace/name flags`.
document() {
  local line name="" namespace="" flags=unlabelled
  while IFS= read -r line; do
    case $line in
      "  name: "*) name=${line#"  name: "} ;;
      "  namespace: "*) namespace=${line#"  namespace: "} ;;
      "    zero-trust.dev/policy-source: "*) flags="" ;;
    esac
  done <"$stdin"
  printf '%s/%s %s\n' "$namespace" "$name" "$flags"
}

args=("$@")
if [[ ${args[0]-} == --context ]]; then
  args=("${args[@]:2}")
fi
namespace="" words=()
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    -n) namespace=${args[i + 1]} && i=$((i + 1)) ;;
    -l | -o | -f) i=$((i + 1)) ;;
    -*) ;;
    *) words+=("${args[i]}") ;;
  esac
done

case "${words[*]}" in
  "get /version")
    echo '{"major": "1", "minor": "20", "gitVersion": "v1.20.2"}'
    ;;
  "get namespace "*)
    while read -r name label; do
      if [[ $name == "${words[2]}" ]]; then
        printf '%s %s' "$name" "${label-}"
      fi
    done <<<"${FAKE_KUBECTL_NAMESPACES-}"
    ;;
  "get networkpolicy "*)
    while read -r policy flags; do
      if [[ $policy == "$namespace/${words[2]}" ]]; then
        compared "$policy" "${flags-}"
      fi
    done <<<"${FAKE_KUBECTL_LIVE-}"
    ;;
  "get networkpolicies")
    while read -r policy flags; do
      if [[ $policy == "$namespace/"* && " ${flags-} " != *" unlabelled "* ]]; then
        printf '%s\n' "${policy#*/}"
      fi
    done <<<"${FAKE_KUBECTL_LIVE-}"
    ;;
  create | replace)
    read -r policy flags <<<"$(document)"
    if [[ ${words[0]} == replace && " $call " == *" --dry-run=server "* ]]; then
      compared "$policy" "${flags-}"
    else
      echo "networkpolicy.networking.k8s.io/${policy#*/}"
    fi
    ;;
  "delete networkpolicy "*)
    echo "networkpolicy.networking.k8s.io \"${words[2]}\" deleted"
    ;;
  *)
    echo "fake kubectl: unexpected call: $call" >&2
    exit 1
    ;;
esac
