#!/usr/bin/env bash
# The README's main command: the seed's two North-South paths on the seed's cloud.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
seed=examples/seed.yaml
./build/dvr validate "$seed"
echo; echo "### Case 1 (seed): vm1 has no floating IP -> SNAT on controller01"
./build/dvr trace "$seed" --from vm1 --to 8.8.8.8
echo; echo "### Case 2 (seed): vm2 has floating IP 192.168.74.104 -> out of compute01's fip- namespace"
./build/dvr trace "$seed" --from vm2 --to 8.8.8.8
echo; echo "### What compute01 must hold (dvr plan)"
./build/dvr plan "$seed" --host compute01
