#!/usr/bin/env bash
# SNAT HA failover benchmark (needs root and keepalived, after scripts/build.sh), on the
# lab of examples/ha.yaml (router1 HA on controller01 and controller02, vm1 without a
# floating IP). Each round, while vm1 pings 8.8.8.8 every 10 ms and runs a 6 s TCP
# transfer (iperf3) to it:
#  - the active snat host is cut off (its underlay and uplink set down, as a host that
#    loses power looks to its peers), and brought back 4 s later;
#  - failover time: the longest gap between two answered pings around the cut; lost:
#    pings without an answer; tcp: whether the transfer completed.
# Then the floating-IP move: ROUNDS times, vm2's floating IP of the seed's lab goes to
# vm4 on another host and back, and the time from `dvr lab apply` returning to the
# first answered ping from outside is measured (pings every 10 ms).
# Usage: bench/ha_failover.sh [ROUNDS] [failover|moves]   (default 10, both). Removes the
# lab when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
dvr=$PWD/build/dvr
rounds=${1:-10}
work=$(mktemp -d /tmp/dvr-ha-bench.XXXXXX)
trap '$dvr lab down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
lab() { $dvr lab exec "$@"; }

# Longest gap between answers, and how many were lost, from `ping -D` output.
gaps() {
  python3 - "$1" "$2" <<'PY'
import re, sys
text, sent = open(sys.argv[1]).read(), int(sys.argv[2])
times = [float(t) for t in re.findall(r"^\[(\d+\.\d+)\] \d+ bytes from", text, re.M)]
gap = max((b - a for a, b in zip(times, times[1:])), default=float("nan"))
print(f"{gap * 1000:.0f} {sent - len(times)}")
PY
}

active() {
  for h in controller01 controller02; do
    if lab $h -- sh -c 'ip netns exec $(ip netns | grep ^snat- | cut -d" " -f1) ip -o -4 addr' |
      grep -q ' qg-'; then echo $h; fi
  done
}

part=${2:-both}
$dvr lab down >/dev/null 2>&1 || true
if [ "$part" != moves ]; then
  $dvr lab up examples/ha.yaml >/dev/null
  printf '%-5s %-12s %12s %6s %12s %6s %5s\n' round cut failover_ms lost return_ms lost tcp
  for i in $(seq 1 "$rounds"); do
    a=""
    for _ in $(seq 50); do a=$(active); [ "$(echo "$a" | wc -w)" = 1 ] && break; sleep 0.2; done
    lab internet -- iperf3 -s -1 >/dev/null 2>&1 &
    srv=$!
    # The client must not race the server's listen (refused: no transfer, and a server
    # waiting for ever).
    for _ in $(seq 50); do lab internet -- ss -ltnH 'sport = :5201' | grep -q . && break; sleep 0.1; done
    lab vm1 -- iperf3 -c 8.8.8.8 -t 6 -b 50M >"$work/tcp" 2>&1 &
    tcp=$!
    lab vm1 -- ping -D -i 0.01 -c 300 -W 1 8.8.8.8 >"$work/down" 2>&1 &
    p=$!
    sleep 1.5
    lab "$a" -- sh -c 'ip link set eth0 down; ip link set eth1 down'
    wait $p || true
    wait $tcp || true
    kill "$srv" 2>/dev/null || true  # gone after its one transfer, unless there was none
    wait $srv || true
    lab vm1 -- ping -D -i 0.01 -c 300 -W 1 8.8.8.8 >"$work/up" 2>&1 &
    p=$!
    sleep 1
    lab "$a" -- sh -c 'ip link set eth0 up; ip link set eth1 up'
    wait $p || true
    read -r fo lost_fo < <(gaps "$work/down" 300)
    read -r back lost_back < <(gaps "$work/up" 300)
    ok=no; grep -q "iperf Done" "$work/tcp" && ok=yes
    printf '%-5s %-12s %12s %6s %12s %6s %5s\n' "$i" "$a" "$fo" "$lost_fo" "$back" "$lost_back" "$ok"
    sleep 1
  done
  $dvr lab down >/dev/null
fi

[ "$part" = failover ] && exit 0
$dvr lab up examples/seed.yaml >/dev/null
moved=$work/moved.yaml
sed -e 's/address: 192.168.74.104, vm: vm2/address: 192.168.74.104, vm: vm4/' \
  -e '/address: 192.168.74.102, vm: vm3/d' examples/seed.yaml >"$moved"
echo
printf '%-5s %-22s %18s\n' round move first_answer_ms
for i in $(seq 1 "$rounds"); do
  for to in "$moved" examples/seed.yaml; do
    lab internet -- ping -D -i 0.01 -c 500 -W 1 192.168.74.104 >"$work/fip" 2>&1 &
    p=$!
    sleep 0.5
    t0=$(date +%s.%N)
    $dvr lab apply "$to" >/dev/null
    t1=$(date +%s.%N)
    wait $p || true
    ms=$(python3 - "$work/fip" "$t1" <<'PY'
import re, sys
t1 = float(sys.argv[2])
lines = open(sys.argv[1]).read().splitlines()
seqs = {}
for l in lines:
    m = re.match(r"^\[(\d+\.\d+)\] \d+ bytes from .* icmp_seq=(\d+)", l)
    if m: seqs[int(m.group(2))] = float(m.group(1))
# Answers after the apply returned whose request left after it: the first one
after = sorted(t for t in seqs.values() if t > t1)
print(f"{(after[0] - t1) * 1000:.0f}" if after else "none")
PY
)
    name=$([ "$to" = "$moved" ] && echo "compute01->compute02" || echo "compute02->compute01")
    printf '%-5s %-22s %18s\n' "$i" "$name" "$ms"
  done
done
