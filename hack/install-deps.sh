#!/usr/bin/env bash
# Installs the Debian packages barelb's tests, benchmarks and demo use, once.
# A stamp keyed by the package list makes a second run instant; a changed
# list installs again. Fails loudly: a missing package is a setup error.
set -euo pipefail

# containerd and runc: the real-node lab's container runtime (each node runs
# its own containerd on its own socket; the lab never uses a system one).
pkgs=(iproute2 iputils-ping nftables frr curl procps arping ndisc6 tcpdump conntrack kmod containerd runc)
stamp_dir="${HOME}/.cache/barelb"
stamp="${stamp_dir}/apt-$(printf '%s\n' "${pkgs[@]}" | sha256sum | cut -c1-16)"

if [ -f "$stamp" ]; then
  exit 0
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# FRR is used as a test peer started by the tests themselves, never as a
# system service that would listen on the host's interfaces.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled frr >/dev/null 2>&1; then
  systemctl disable --now frr >/dev/null 2>&1 || true
fi
pkill -x watchfrr 2>/dev/null || true
mkdir -p "$stamp_dir"
touch "$stamp"
