#!/usr/bin/env bash
# Stand-in for kubectl in tests/tests/it/drift.rs. Each test copies it into a fresh folder,
# next to the recorded output it answers with:
#   networkpolicies.json  printed for `get networkpolicies ...`
#   workloads.json        printed for any other `get` (namespaces, pods, deployments, ...)
#   unreachable           if present, every call fails as kubectl does when the cluster
#                         does not answer
# Each call's arguments are appended to calls.log, one line per call.
set -euo pipefail
here=$(dirname "$0")
printf '%s\n' "$*" >>"$here/calls.log"
if [[ -e $here/unreachable ]]; then
  echo 'The connection to the server 10.0.0.1:6443 was refused - did you specify the right host or port?' >&2
  exit 1
fi
case " $* " in
  *" get networkpolicies "*) cat "$here/networkpolicies.json" ;;
  *) cat "$here/workloads.json" ;;
esac
