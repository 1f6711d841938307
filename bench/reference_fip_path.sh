#!/usr/bin/env bash
# The reference floating-IP path for bench/datapath.sh: the hand-built path of the design's
# prototype (shared/design/prototypes/fip-path.sh), built with ip and nft by hand in
# namespaces named dvrref-*. It is what the kernel can do for this path with nothing of
# dvr's in it, measured in the same rounds as dvr's lab path.
#   bench/reference_fip_path.sh up | down [MTU]
# Without MTU it is the prototype as written (every device at 1500). With MTU, the VM and
# every device of the path get that MTU, as in the seed, where the VM sits on a VXLAN tenant
# network (1450) and qr-, rfp-, fpr- and fg- show the same; its namespaces are dvrref<MTU>-*.
set -e
MTU=${2:-}
P=dvrref$MTU
if [ "${1:-up}" = down ]; then
  for n in host vm qr fip gw inet; do
    ip netns pids $P-$n 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del $P-$n 2>/dev/null || true
  done
  exit 0
fi
for n in host vm qr fip gw inet; do ip netns add $P-$n; ip -n $P-$n link set lo up; done
H="ip -n $P-host"
# bridges in host
$H link add brq type bridge; $H link set brq up
$H link add brex type bridge; $H link set brex up
# bridges switch without IP netfilter hooks, as in dvr's lab (br_netfilter, if loaded,
# turns them on in every namespace)
for k in iptables ip6tables arptables; do
  f=/proc/sys/net/bridge/bridge-nf-call-$k
  if [ -e $f ]; then ip netns exec $P-host sh -c "echo 0 > $f"; fi
done
# vm <-> brq
ip link add tapvm netns $P-host type veth peer name eth0 netns $P-vm
$H link set tapvm master brq up
ip -n $P-vm addr add 10.16.0.3/24 dev eth0; ip -n $P-vm link set eth0 up; ip -n $P-vm route add default via 10.16.0.1
# qr <-> brq
ip link add qrtap netns $P-host type veth peer name qr-1 netns $P-qr
$H link set qrtap master brq up
ip -n $P-qr addr add 10.16.0.1/24 dev qr-1; ip -n $P-qr link set qr-1 up
ip netns exec $P-qr sysctl -qw net.ipv4.ip_forward=1
# rfp <-> fpr
ip link add rfp-1 netns $P-qr type veth peer name fpr-1 netns $P-fip
ip -n $P-qr addr add 169.254.64.0/31 dev rfp-1; ip -n $P-qr addr add 192.168.74.104/32 dev rfp-1; ip -n $P-qr link set rfp-1 up
ip -n $P-fip addr add 169.254.64.1/31 dev fpr-1; ip -n $P-fip link set fpr-1 up
ip -n $P-qr rule add from 10.16.0.3 lookup 16 priority 57481
ip -n $P-qr route add default via 169.254.64.1 dev rfp-1 table 16
ip netns exec $P-qr nft -f - <<NFT
table ip dvr { 
  map fip_dnat { type ipv4_addr : ipv4_addr; elements = { 192.168.74.104 : 10.16.0.3 } }
  map fip_snat { type ipv4_addr : ipv4_addr; elements = { 10.16.0.3 : 192.168.74.104 } }
  chain pre { type nat hook prerouting priority -100; iifname "rfp-*" dnat to ip daddr map @fip_dnat; }
  chain post { type nat hook postrouting priority 100; oifname "rfp-*" snat to ip saddr map @fip_snat; }
}
NFT
# fg <-> brex
ip link add fgtap netns $P-host type veth peer name fg-1 netns $P-fip
$H link set fgtap master brex up
ip -n $P-fip addr add 192.168.74.103/24 dev fg-1; ip -n $P-fip link set fg-1 up
ip netns exec $P-fip sysctl -qw net.ipv4.ip_forward=1
ip -n $P-fip route add 192.168.74.104/32 via 169.254.64.0 dev fpr-1
ip -n $P-fip route add default via 192.168.74.1
ip -n $P-fip neigh add proxy 192.168.74.104 dev fg-1
# gateway
ip link add gwtap netns $P-host type veth peer name eth0 netns $P-gw
$H link set gwtap master brex up
ip -n $P-gw addr add 192.168.74.1/24 dev eth0; ip -n $P-gw link set eth0 up
ip link add eth1 netns $P-gw type veth peer name eth0 netns $P-inet
ip -n $P-gw addr add 8.8.8.1/24 dev eth1; ip -n $P-gw link set eth1 up
ip netns exec $P-gw sysctl -qw net.ipv4.ip_forward=1
ip -n $P-inet addr add 8.8.8.8/24 dev eth0; ip -n $P-inet link set eth0 up; ip -n $P-inet route add default via 8.8.8.1
if [ -n "$MTU" ]; then
  ip -n $P-vm link set eth0 mtu "$MTU"
  for d in tapvm qrtap fgtap; do $H link set $d mtu "$MTU"; done
  ip -n $P-qr link set qr-1 mtu "$MTU"; ip -n $P-qr link set rfp-1 mtu "$MTU"
  ip -n $P-fip link set fpr-1 mtu "$MTU"; ip -n $P-fip link set fg-1 mtu "$MTU"
fi
