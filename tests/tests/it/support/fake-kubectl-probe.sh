#!/usr/bin/env bash
# Stand-in for kubectl, nc and nslookup in tests/tests/it/verify_script.rs, installed first on PATH
# under all three names; it acts by the name it is called with.
#   FAKE_KUBECTL_LOG      file that gets one line per kubectl call: the arguments joined by
#                         spaces, a multi-line argument (the probe script) written as SCRIPT
#   FAKE_KUBECTL_FAIL_ON  if set, every kubectl call whose line contains it fails (exit 1)
#   FAKE_PODS             the running pods, one per line: namespace name ip selector, the
#                         selector as verify.sh passes it to `kubectl -l`
#   FAKE_VERDICTS         what each probe observes, one per line: source address
#                         port/protocol verdict, the source as namespace/pod and the
#                         verdict open, refused, timeout or (TCP) unreachable
# kubectl answers `get pods` from FAKE_PODS, creates the probe pod as
# zero-trust-probe-fake (its manifest saved to FAKE_KUBECTL_LOG.created), and runs the
# command of `debug` and `exec` here, with FAKE_PROBE_SOURCE set to the pod it names, so
# the real probe script meets this nc and nslookup, which answer from FAKE_VERDICTS.
set -euo pipefail

verdict() {
  local source address port seen
  while read -r source address port seen; do
    if [[ $source == "$FAKE_PROBE_SOURCE" && $address == "$1" && $port == "$2" ]]; then
      printf '%s' "$seen"
      return 0
    fi
  done <"$FAKE_VERDICTS"
  printf 'unknown'
}

case ${0##*/} in
  nc)
    # nc -w SECONDS ADDRESS PORT, answering as busybox nc does
    case $(verdict "$3" "$4/tcp") in
      open) exit 0 ;;
      refused)
        echo "nc: can't connect to remote host ($3): Connection refused" >&2
        exit 1
        ;;
      timeout)
        echo "nc: timed out" >&2
        exit 1
        ;;
      unreachable)
        echo "nc: can't connect to remote host ($3): No route to host" >&2
        exit 1
        ;;
      *)
        echo "fake nc: no verdict for $FAKE_PROBE_SOURCE -> $3:$4/tcp" >&2
        exit 1
        ;;
    esac
    ;;
  nslookup)
    # nslookup NAME SERVER
    case $(verdict "$2" 53/udp) in
      open) printf 'Server:\t%s\nName:\tkubernetes.default.svc.cluster.local\nAddress: 10.96.0.1\n' "$2" ;;
      # The server answered, if not with an address: the query got through.
      refused)
        echo "** server can't find $1: NXDOMAIN"
        exit 1
        ;;
      timeout)
        echo ";; connection timed out; no servers could be reached"
        exit 1
        ;;
      *)
        echo "fake nslookup: no verdict for $FAKE_PROBE_SOURCE -> $2:53/udp" >&2
        exit 1
        ;;
    esac
    ;;
  *)
    logged=()
    for arg in "$@"; do
      if [[ $arg == *$'\n'* ]]; then
        logged+=(SCRIPT)
      else
        logged+=("$arg")
      fi
    done
    call="${logged[*]}"
    printf '%s\n' "$call" >>"$FAKE_KUBECTL_LOG"
    if [[ -n ${FAKE_KUBECTL_FAIL_ON:-} && $call == *"$FAKE_KUBECTL_FAIL_ON"* ]]; then
      echo "error: fake kubectl told to fail: $call" >&2
      exit 1
    fi

    args=("$@")
    if [[ ${args[0]-} == --context ]]; then
      args=("${args[@]:2}")
    fi
    namespace="" selector="" command_at=0
    positional=()
    for ((i = 1; i < ${#args[@]}; i++)); do
      case ${args[i]} in
        -n) namespace=${args[i + 1]} && i=$((i + 1)) ;;
        -l) selector=${args[i + 1]} && i=$((i + 1)) ;;
        -o | -f) i=$((i + 1)) ;;
        --)
          command_at=$((i + 1))
          break
          ;;
        -*) ;;
        *) positional+=("${args[i]}") ;;
      esac
    done
    case ${args[0]-} in
      get)
        while read -r pod_namespace name ip labels; do
          if [[ $pod_namespace == "$namespace" && (-z $selector || $labels == "$selector") ]]; then
            printf '%s %s \n' "$name" "$ip"
          fi
        done <"$FAKE_PODS"
        ;;
      create)
        cat >"$FAKE_KUBECTL_LOG.created"
        echo "pod/zero-trust-probe-fake"
        ;;
      wait | delete) ;;
      debug | exec)
        FAKE_PROBE_SOURCE="$namespace/${positional[0]}"
        export FAKE_PROBE_SOURCE
        exec "${args[@]:command_at}"
        ;;
      *)
        echo "fake kubectl: unexpected call: $call" >&2
        exit 1
        ;;
    esac
    ;;
esac
