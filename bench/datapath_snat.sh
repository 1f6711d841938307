#!/usr/bin/env bash
# SNAT path benchmark, compute-host side, on the seed lab (needs root, run after the
# build): TCP throughput (iperf3, DVR_BENCH_SECONDS s a run, DVR_BENCH_ROUNDS rounds, the
# runs of a round rotating) vm1 (subnet-a, compute01, no floating IP) -> the internet
# (8.8.8.8) through router1's snat- on controller01, with the eBPF fast path (dvr_snat_out
# on compute01: qrouter- and the bridge skipped, straight to vxlan-1001) and without it,
# in the same rounds, each as a ratio to a veth pair between two namespaces (at 1500, and
# at the VMs' MTU) measured in that round; the medians over the rounds; and the minimum
# ping RTT of both. compute01's agent is stopped (the data path stays) and `dvr agent
# --once --datapath fast|namespaces` switches it before each run. The network node's side
# (snat-) is the same in both. Removes everything it made when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
dvr=./build/dvr
secs=${DVR_BENCH_SECONDS:-3}
rounds=${DVR_BENCH_ROUNDS:-6}
cleanup() {
  $dvr lab down
  for ns in dvrbench-a dvrbench-b; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true  # the iperf3 servers
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -f /tmp/dvrbench-snat-datapath
}
trap cleanup EXIT
cleanup
$dvr lab up examples/seed.yaml >/dev/null

vm_mtu=$($dvr lab exec vm1 -- ip -o link show eth0 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
ip netns add dvrbench-a
ip netns add dvrbench-b
ip link add veth-a netns dvrbench-a type veth peer name veth-b netns dvrbench-b
ip link add veth-c mtu "$vm_mtu" netns dvrbench-a type veth peer name veth-d mtu "$vm_mtu" netns dvrbench-b
ip -n dvrbench-a addr add 10.254.0.1/30 dev veth-a
ip -n dvrbench-b addr add 10.254.0.2/30 dev veth-b
ip -n dvrbench-a addr add 10.254.1.1/30 dev veth-c
ip -n dvrbench-b addr add 10.254.1.2/30 dev veth-d
for d in veth-a veth-c; do ip -n dvrbench-a link set "$d" up; done
for d in veth-b veth-d; do ip -n dvrbench-b link set "$d" up; done
ip netns exec dvrbench-b iperf3 -s -D -p 5201
$dvr lab exec internet -- iperf3 -s -D -p 5201
sleep 0.5

dvr_abs=$(realpath "$dvr")
agent=$(cat /run/dvr-lab.d/compute01.pid)
kill "$agent"
while kill -0 "$agent" 2>/dev/null; do sleep 0.1; done
echo namespaces >/tmp/dvrbench-snat-datapath
use() {
  [ "$(cat /tmp/dvrbench-snat-datapath)" = "$1" ] && return 0
  $dvr lab exec compute01 -- "$dvr_abs" agent --once --host compute01 \
    --topology /run/dvr-lab.d/topology.yaml --datapath "$1" >/dev/null 2>&1
  echo "$1" >/tmp/dvrbench-snat-datapath
}
$dvr lab exec vm1 -- ping -c 2 -W 1 8.8.8.8 >/dev/null

gbps() { python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'; }
paths=(veth veth_mtu snat snat_fast)
run() {
  case $1 in
    veth) ip netns exec dvrbench-a iperf3 -J -t "$secs" -c 10.254.0.2 ;;
    veth_mtu) ip netns exec dvrbench-a iperf3 -J -t "$secs" -c 10.254.1.2 ;;
    snat) use namespaces && $dvr lab exec vm1 -- iperf3 -J -t "$secs" -c 8.8.8.8 ;;
    snat_fast) use fast && $dvr lab exec vm1 -- iperf3 -J -t "$secs" -c 8.8.8.8 ;;
  esac | gbps
}
echo "SNAT path (vm1 -> 8.8.8.8 via controller01) TCP throughput, Gbit/s (iperf3 -t $secs), ratio to the veth pair of the same round"
rows=()
for round in $(seq "$rounds"); do
  declare -A got=()
  for i in "${!paths[@]}"; do
    path=${paths[(i + round - 1) % ${#paths[@]}]}
    got[$path]=$(run "$path")
  done
  row="${got[veth]} ${got[veth_mtu]} ${got[snat]} ${got[snat_fast]}"
  rows+=("$row")
  python3 - "$round" $row <<'PY'
import sys
r, (v, vm, s, sf) = sys.argv[1], map(float, sys.argv[2:])
print(f"  round {r}: veth {v:.2f} (at the VM MTU {vm:.2f})"
      f"  SNAT path {s:.2f} ({s/v:.2f}) fast {sf:.2f} ({sf/v:.2f}, {sf/s:.2f}x)")
PY
done
printf '%s\n' "${rows[@]}" | python3 -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
med = lambda f: statistics.median(f(*r) for r in rows)
print(f"  median over {len(rows)} rounds, of veth (of veth at the VM MTU):")
print(f"    SNAT path: fast {med(lambda v, m, s, sf: sf / v):.2f} ({med(lambda v, m, s, sf: sf / m):.2f}),"
      f" namespaces {med(lambda v, m, s, sf: s / v):.2f} ({med(lambda v, m, s, sf: s / m):.2f}),"
      f" {med(lambda v, m, s, sf: sf / s):.2f}x (target >= 0.65 of veth)")'
echo "Minimum ping RTT (100 x -i 0.01), ms"
for mode in namespaces fast; do
  use "$mode"
  rtt=$($dvr lab exec vm1 -- ping -q -c 100 -i 0.01 8.8.8.8 | sed -n 's/.*= \([0-9.]*\)\/\([0-9.]*\)\/.*/min \1 avg \2/p')
  echo "  $mode vm1 -> 8.8.8.8: $rtt"
done
echo "  veth: $(ip netns exec dvrbench-a ping -q -c 100 -i 0.01 10.254.0.2 | sed -n 's/.*= \([0-9.]*\)\/\([0-9.]*\)\/.*/min \1 avg \2/p')"
echo "  dvr_snat_out on compute01: $($dvr lab exec compute01 -- "$dvr_abs" fastpath | grep dvr_snat_out: || true)"
