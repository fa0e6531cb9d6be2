#!/usr/bin/env bash
# Builds barelb's pinned tool binaries from the Go module proxy and caches
# them. Each tool module under hack/tools/ (kube, etcd, gen, helm, prom)
# has a cache directory of its own, ~/.cache/barelb/tools/<module>-<key>,
# where key hashes that module's go.mod/go.sum and the Go version: a clean
# clone reuses the cache, bumping one module rebuilds only its binaries
# (adding helm never rebuilds kube-apiserver).
#
#   hack/tools.sh dir      print one directory of links to every tool
#   hack/tools.sh envtest  print one directory of links to etcd,
#                          kube-apiserver and kubectl (KUBEBUILDER_ASSETS)
#   hack/tools.sh NAME     print the path of one tool
# Each builds what is missing first. BARELB_TOOLS_DIR puts every binary in
# that one directory instead.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/hack/tools"
cache="$HOME/.cache/barelb/tools"
gover="$(go version)"

all_tools=(etcd kube-apiserver kubectl kube-proxy kube-controller-manager kubelet kube-scheduler controller-gen staticcheck helm promtool)
envtest_tools=(etcd kube-apiserver kubectl)

# module NAME: the tool module that builds NAME, its package, and "scratch"
# when the build needs modules the module's go.sum does not list (kubelet
# and kube-scheduler need k8s.io/cri-streaming and otelrestful): those
# build against a scratch copy of go.mod/go.sum (-modfile), which leaves
# the committed files, and so the cache key, as they are.
module() {
  case "$1" in
    kube-apiserver | kube-proxy | kube-controller-manager | kubectl) echo "kube k8s.io/kubernetes/cmd/$1" ;;
    kubelet | kube-scheduler) echo "kube k8s.io/kubernetes/cmd/$1 scratch" ;;
    etcd) echo "etcd go.etcd.io/etcd/server/v3" ;;
    controller-gen) echo "gen sigs.k8s.io/controller-tools/cmd/controller-gen" ;;
    staticcheck) echo "gen honnef.co/go/tools/cmd/staticcheck" ;;
    helm) echo "helm helm.sh/helm/v3/cmd/helm" ;;
    promtool) echo "prom github.com/prometheus/prometheus/cmd/promtool" ;;
    # Not in all_tools: only e2e's doctor test runs it (hack/tools/metallb).
    metallb-speaker) echo "metallb go.universe.tf/metallb/speaker" ;;
    *) echo "tools: unknown tool $1" >&2; exit 2 ;;
  esac
}

modkey() { (cat "$tools/$1/go.mod" "$tools/$1/go.sum"; echo "$gover") | sha256sum | cut -c1-16; }

moddir() { # module: its cache directory
  if [ -n "${BARELB_TOOLS_DIR:-}" ]; then echo "$BARELB_TOOLS_DIR"; else echo "$cache/$1-$(modkey "$1")"; fi
}

# The cache before per-module keys: one directory for kube, etcd and gen,
# keyed by all three go.mod/go.sum (in the glob order the old script used).
# Binaries found there are hard-linked, not rebuilt.
legacydir() {
  echo "$cache/$( (cat "$tools"/{etcd,gen,kube}/go.mod "$tools"/{etcd,gen,kube}/go.sum; echo "$gover") | sha256sum | cut -c1-16)"
}

ldflags() { # name module
  case "$2" in
    kube)
      local v minor
      v="$(awk '$1=="require" && $2=="k8s.io/kubernetes" {print $3}' "$tools/kube/go.mod")"
      minor="$(echo "$v" | cut -d. -f2)"
      echo "-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" ;;
    helm)
      # As Helm's Makefile: the version, and the Kubernetes minor of its
      # client-go as the default capabilities (else helm template assumes 1.20).
      local v minor
      v="$(awk '$1=="require" && $2=="helm.sh/helm/v3" {print $3}' "$tools/helm/go.mod")"
      minor="$(awk '$1=="k8s.io/client-go" {print $2}' "$tools/helm/go.mod" | cut -d. -f2)"
      echo "-s -w -X helm.sh/helm/v3/internal/version.version=$v -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor" ;;
    prom)
      local v
      v="$(awk '$1=="require" && $2=="github.com/prometheus/prometheus" {print $3}' "$tools/prom/go.mod")"
      echo "-s -w -X github.com/prometheus/common/version.Version=$v" ;;
    *) echo "-s -w" ;;
  esac
}

# one NAME: print the path of NAME, building (or linking from the legacy
# cache) if missing. A lock per binary keeps parallel callers (go test
# runs packages at once) from building the same binary twice.
one() {
  local name="$1" mod pkg scratch dir
  read -r mod pkg scratch < <(module "$name")
  dir="$(moddir "$mod")"
  if [ ! -x "$dir/$name" ]; then
    mkdir -p "$dir"
    exec {lock}>"$dir/.$name.lock"
    flock "$lock"
    if [ ! -x "$dir/$name" ]; then
      local old
      old="$(legacydir)/$name"
      if [ -z "${BARELB_TOOLS_DIR:-}" ] && [[ "$mod" =~ ^(kube|etcd|gen)$ ]] && [ -x "$old" ]; then
        ln "$old" "$dir/$name" 2>/dev/null || cp "$old" "$dir/$name"
      else
        echo "tools: building $name (first run only; cached in $dir)" >&2
        # promtool checks and tests rules; it needs none of the cloud
        # service discoveries, whose SDKs are most of its build time.
        local tags=""
        [ "$mod" = prom ] && tags=remove_all_sd
        local modfile=() tmp=""
        if [ -n "$scratch" ]; then
          tmp="$(mktemp -d)"
          cp "$tools/$mod/go.mod" "$tools/$mod/go.sum" "$tmp/"
          modfile=(-modfile="$tmp/go.mod")
        fi
        (cd "$tools/$mod" && GOFLAGS=-mod=mod go build "${modfile[@]}" -trimpath -tags "$tags" -ldflags "$(ldflags "$name" "$mod")" -o "$dir/$name.tmp" "$pkg") || { [ -z "$tmp" ] || rm -rf "$tmp"; exit 1; }
        [ -z "$tmp" ] || rm -rf "$tmp"
        mv "$dir/$name.tmp" "$dir/$name"
      fi
    fi
    exec {lock}>&-
  fi
  echo "$dir/$name"
}

# links SET NAME...: a directory holding a link to each named tool, for
# consumers that want one directory (KUBEBUILDER_ASSETS, the e2e lab).
links() {
  local set="$1" paths=() p key dir
  shift
  for t in "$@"; do paths+=("$(one "$t")"); done
  if [ -n "${BARELB_TOOLS_DIR:-}" ]; then echo "$BARELB_TOOLS_DIR"; return; fi
  key="$(printf '%s\n' "${paths[@]}" | sha256sum | cut -c1-16)"
  dir="$cache/$set-$key"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir.tmp.$$"
    for p in "${paths[@]}"; do ln -sf "$p" "$dir.tmp.$$/$(basename "$p")"; done
    mv -T "$dir.tmp.$$" "$dir" 2>/dev/null || rm -rf "$dir.tmp.$$" # another caller made it first
  fi
  echo "$dir"
}

case "${1:-dir}" in
  dir) links bin "${all_tools[@]}" ;;
  envtest) links envtest "${envtest_tools[@]}" ;;
  *) one "$1" ;;
esac
