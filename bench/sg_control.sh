#!/usr/bin/env bash
# Security-group control-plane benchmark (needs root, after scripts/build.sh): one host
# with N filtered VM ports (default 1000) in one group of 20 rules (5 by remote group,
# the group itself), reconciled by `dvr agent` in a scratch network namespace where the
# VMs' taps are dummy devices:
#  - the cold reconcile (everything: bridges, VXLAN, the filter tables);
#  - one more port in the group (a remote-group member more: set elements and the
#    port's own chains), as the running agent applies it incrementally;
#  - one more rule on the group of N ports (that group's chain).
# The agent logs each reconcile's milliseconds; each figure is the median of ROUNDS: the
# agent's whole pass, and of it the reconcile (plan and kernel: the steps of its debug
# log) apart from reading the topology file (yaml-cpp parsing N VMs; a server-fed agent
# reads a JSON slice instead). STEPS=1 also prints each incremental reconcile's steps.
# Removes everything it made when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
dvr=${DVR:-$PWD/build/dvr}  # DVR=<another build's binary>: the same figures for it, side by side
n=${1:-1000}
rounds=${2:-5}
ns=dvrsgctl
dir=$(mktemp -d /tmp/dvr-sg-control.XXXXXX)
cleanup() {
  ip netns pids $ns 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del $ns 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
[ -d /proc/sys/net/bridge ] || modprobe br_netfilter

topology() {  # $1 ports, $2 extra rules
  python3 - "$1" "$2" <<'PY'
import sys
n, extra = int(sys.argv[1]), int(sys.argv[2])
print("hosts:\n  - {name: h1, tunnel_ip: 172.16.0.11}\n  - {name: h2, tunnel_ip: 172.16.0.12}")
print("networks:\n  - name: net\n    vni: 1001\n    subnets: [{name: sub, cidr: 10.0.0.0/16, gateway: 10.0.0.1}]")
print("security_groups:\n  - name: web\n    rules:")
print("      - {direction: egress}")
for i in range(14):
    print(f"      - {{direction: ingress, protocol: tcp, port_range_min: {1000+i*10}, port_range_max: {1005+i*10}}}")
for i in range(5):
    print(f"      - {{direction: ingress, protocol: udp, port_range_min: {2000+i}, port_range_max: {2000+i}, remote_group: web}}")
for i in range(extra):
    print(f"      - {{direction: ingress, protocol: tcp, port_range_min: {3000+i}, port_range_max: {3000+i}}}")
print("vms:")
for i in range(n):
    print(f"  - {{name: vm{i}, network: net, host: h1, ip: 10.0.{2 + i // 250}.{1 + i % 250}, security_groups: [web]}}")
# a member on another host, so that the group has remote members too
print("  - {name: far, network: net, host: h2, ip: 10.0.200.1, security_groups: [web]}")
PY
}

ip netns add $ns
ip -n $ns link set lo up
taps() {  # the hypervisor's part: a tap per VM of the topology file $1
  "$dvr" plan "$1" --host h1 --json | python3 -c '
import json, sys
for i, l in enumerate(json.load(sys.stdin)["links"]):
    if l["kind"] == "device":
        print("link add " + l["ifname"] + " type veth peer name vm" + str(i))' > "$dir/taps"
  ip -n $ns -force -batch "$dir/taps" 2>/dev/null || true
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms_of_last() { grep "reconciled kind=$1" "$dir/agent.log" | tail -1 | sed 's/.* ms=\([0-9.]*\).*/\1/'; }
# The last reconcile's own time: its debug line's steps, reading the file (load=) aside.
reconcile_of_last() {
  grep -o 'reconcile ms: .*' "$dir/agent.log" | tail -1 | tr ' ' '\n' |
    awk -F= '$2 != "" && $1 != "load" {s += $2} END {printf "%.1f\n", s}'
}

cold=()
for r in $(seq 1 "$rounds"); do
  topology "$n" 0 > "$dir/t.yaml"
  taps "$dir/t.yaml"
  ip netns exec $ns "$dvr" agent --once --host h1 --topology "$dir/t.yaml" > "$dir/once.log" 2>&1
  cold+=("$(grep 'reconciled kind=full' "$dir/once.log" | sed 's/.* ms=\([0-9.]*\).*/\1/')")
  ip netns del $ns; ip netns add $ns; ip -n $ns link set lo up
done

topology "$n" 0 > "$dir/t.yaml"
taps "$dir/t.yaml"
ip netns exec $ns "$dvr" --log-level debug agent --host h1 --topology "$dir/t.yaml" --ready-file "$dir/ready" > "$dir/agent.log" 2>&1 &
for i in $(seq 1 600); do [ -e "$dir/ready" ] && break; sleep 0.1; done
wait_reconciles() {  # until the agent logged $1 incremental reconciles
  for i in $(seq 1 300); do
    # and its debug line, which follows (the first, full reconcile has one too)
    [ "$(grep -c 'reconciled kind=incremental' "$dir/agent.log")" -ge "$1" ] &&
      [ "$(grep -c 'reconcile ms:' "$dir/agent.log")" -ge "$(($1 + 1))" ] && return
    sleep 0.05
  done
  echo "the agent did not follow the change"; exit 1
}
port=() rule=() port_r=() rule_r=()
done_count=0
for r in $(seq 1 "$rounds"); do
  topology $((n + 1)) 0 > "$dir/t1.yaml"
  taps "$dir/t1.yaml"
  cp "$dir/t1.yaml" "$dir/t.yaml.new" && mv "$dir/t.yaml.new" "$dir/t.yaml"
  done_count=$((done_count + 1)); wait_reconciles $done_count
  port+=("$(ms_of_last incremental)") port_r+=("$(reconcile_of_last)")
  topology $((n + 1)) 1 > "$dir/t.yaml.new" && mv "$dir/t.yaml.new" "$dir/t.yaml"
  done_count=$((done_count + 1)); wait_reconciles $done_count
  rule+=("$(ms_of_last incremental)") rule_r+=("$(reconcile_of_last)")
  topology "$n" 0 > "$dir/t.yaml.new" && mv "$dir/t.yaml.new" "$dir/t.yaml"  # back
  done_count=$((done_count + 1)); wait_reconciles $done_count
done
rules=$(ip netns exec $ns nft list table inet dvr | grep 'accept comment' | grep -vc 'comment "#' || true)
echo "$n filtered ports, one group of 20 rules (5 by remote group), $rules rules in inet dvr"
echo "cold reconcile (ms, median of $rounds):            $(printf '%s\n' "${cold[@]}" | median)"
echo "one more port in the group (ms, median):         $(printf '%s\n' "${port[@]}" | median)  (reconcile $(printf '%s\n' "${port_r[@]}" | median))"
echo "one more rule on the group of $n ports (ms, median): $(printf '%s\n' "${rule[@]}" | median)  (reconcile $(printf '%s\n' "${rule_r[@]}" | median))"
if [ -n "${STEPS:-}" ]; then
  echo "incremental reconciles, in order (port more, rule more, back; ms):"
  grep -A1 'reconciled kind=incremental' "$dir/agent.log" | grep -o 'reconcile ms: .*'
fi
