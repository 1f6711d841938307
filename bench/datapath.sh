#!/usr/bin/env bash
# Data-path benchmark on the seed lab (needs root, run after scripts/build.sh):
#  - TCP throughput (iperf3, 4 s per run, 5 rounds, interleaved) vm -> internet through
#    the floating-IP path (vm2) and the SNAT path over VXLAN (vm1), each as a ratio to a
#    direct veth pair between two namespaces measured in the same round, and the median
#    ratio over the rounds (one round swings by a tenth on this shared machine); and the
#    hand-built reference floating-IP path (bench/reference_fip_path.sh, the design's
#    prototype) in the same rounds, so dvr's path is also compared with it;
#  - the time from a floating IP's association (the topology change the agents follow)
#    to its first packet leaving compute01's uplink, over 5 associations.
# Removes everything it made when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
dvr=./build/dvr
seed=examples/seed.yaml
secs=${DVR_BENCH_SECONDS:-4}
rounds=${DVR_BENCH_ROUNDS:-5}
cleanup() {
  $dvr lab down
  for ns in dvrbench-a dvrbench-b; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true  # the iperf3 server
    ip netns del "$ns" 2>/dev/null || true
  done
  bash bench/reference_fip_path.sh down
  rm -f /tmp/dvrbench-*.yaml
}
trap cleanup EXIT
cleanup
$dvr lab up "$seed" >/dev/null

# The limit of this machine: a veth pair between two namespaces, nothing else.
ip netns add dvrbench-a
ip netns add dvrbench-b
ip link add veth-a netns dvrbench-a type veth peer name veth-b netns dvrbench-b
ip -n dvrbench-a addr add 10.254.0.1/30 dev veth-a
ip -n dvrbench-b addr add 10.254.0.2/30 dev veth-b
ip -n dvrbench-a link set veth-a up
ip -n dvrbench-b link set veth-b up
ip netns exec dvrbench-b iperf3 -s -D -p 5201
bash bench/reference_fip_path.sh up >/dev/null
ip netns exec dvrref-inet iperf3 -s -D -p 5201
$dvr lab exec internet -- iperf3 -s -D -p 5201
sleep 0.5

gbps() { python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'; }
echo "TCP throughput, Gbit/s (iperf3 -t $secs), ratio to the veth pair of the same round"
ratios=()
for round in $(seq "$rounds"); do
  veth=$(ip netns exec dvrbench-a iperf3 -J -t "$secs" -c 10.254.0.2 | gbps)
  fip=$($dvr lab exec vm2 -- iperf3 -J -t "$secs" -c 8.8.8.8 | gbps)
  snat=$($dvr lab exec vm1 -- iperf3 -J -t "$secs" -c 8.8.8.8 | gbps)
  ref=$(ip netns exec dvrref-vm iperf3 -J -t "$secs" -c 8.8.8.8 | gbps)
  ratios+=("$veth $fip $snat $ref")
  python3 - "$round" "$veth" "$fip" "$snat" "$ref" <<'PY'
import sys
r, veth, fip, snat, ref = sys.argv[1], *map(float, sys.argv[2:])
print(f"  round {r}: veth {veth:.2f}  FIP path {fip:.2f} ({fip/veth:.2f} of veth)  SNAT path {snat:.2f} ({snat/veth:.2f} of veth)  reference FIP path {ref:.2f} ({ref/veth:.2f} of veth)")
PY
done
printf '%s\n' "${ratios[@]}" | python3 -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
fip = statistics.median(f / v for v, f, s, r in rows)
snat = statistics.median(s / v for v, f, s, r in rows)
ref = statistics.median(r / v for v, f, s, r in rows)
vs_ref = statistics.median(f / r for v, f, s, r in rows)
print(f"  median over {len(rows)} rounds: FIP path {fip:.2f} of veth, SNAT path {snat:.2f} of veth,"
      f" reference FIP path {ref:.2f} of veth; dvr FIP path {vs_ref:.2f} of the reference")'

echo "Floating IP association -> first packet through it (5 runs)"
with_fip=/tmp/dvrbench-fip.yaml
sed 's/^floating_ips:$/floating_ips:\n  - {network: ext-net, address: 192.168.74.150, vm: vm1}/' "$seed" > "$with_fip"
source bench/first_packet.sh
measure_first_packet '$dvr lab apply "$with_fip"' '$dvr lab apply "$seed"'
