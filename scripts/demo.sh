#!/usr/bin/env bash
# The README's main command: the seed's cloud as a lab on this machine (hosts are
# namespaces), both North-South paths carrying real traffic, the captures that show the
# seed's MAC/IP rewrites, the seed's listings inside compute01, and dvr's own trace.
# Needs root. Removes the lab when it ends, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
dvr=./build/dvr
seed=examples/seed.yaml
fip_ns=fip-5a1e2b3c-4d5e-4f60-8a71-92b3c4d5e6f7
qr2_ns=qrouter-242fcb80-e9e1-410b-ba4e-7617d1c384ad

pictures=build/pictures
mkdir -p "$pictures"
$dvr validate "$seed"
$dvr lab down
trap '$dvr lab down' EXIT
$dvr lab up "$seed"

capture() {  # node iface seconds filter... -> runs tcpdump -e in the background
  local node=$1 iface=$2 secs=$3; shift 3
  $dvr lab exec "$node" -- timeout "$secs" tcpdump -lnnei "$iface" "$@" 2>/dev/null &
}

echo; echo "################ Case 1 (seed): vm1 (10.16.0.3) has no floating IP -> SNAT on controller01"
$dvr trace "$seed" --from vm1 --to 8.8.8.8 --svg "$pictures/case1.svg" --png "$pictures/case1.png"
echo; echo "--- for real: vm1 pings 8.8.8.8; the underlay (compute01's tunnel port: vm1's echo inside"
echo "    the VXLAN packet, from compute01's DVR MAC) and controller01's uplink:"
# The inner packet starts 16 bytes into the UDP datagram (8 UDP, 8 VXLAN): its IP protocol
# is at udp[16+14+9], its ICMP type at udp[16+14+20].
capture fabric u-compute01 3 -c 1 'udp port 4789 and udp[39] = 1 and udp[50] = 8'
capture controller01 eth1 3 -c 1 icmp
sleep 0.5
$dvr lab exec vm1 -- ping -c 1 -W 2 8.8.8.8
wait

echo; echo "################ Case 2 (seed): vm2 holds floating IP 192.168.74.104 -> out of compute01's fip-"
$dvr trace "$seed" --from vm2 --to 8.8.8.8 --svg "$pictures/case2.svg" --png "$pictures/case2.png"
echo; echo "--- for real: vm2 pings 8.8.8.8; compute01's uplink, and the gateway's neighbour table:"
capture compute01 eth1 3 -c 2 icmp
sleep 0.5
$dvr lab exec vm2 -- ping -c 1 -W 2 8.8.8.8
wait
$dvr lab exec gateway -- ip neigh show 192.168.74.104

echo; echo "################ Inside compute01 (the seed's listings), and its plan as a picture"
$dvr draw "$seed" --host compute01 --svg "$pictures/compute01.svg" --png "$pictures/compute01.png"
echo "\$ ip netns"; $dvr lab exec compute01 -- ip netns
echo "\$ ip netns exec $fip_ns ip addr"; $dvr lab exec compute01 -- ip netns exec $fip_ns ip addr
echo "\$ ip netns exec $qr2_ns ip addr"; $dvr lab exec compute01 -- ip netns exec $qr2_ns ip addr
echo; echo "################ A second reconcile of compute01 changes nothing"
$dvr lab exec compute01 -- $dvr agent --once --host compute01 --topology /run/dvr-lab.d/topology.yaml 2>/dev/null
