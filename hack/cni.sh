#!/usr/bin/env bash
# Builds the CNI plugins the real-node lab's containerd calls (ptp,
# host-local, loopback, portmap) from the module pinned in hack/cni and
# caches them under ~/.cache/barelb/cni/<key>, where key hashes that
# module's go.mod/go.sum and the Go version: separate from hack/tools.sh's
# key, so neither rebuilds the other's binaries.
#
#   hack/cni.sh      print the plugin directory (containerd's cni bin_dir),
#                    building what is missing
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mod="$root/hack/cni"
key="$( (cat "$mod/go.mod" "$mod/go.sum"; go version) | sha256sum | cut -c1-16)"
bin="${BARELB_CNI_DIR:-$HOME/.cache/barelb/cni/$key}"
mkdir -p "$bin"
for p in plugins/main/ptp plugins/ipam/host-local plugins/main/loopback plugins/meta/portmap; do
  name="$(basename "$p")"
  [ -x "$bin/$name" ] && continue
  echo "cni: building $name (first run only; cached in $bin)" >&2
  (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$bin/$name.tmp" "github.com/containernetworking/plugins/$p")
  mv "$bin/$name.tmp" "$bin/$name"
done
echo "$bin"
