#!/usr/bin/env bash
# Installs the Debian packages Overlay's tests, benchmarks and demo need, and what the NativeAOT publish of
# overlayd needs (clang links the native binary, zlib1g-dev for the runtime's compression), and zsh for the check of
# overlayctl's zsh completion script, conntrack (the oracle of the conntrack-deletion tests), and for cluster DNS:
# dnsmasq-base (the dnsmasq binary without its system service: the tests' upstream resolver and the benchmark's
# comparison), bind9-dnsutils (dig, the independent client) and dnsperf (the DNS benchmark's load generator), and for
# the tests under a real systemd: debootstrap (builds the container's Debian root once) and systemd-container
# (systemd-nspawn boots it), for the Debian package (scripts/package-deb.sh): dpkg-dev (dpkg-shlibdeps finds the
# native binaries' library dependencies) and init-system-helpers (deb-systemd-helper, which its postinst runs), and
# curl (the demo's --keep suggests it for each overlayd's /readyz and /metrics, and its test runs those commands).
# Idempotent and quiet when everything is already present. Needs root (apt-get).
set -euo pipefail
need=(etcd-server etcd-client iproute2 nftables iputils-ping containernetworking-plugins iperf3 openssl procps
  clang zlib1g-dev zsh conntrack dnsmasq-base bind9-dnsutils dnsperf
  debootstrap systemd-container dpkg-dev init-system-helpers curl)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's etcd-server package may start a system etcd on 2379; the tests start their own on free ports,
# so a system one is harmless, but stop it when systemd manages it to keep the machine quiet.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
  systemctl stop etcd || true
fi
