#!/usr/bin/env bash
# Installs what dvr needs to build, test and run its lab on Debian 12. Idempotent.
set -euo pipefail
packages=(
  build-essential cmake pkg-config clang-format
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libgoogle-perftools-dev
  libcpp-httplib-dev libboost-dev libsqlitecpp-dev libsqlite3-dev libpq-dev postgresql curl
  libgtest-dev libgmock-dev googletest libbenchmark-dev libgraphviz-dev graphviz libspdlog-dev
  iproute2 nftables libnl-3-dev libnl-route-3-dev libnftables-dev libnetfilter-conntrack-dev
  tcpdump iperf3 conntrack iputils-ping python3
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
