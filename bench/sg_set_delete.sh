#!/usr/bin/env bash
# What removing a filtered port costs in its sources' set (needs root): a bridge table with
# N (default 1000) ports' "ifname . MAC . address" elements, as an interval set (what
# port_sources was before 2026-12-02) and as a hash set (what it is now; network address
# pairs have an interval set of their own), and 20 single-element deletions, each its own
# transaction as an incremental reconcile sends it. Prints the wall and system time of
# the 20. Removes what it made when it ends.
set -euo pipefail
n=${1:-1000}
ns=dvrsgdel
dir=$(mktemp -d /tmp/dvr-sg-del.XXXXXX)
cleanup() { ip netns del $ns 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
ip netns add $ns
element() {  # $1 index
  printf '"tap%04d" . 02:00:00:00:%02x:%02x . 10.0.%d.%d' "$1" $(($1 / 256)) $(($1 % 256)) \
    $((2 + $1 / 250)) $((1 + $1 % 250))
}
for kind in interval hash; do
  flags=""
  [ $kind = interval ] && flags="flags interval;"
  {
    echo "table bridge t {"
    echo "  set ps { type ifname . ether_addr . ipv4_addr; $flags elements = {"
    for i in $(seq 0 $((n - 1))); do element "$i"; [ "$i" -lt $((n - 1)) ] && echo ","; done
    echo "}}"
    echo "}"
  } > "$dir/table.nft"
  ip netns exec $ns nft -f "$dir/table.nft"
  for i in $(seq 0 19); do echo "delete element bridge t ps { $(element $((n / 2 + i))) }"; done > "$dir/del"
  # nft -i: one transaction per line.
  /usr/bin/time -f "$kind set of $n: 20 deletions %e s wall, %S s system" \
    ip netns exec $ns nft -i < "$dir/del" > /dev/null
  ip netns exec $ns nft delete table bridge t
done
