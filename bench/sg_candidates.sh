#!/usr/bin/env bash
# Security-group data path candidates, measured side by side (needs root, iperf3).
# Each candidate is a VM namespace on a host bridge and a router namespace on the same
# bridge, as a VM and its qr- port are on a dvr host; TCP throughput VM -> router (the
# VM's egress) and router -> VM (its ingress), as a ratio to the unfiltered bridge in the
# same round:
#   open     the bridge as dvr's lab has it: no IP netfilter hooks;
#   brnf     dvr's choice, the tables its plan renders (plan/port_filter.h): br_netfilter
#            on this bridge only (nf_call_iptables), bridge-family marks naming the
#            ports, a conntrack zone per network, per-port stateful chains jumping to a
#            group's chain of 20 rules in an inet table, bridge-family anti-spoofing;
#   hybrid   Neutron's iptables_hybrid shape: the VM's tap on a bridge of its own with the
#            same filter, joined to the network's bridge by one more veth pair;
#   brnf0    brnf as the plan rendered it before 2026-12-02 07:10 (sources in an interval
#            set, established connections accepted in each port's chain, not before its
#            lookup): what the changes since bought, side by side.
# This kernel has no bridge-family conntrack, so the bridge family alone cannot be
# stateful (`ct state` in a bridge table: "Protocol error"); those are the candidates left.
# Removes everything it made when it ends.
set -euo pipefail
secs=${DVR_BENCH_SECONDS:-3}
rounds=${DVR_BENCH_ROUNDS:-6}
# DVR_SG_ORDER: the order each round measures them in (its place in a round can matter).
cands=(${DVR_SG_ORDER:-open brnf hybrid brnf0})
P=dvrsgb
cleanup() {
  for c in "${cands[@]}"; do
    for n in vm h r; do
      ip netns pids $P-$c-$n 2>/dev/null | xargs -r kill 2>/dev/null || true
      ip netns del $P-$c-$n 2>/dev/null || true
    done
  done
}
trap cleanup EXIT
cleanup
[ -d /proc/sys/net/bridge ] || modprobe br_netfilter

# 20 rules the way the plan writes a group: tcp/udp port ranges, icmp, a prefix.
rules() {
  local dir=$1 i
  for i in $(seq 1 16); do echo "    tcp dport $((1000 + i * 10))-$((1005 + i * 10)) accept"; done
  echo "    udp dport 53 accept"
  echo "    icmp type echo-request accept"
  echo "    ip saddr 198.51.100.0/24 accept"
  echo "    tcp dport 5201 accept"
}

filter() {  # $1 namespace, $2 the VM's port (tap), $3 bridge: the tables dvr's plan renders
  local ns=$1 tap=$2 br=$3 old=${4:-}
  # The plan's (plan/nft_tables.cc), or with $4 the one before.
  local sources="flags interval;" nets="" fast_out="" fast_in=""
  if [ -z "$old" ]; then
    sources=""
    nets='set port_source_nets { type ifname . ether_addr . ipv4_addr; flags interval; }'
    fast_out="ct state established,related meta l4proto tcp accept"
    fast_in="ct state established,related accept"
  fi
  ip -n "$ns" link set "$br" type bridge nf_call_iptables 1
  ip netns exec "$ns" nft -f - <<NFT
table bridge dvr {
  set filtered_ports { type ifname; elements = { "$tap" } }
  set port_sources { type ifname . ether_addr . ipv4_addr; $sources elements = { "$tap" . 02:00:00:00:00:02 . 10.77.0.2 } }
  $nets
  map port_marks { type ifname : mark; elements = { "$tap" : 0x80000001, "tapqr" : 0x80000002, "qvo" : 0x80000003, "qvb" : 0x80000004 } }
  chain port_in {
    type filter hook prerouting priority -250; policy accept;
    meta mark set iifname map @port_marks
  }
  chain port_spoof {
    type filter hook prerouting priority -200; policy accept;
    iifname != @filtered_ports accept
    ether type ip iifname . ether saddr . ip saddr @port_sources accept
    ether type arp iifname . ether saddr . arp saddr ip @port_sources iifname . arp saddr ether . arp saddr ip @port_sources accept
$([ -z "$old" ] && echo '    ether type ip iifname . ether saddr . ip saddr @port_source_nets accept' || true)
    counter drop
  }
  chain port_out {
    type filter hook forward priority -300; policy accept;
    oifname @filtered_ports ether type ip6 drop
    meta mark set 0
    oifname @filtered_ports meta mark set oifname map @port_marks
  }
}
table inet dvr {
  map zones { typeof meta mark : ct zone; elements = { 0x80000001 : 1001, 0x80000002 : 1001, 0x80000003 : 1001, 0x80000004 : 1001 } }
  map egress_ports { type mark : verdict; elements = { 0x80000001 : jump out-vm } }
  map ingress_ports { type mark : verdict; elements = { 0x80000001 : jump in-vm } }
  chain zone {
    type filter hook prerouting priority raw; policy accept;
    ct zone set meta mark map @zones
  }
  chain egress {
    type filter hook prerouting priority filter; policy accept;
    $fast_out
    meta mark vmap @egress_ports
  }
  chain ingress {
    type filter hook forward priority filter; policy accept;
    $fast_in
    meta mark vmap @ingress_ports
  }
  chain out-vm {
    counter
    udp sport 67 udp dport 68 drop
    ct state established,related accept
    ct state invalid drop
    jump sg-out
    counter drop
  }
  chain in-vm {
    counter
    ct state established,related accept
    ct state invalid drop
    jump sg-in
    counter drop
  }
  chain sg-out {
$(rules egress)
  }
  chain sg-in {
$(rules ingress)
  }
}
NFT
}

