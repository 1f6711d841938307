#!/usr/bin/env bash
# Installs what dvr needs to build, test and run its lab on Debian 12. Idempotent.
set -euo pipefail
packages=(
  build-essential cmake pkg-config clang-format
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libgoogle-perftools-dev
  libcpp-httplib-dev libboost-dev libsqlitecpp-dev libsqlite3-dev libpq-dev postgresql curl libssl-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev libgraphviz-dev graphviz libspdlog-dev
  iproute2 nftables libnl-3-dev libnl-route-3-dev libnftables-dev libnetfilter-conntrack-dev
  clang libbpf-dev bpftool
  tcpdump iperf3 conntrack iputils-ping python3
  keepalived conntrackd
  dnsmasq-base isc-dhcp-client
)
# Tempest (Debian's `tempest`, OpenStack's own API tests) for scripts/tempest.sh: installed
# without recommends, as the client below.
no_recommends=(python3-openstackclient tempest)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The real OpenStack client, for the API tests (its recommends pull in a desktop keyring).
client_missing=()
for p in "${no_recommends[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || client_missing+=("$p")
done
if ((${#missing[@]})) || ((${#client_missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  if ((${#missing[@]})); then apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}"; fi
  if ((${#client_missing[@]})); then apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${client_missing[@]}"; fi
fi
# Debian's real Keystone, for the tests with authentication (scripts/start-keystone.sh runs
# it on loopback). Its postinst enables and starts keystone.service on port 5000 of every
# address: a policy-rc.d answering 101 forbids that start, and is removed again unless it
# was there before.
if ! dpkg-query -W -f='${Status}' keystone 2>/dev/null | grep -q "install ok installed"; then
  export DEBIAN_FRONTEND=noninteractive
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt-get update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q keystone || { ((own_policy)) && rm -f /usr/sbin/policy-rc.d; exit 1; }
  if ((own_policy)); then rm -f /usr/sbin/policy-rc.d; fi
fi
