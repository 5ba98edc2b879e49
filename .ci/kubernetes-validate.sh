#!/usr/bin/env bash
# Validates every emitted YAML file against the Kubernetes OpenAPI schemas with
# `kubernetes-validate --strict` (unknown fields refused): for the newest Kubernetes the tool
# knows, and for 1.20, the API server the rollout tests run.
#
# No release of kubernetes-validate covers both: each ships the schemas of the Kubernetes
# versions of its time (1.37.0: 1.25 to 1.37; 1.27.1: 1.11 to 1.27), so each version gets a
# venv of its own, cached outside the clone (ZT_VALIDATE_CACHE, default
# /var/cache/zero-trust) and reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${ZT_VALIDATE_CACHE:-/var/cache/zero-trust}
mapfile -t files < <(find k8s examples/two-clusters/k8s -name '*.yaml' | sort)
if [ "${#files[@]}" -eq 0 ]; then
    echo "no emitted YAML found under k8s/ or examples/two-clusters/k8s/" >&2
    exit 1
fi

# release of kubernetes-validate, Kubernetes version to validate against
for pair in "1.37.0 1.37.0" "1.27.1 1.20.0"; do
    read -r release kubernetes <<<"$pair"
    venv="$cache/kubernetes-validate-$release"
    if [ ! -x "$venv/bin/kubernetes-validate" ]; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$release"
    fi
    # It prints a line per resource; the failures are shown whole, the passes counted.
    status=0
    report=$("$venv/bin/kubernetes-validate" --strict -k "$kubernetes" "${files[@]}" 2>&1) || status=$?
    grep -v '^INFO .* passed for resource ' <<<"$report" || true
    passed=$(grep -c '^INFO .* passed for resource ' <<<"$report" || true)
    echo "kubernetes-validate $release --strict, Kubernetes $kubernetes: $passed resources in ${#files[@]} files passed"
    [ "$status" -eq 0 ] || exit "$status"
done
