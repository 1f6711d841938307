# Sourced by the lab benchmarks. measure_first_packet ASSOCIATE DISSOCIATE: while vm1
# pings 8.8.8.8 every 2 ms, runs ASSOCIATE (a shell command giving vm1 192.168.74.150),
# times the first packet from 192.168.74.150 leaving compute01's uplink, runs DISSOCIATE;
# 5 times, then prints each run and p50/max. Expects $dvr and a lab that is up.
measure_first_packet() {
  local associate=$1 dissociate=$2 out=/tmp/dvrbench-cap.txt times=() run cap t0 t1 ms pinger
  $dvr lab exec vm1 -- ping -q -i 0.002 -W 1 8.8.8.8 >/dev/null 2>&1 &
  pinger=$!
  for run in 1 2 3 4 5; do
    $dvr lab exec compute01 -- timeout 5 tcpdump -tt -lnni eth1 -c 1 src host 192.168.74.150 >"$out" 2>/dev/null &
    cap=$!
    sleep 0.5
    t0=$(date +%s.%N)
    eval "$associate" >/dev/null
    wait $cap || true
    t1=$(awk 'NR==1{print $1}' "$out")
    [ -n "$t1" ] || { echo "  run $run: no packet through the floating IP within 5 s"; kill $pinger; return 1; }
    ms=$(python3 -c "print(round(($t1 - $t0) * 1000, 1))")
    times+=("$ms")
    echo "  run $run: ${ms} ms"
    eval "$dissociate" >/dev/null
    sleep 0.5
  done
  kill $pinger 2>/dev/null || true
  python3 -c "import statistics,sys; v=sorted(map(float,sys.argv[1:])); print(f'  p50 {statistics.median(v):.1f} ms, max {v[-1]:.1f} ms')" "${times[@]}"
}