build() {  # $1 candidate
  local c=$1 vm=$P-$1-vm h=$P-$1-h r=$P-$1-r
  for n in $vm $h $r; do ip netns add $n; ip -n $n link set lo up; done
  ip netns exec $h sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0
  ip -n $h link add br0 type bridge
  ip link add eth0 netns $vm address 02:00:00:00:00:02 type veth peer name tapvm netns $h
  ip link add qr netns $r type veth peer name tapqr netns $h
  if [ "$c" = hybrid ]; then
    ip -n $h link add qbr type bridge
    ip -n $h link add qvb type veth peer name qvo
    ip -n $h link set tapvm master qbr
    ip -n $h link set qvb master qbr
    ip -n $h link set qvo master br0
    for d in qbr qvb qvo; do ip -n $h link set $d up; done
  else
    ip -n $h link set tapvm master br0
  fi
  ip -n $h link set tapqr master br0
  for d in br0 tapvm tapqr; do ip -n $h link set $d up; done
  ip -n $vm addr add 10.77.0.2/24 dev eth0
  ip -n $vm link set eth0 up
  ip -n $r addr add 10.77.0.1/24 dev qr
  ip -n $r link set qr up
  case $c in
    brnf) filter $h tapvm br0 ;;
    brnf0) filter $h tapvm br0 old ;;
    hybrid) filter $h tapvm qbr ;;
  esac
  ip netns exec $r iperf3 -s -D -p 5201
  ip netns exec $vm iperf3 -s -D -p 5201
}
for c in "${cands[@]}"; do build $c; done
sleep 0.5
# The filter must work before it is measured: port 23 is not allowed in.
ip netns exec $P-brnf-r timeout 2 bash -c 'echo > /dev/tcp/10.77.0.2/23' 2>/dev/null && { echo "brnf: tcp/23 passed"; exit 1; }
ip netns exec $P-hybrid-r timeout 2 bash -c 'echo > /dev/tcp/10.77.0.2/23' 2>/dev/null && { echo "hybrid: tcp/23 passed"; exit 1; }
ip netns exec $P-brnf0-r timeout 2 bash -c 'echo > /dev/tcp/10.77.0.2/23' 2>/dev/null && { echo "brnf0: tcp/23 passed"; exit 1; }
ip netns exec $P-brnf-r nc -l -p 23 >/dev/null 2>&1 & sleep 0.2; ip netns exec $P-brnf-vm timeout 2 bash -c 'echo > /dev/tcp/10.77.0.1/23' 2>/dev/null && { echo "brnf: egress tcp/23 passed"; exit 1; }

gbps() { python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'; }
declare -A sum
echo "round  direction  open(Gbit/s)  brnf/open  hybrid/open  brnf0/open"
for i in $(seq 1 "$rounds"); do
  for dir in egress ingress; do
    declare -A g
    for c in "${cands[@]}"; do
      if [ $dir = egress ]; then
        g[$c]=$(ip netns exec $P-$c-vm iperf3 -c 10.77.0.1 -t "$secs" -J | gbps)
      else
        g[$c]=$(ip netns exec $P-$c-r iperf3 -c 10.77.0.2 -t "$secs" -J | gbps)
      fi
    done
    b=$(python3 -c "print('%.3f' % (${g[brnf]}/${g[open]}))")
    hy=$(python3 -c "print('%.3f' % (${g[hybrid]}/${g[open]}))")
    b0=$(python3 -c "print('%.3f' % (${g[brnf0]}/${g[open]}))")
    echo "$i      $dir     ${g[open]}        $b      $hy      $b0"
    echo "$dir $b $hy $b0" >> /tmp/$P-ratios
  done
done
python3 - <<'PY'
import statistics, collections
r = collections.defaultdict(lambda: ([], [], []))
for line in open("/tmp/dvrsgb-ratios"):
    d, *v = line.split()
    for i, x in enumerate(v): r[d][i].append(float(x))
for d, (b, h, b0) in r.items():
    print(f"median {d}: brnf/open {statistics.median(b):.3f}  hybrid/open {statistics.median(h):.3f}  brnf0/open {statistics.median(b0):.3f}  (rounds {len(b)})")
PY
rm -f /tmp/$P-ratios
