#!/usr/bin/env bash
# Stand-in for kubectl in tests/apply_script.rs, installed first on PATH as `kubectl`.
#   FAKE_KUBECTL_LOG       file that gets one line per call: the arguments joined by spaces
#   FAKE_KUBECTL_EXISTING  what `get networkpolicies` prints: namespace/name lines
#   FAKE_KUBECTL_FAIL_ON   if set, every call whose argument line contains it fails (exit 1)
set -euo pipefail

call="$*"
printf '%s\n' "$call" >>"$FAKE_KUBECTL_LOG"

if [[ -n ${FAKE_KUBECTL_FAIL_ON:-} && $call == *"$FAKE_KUBECTL_FAIL_ON"* ]]; then
  echo "error: fake kubectl told to fail: $call" >&2
  exit 1
fi

if [[ " $call " == *" get networkpolicies "* ]]; then
  printf '%s' "${FAKE_KUBECTL_EXISTING:-}"
fi
