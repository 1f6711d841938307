#!/usr/bin/env bash
# East-west benchmark on the seed lab with one more VM (needs root, run after the build):
# TCP throughput (iperf3, DVR_BENCH_SECONDS s a run, DVR_BENCH_ROUNDS rounds, the runs of
# a round rotating) between router1's subnets, vm1 (subnet-a, compute01) -> vm5 (subnet-b,
# compute01: one host) and vm1 -> vm4 (subnet-b, compute02: across hosts, VXLAN), with the
# eBPF fast path (dvr_ew_out) and without it, in the same rounds, each as a ratio to a
# veth pair between two namespaces (at 1500, and at the VMs' MTU) measured in that round;
# the medians over the rounds; and the minimum ping RTT of each path. compute01's agent is
# stopped (the data path stays) and `dvr agent --once --datapath fast|namespaces` switches
# it before each run. Removes everything it made when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
dvr=./build/dvr
secs=${DVR_BENCH_SECONDS:-3}
rounds=${DVR_BENCH_ROUNDS:-6}
topo=/tmp/dvrbench-ew.yaml
cleanup() {
  $dvr lab down
  for ns in dvrbench-a dvrbench-b; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true  # the iperf3 servers
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -f "$topo" /tmp/dvrbench-ew-datapath
}
trap cleanup EXIT
cleanup
sed 's/^  - {name: vm4, network: net-b, host: compute02, ip: 10.16.1.3}$/&\n  - {name: vm5, network: net-b, host: compute01, ip: 10.16.1.4}/' \
  examples/seed.yaml >"$topo"
grep -q vm5 "$topo" || { echo "the seed's vm4 line changed: no vm5 added" >&2; exit 1; }
$dvr lab up "$topo" >/dev/null

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
$dvr lab exec vm4 -- iperf3 -s -D -p 5201
$dvr lab exec vm5 -- iperf3 -s -D -p 5201
sleep 0.5

dvr_abs=$(realpath "$dvr")
agent=$(cat /run/dvr-lab.d/compute01.pid)
kill "$agent"
while kill -0 "$agent" 2>/dev/null; do sleep 0.1; done
echo namespaces >/tmp/dvrbench-ew-datapath
use() {
  [ "$(cat /tmp/dvrbench-ew-datapath)" = "$1" ] && return 0
  $dvr lab exec compute01 -- "$dvr_abs" agent --once --host compute01 \
    --topology /run/dvr-lab.d/topology.yaml --datapath "$1" >/dev/null 2>&1
  echo "$1" >/tmp/dvrbench-ew-datapath
}
for ip in 10.16.1.3 10.16.1.4; do $dvr lab exec vm1 -- ping -c 2 -W 1 "$ip" >/dev/null; done

gbps() { python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'; }
paths=(veth veth_mtu here here_fast across across_fast)
run() {
  case $1 in
    veth) ip netns exec dvrbench-a iperf3 -J -t "$secs" -c 10.254.0.2 ;;
    veth_mtu) ip netns exec dvrbench-a iperf3 -J -t "$secs" -c 10.254.1.2 ;;
    here) use namespaces && $dvr lab exec vm1 -- iperf3 -J -t "$secs" -c 10.16.1.4 ;;
    here_fast) use fast && $dvr lab exec vm1 -- iperf3 -J -t "$secs" -c 10.16.1.4 ;;
    across) use namespaces && $dvr lab exec vm1 -- iperf3 -J -t "$secs" -c 10.16.1.3 ;;
    across_fast) use fast && $dvr lab exec vm1 -- iperf3 -J -t "$secs" -c 10.16.1.3 ;;
  esac | gbps
}
echo "East-west TCP throughput, Gbit/s (iperf3 -t $secs), ratio to the veth pair of the same round"
rows=()
for round in $(seq "$rounds"); do
  declare -A got=()
  for i in "${!paths[@]}"; do
    path=${paths[(i + round - 1) % ${#paths[@]}]}
    got[$path]=$(run "$path")
  done
  row="${got[veth]} ${got[veth_mtu]} ${got[here]} ${got[here_fast]} ${got[across]} ${got[across_fast]}"
  rows+=("$row")
  python3 - "$round" $row <<'PY'
import sys
r, (v, vm, h, hf, a, af) = sys.argv[1], map(float, sys.argv[2:])
print(f"  round {r}: veth {v:.2f} (at the VM MTU {vm:.2f})"
      f"  one host {h:.2f} ({h/v:.2f}) fast {hf:.2f} ({hf/v:.2f}, {hf/h:.2f}x)"
      f"  across hosts {a:.2f} ({a/v:.2f}) fast {af:.2f} ({af/v:.2f}, {af/a:.2f}x)")
PY
done
printf '%s\n' "${rows[@]}" | python3 -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
med = lambda f: statistics.median(f(*r) for r in rows)
print(f"  median over {len(rows)} rounds, of veth (of veth at the VM MTU):")
print(f"    one host:     fast {med(lambda v, m, h, hf, a, af: hf / v):.2f} ({med(lambda v, m, h, hf, a, af: hf / m):.2f}),"
      f" namespaces {med(lambda v, m, h, hf, a, af: h / v):.2f}, {med(lambda v, m, h, hf, a, af: hf / h):.2f}x (target >= 0.85 of veth)")
print(f"    across hosts: fast {med(lambda v, m, h, hf, a, af: af / v):.2f} ({med(lambda v, m, h, hf, a, af: af / m):.2f}),"
      f" namespaces {med(lambda v, m, h, hf, a, af: a / v):.2f}, {med(lambda v, m, h, hf, a, af: af / a):.2f}x (target >= 0.70 of veth)")'
echo "Minimum ping RTT (100 x -i 0.01), ms"
for mode in namespaces fast; do
  use "$mode"
  for ip in 10.16.1.4 10.16.1.3; do
    rtt=$($dvr lab exec vm1 -- ping -q -c 100 -i 0.01 "$ip" | sed -n 's/.*= \([0-9.]*\)\/\([0-9.]*\)\/.*/min \1 avg \2/p')
    echo "  $mode vm1 -> $ip: $rtt"
  done
done
echo "  veth: $(ip netns exec dvrbench-a ping -q -c 100 -i 0.01 10.254.0.2 | sed -n 's/.*= \([0-9.]*\)\/\([0-9.]*\)\/.*/min \1 avg \2/p')"
echo "  dvr_ew_out on compute01: $($dvr lab exec compute01 -- "$dvr_abs" fastpath | grep dvr_ew_out: || true)"
