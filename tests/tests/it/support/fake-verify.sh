#!/usr/bin/env bash
# Stand-in for k8s/verify.sh in tests/tests/it/apply_script.rs: logs its call to the same file as
# the stand-in kubectl, so the tests see the order of both.
#   FAKE_KUBECTL_LOG      file that gets the line `verify.sh ARGS`
#   FAKE_KUBECTL_FAIL_ON  if set and that line contains it, prints a FAIL line and exits 1
set -euo pipefail

call="verify.sh $*"
printf '%s\n' "$call" >>"$FAKE_KUBECTL_LOG"

if [[ -n ${FAKE_KUBECTL_FAIL_ON:-} && $call == *"$FAKE_KUBECTL_FAIL_ON"* ]]; then
  echo "FAIL a -> b:80/tcp expected closed, observed open (not declared)"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed"
