#!/usr/bin/env bash
# Builds barelb's pinned tool binaries (kube-apiserver, etcd, kube-proxy,
# kube-controller-manager, kubectl, controller-gen, staticcheck) from the Go
# module proxy and caches them under ~/.cache/barelb/tools/<key>, where key
# hashes the tool modules' go.mod/go.sum and the Go version: a clean clone
# reuses the cache, a version bump rebuilds for real.
#
#   hack/tools.sh dir     print the bin directory (building what is missing)
#   hack/tools.sh NAME    print the path of one tool (building it if missing)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/hack/tools"
key="$( (cat "$tools"/*/go.mod "$tools"/*/go.sum; go version) | sha256sum | cut -c1-16)"
bin="${BARELB_TOOLS_DIR:-$HOME/.cache/barelb/tools/$key}"
mkdir -p "$bin"
kube_version="$(awk '$1=="require" && $2=="k8s.io/kubernetes" {print $3}' "$tools/kube/go.mod")"
minor="$(echo "$kube_version" | cut -d. -f2)"
kube_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${kube_version} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor} -X k8s.io/component-base/version.gitTreeState=clean"

build() { # name module-dir package [ldflags]
  local name="$1" dir="$2" pkg="$3" flags="${4:-}"
  [ -x "$bin/$name" ] && return 0
  echo "tools: building $name (first run only; cached in $bin)" >&2
  (cd "$tools/$dir" && GOFLAGS=-mod=mod go build -trimpath -ldflags "$flags" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
}

# kubelet and kube-scheduler need modules (k8s.io/cri-streaming, otelrestful)
# the tools module's go.sum does not list; building them against a scratch
# copy of go.mod/go.sum (-modfile) leaves the committed files, and so the
# cache key, as they are.
build_scratch() { # name module-dir package [ldflags]
  local name="$1" dir="$2" pkg="$3" flags="${4:-}" tmp
  [ -x "$bin/$name" ] && return 0
  echo "tools: building $name (first run only; cached in $bin)" >&2
  tmp="$(mktemp -d)"
  cp "$tools/$dir/go.mod" "$tools/$dir/go.sum" "$tmp/"
  (cd "$tools/$dir" && GOFLAGS=-mod=mod go build -modfile="$tmp/go.mod" -trimpath -ldflags "$flags" -o "$bin/$name.tmp" "$pkg") || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp"
  mv "$bin/$name.tmp" "$bin/$name"
}

one() {
  case "$1" in
    kube-apiserver) build kube-apiserver kube k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags" ;;
    kube-proxy) build kube-proxy kube k8s.io/kubernetes/cmd/kube-proxy "$kube_ldflags" ;;
    kube-controller-manager) build kube-controller-manager kube k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags" ;;
    kubectl) build kubectl kube k8s.io/kubernetes/cmd/kubectl "$kube_ldflags" ;;
    kubelet) build_scratch kubelet kube k8s.io/kubernetes/cmd/kubelet "$kube_ldflags" ;;
    kube-scheduler) build_scratch kube-scheduler kube k8s.io/kubernetes/cmd/kube-scheduler "$kube_ldflags" ;;
    etcd) build etcd etcd go.etcd.io/etcd/server/v3 "-s -w" ;;
    controller-gen) build controller-gen gen sigs.k8s.io/controller-tools/cmd/controller-gen ;;
    staticcheck) build staticcheck gen honnef.co/go/tools/cmd/staticcheck ;;
    *) echo "tools: unknown tool $1" >&2; exit 2 ;;
  esac
}

case "${1:-dir}" in
  dir)
    for t in etcd kube-apiserver kubectl kube-proxy kube-controller-manager controller-gen staticcheck; do one "$t"; done
    echo "$bin" ;;
  envtest)
    # Only what controller-runtime's envtest needs.
    for t in etcd kube-apiserver kubectl; do one "$t"; done
    echo "$bin" ;;
  *) one "$1"; echo "$bin/$1" ;;
esac
