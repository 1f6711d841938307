#!/usr/bin/env bash
# In the API lab (dvr server on controller01, agents following it): the time from the
# API call that associates a floating IP with vm1's port to the first packet leaving
# compute01's uplink from that floating IP, over 5 associations. Needs root and a build.
set -euo pipefail
cd "$(dirname "$0")/.."
dvr=./build/dvr
trap '$dvr lab down' EXIT
$dvr lab down
$dvr lab up --api examples/seed.yaml >/dev/null
api() { $dvr lab exec controller01 -- curl -s -X "$1" -H 'Content-Type: application/json' "http://127.0.0.1:9696$2" ${3:+-d "$3"}; }
py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
port=$(api GET "/v2.0/ports?name=vm1" | py 'd["ports"][0]["id"]')
ext=$(api GET "/v2.0/networks?name=ext-net" | py 'd["networks"][0]["id"]')
fip=$(api POST /v2.0/floatingips "{\"floatingip\":{\"floating_network_id\":\"$ext\",\"floating_ip_address\":\"192.168.74.150\"}}" | py 'd["floatingip"]["id"]')
$dvr lab exec vm1 -- ping -q -i 0.002 -W 1 8.8.8.8 >/dev/null 2>&1 &
pinger=$!
times=()
for run in 1 2 3 4 5; do
  out=/tmp/dvrbench-apicap.txt
  $dvr lab exec compute01 -- timeout 5 tcpdump -tt -lnni eth1 -c 1 src host 192.168.74.150 >"$out" 2>/dev/null &
  cap=$!
  sleep 0.5
  t0=$(date +%s.%N)
  api PUT "/v2.0/floatingips/$fip" "{\"floatingip\":{\"port_id\":\"$port\"}}" >/dev/null
  wait $cap || true
  t1=$(awk 'NR==1{print $1}' "$out")
  [ -n "$t1" ] || { echo "  run $run: no packet through the floating IP within 5 s"; exit 1; }
  ms=$(python3 -c "print(round(($t1 - $t0) * 1000, 1))")
  times+=("$ms")
  echo "  run $run: ${ms} ms"
  api PUT "/v2.0/floatingips/$fip" '{"floatingip":{"port_id":null}}' >/dev/null
  sleep 0.5
done
kill $pinger 2>/dev/null || true
python3 -c "import statistics,sys; v=sorted(map(float,sys.argv[1:])); print(f'API association -> first packet: p50 {statistics.median(v):.1f} ms, max {v[-1]:.1f} ms')" "${times[@]}"
