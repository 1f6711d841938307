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
source bench/first_packet.sh
echo "API association -> first packet through it (5 runs)"
measure_first_packet "api PUT /v2.0/floatingips/$fip '{\"floatingip\":{\"port_id\":\"$port\"}}'" \
  "api PUT /v2.0/floatingips/$fip '{\"floatingip\":{\"port_id\":null}}'"
