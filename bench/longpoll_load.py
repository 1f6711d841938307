#!/usr/bin/env python3
"""API latency while agents long-poll: `longpoll_load.py DVR_BINARY [AGENTS] [REQUESTS] [DB]`.

Starts `dvr server` on a fresh SQLite file, registers AGENTS agents (default 200), has
each hold a long-poll (GET /dvr/v1/topology?wait=30000 with the digest of its slice),
then times REQUESTS (default 100) `GET /v2.0/networks` from one client, each with a 10 s
timeout. Prints the median and p99, and how many requests got no answer in time; the
server's threads, descriptors and RSS while the polls are held; and, for 20 of the agents
in turn, the time from a `POST /v2.0/ports` bound to that agent's host (a change of its
slice alone) to its long-poll's answer.

With DB (a SQLite file from `build/bench/cloud_bench --scale K --preload-only DB`), the
server runs on a copy of that cloud instead, and the agents are its hosts' (the first
AGENTS of `GET /v2.0/agents`), each long-polling the slice of its share of the cloud's
ports; the API request timed is then `GET /v2.0/networks?name=ext` (the list of 10,000
networks would time JSON, not the polls).
"""
import atexit, http.client, json, os, shutil, subprocess, sys, tempfile, threading, time

dvr = sys.argv[1]
agents = int(sys.argv[2]) if len(sys.argv) > 2 else 200
requests = int(sys.argv[3]) if len(sys.argv) > 3 else 100
port = 39000 + os.getpid() % 500
db = tempfile.mktemp(prefix="dvr-longpoll-", suffix=".db")
preloaded = sys.argv[4] if len(sys.argv) > 4 else None
if preloaded:
    shutil.copyfile(preloaded, db)
api_path = "/v2.0/networks?name=ext" if preloaded else "/v2.0/networks"
def clean_up():  # also when the run fails half-way
    if server.poll() is None:
        server.terminate()
        server.wait()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)

atexit.register(clean_up)
server = subprocess.Popen([dvr, "server", "--bind", f"127.0.0.1:{port}", "--db", "sqlite:" + db],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def call(method, path, body=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data) if data else None

for _ in range(300):
    try:
        call("GET", "/")
        break
    except OSError:
        time.sleep(0.01)
held = []
if preloaded:
    _, listed = call("GET", "/v2.0/agents", timeout=300)
    hosts = sorted({a["host"] for a in listed["agents"] if a["host"].startswith("compute")})[:agents]
    agents = len(hosts)
else:
    hosts = [f"host-{i}" for i in range(agents)]
    for i in range(agents):
        call("PUT", f"/dvr/v1/agents/{hosts[i]}",
             {"agent_mode": "dvr", "tunnel_ip": f"172.17.{i // 250}.{1 + i % 250}", "uplinks": {"*": "eth1"}})

# A network and subnet for the ports that wake agents, made before the polls start.
_, net = call("POST", "/v2.0/networks", {"network": {"name": "wake"}})
net_id = net["network"]["id"]
call("POST", "/v2.0/subnets", {"subnet": {"network_id": net_id, "cidr": "10.99.0.0/16", "ip_version": 4}})
for i in range(agents):  # the slices as they are now
    _, s = call("GET", f"/dvr/v1/topology?since=0&host={hosts[i]}", timeout=300)
    held.append((s["revision"], s["digest"]))
answered = {}  # agent -> when its long-poll returned

def poll(i):
    try:
        rev, digest = held[i]
        call("GET", f"/dvr/v1/topology?since={rev}&wait=30000&host={hosts[i]}&digest={digest}",
             timeout=40)
        answered[i] = time.monotonic()
    except OSError:
        pass

def proc_stats(pid):
    status = open(f"/proc/{pid}/status").read()
    field = lambda name: [l.split()[1] for l in status.splitlines() if l.startswith(name)][0]
    return int(field("Threads:")), len(os.listdir(f"/proc/{pid}/fd")), int(field("VmRSS:")) // 1024

threads = [threading.Thread(target=poll, args=(i,), daemon=True) for i in range(agents)]
for t in threads:
    t.start()
time.sleep(1)
times, lost = [], 0
for _ in range(requests):
    start = time.monotonic()
    try:
        status, _ = call("GET", api_path)
        times.append(time.monotonic() - start)
    except OSError:
        lost += 1
nthreads, fds, rss = proc_stats(server.pid)
early = len(answered)  # agents woken before any change of their slice
wakes, writes = [], []
for i in range(min(agents, 20)):
    if i in answered:
        continue
    start = time.monotonic()
    call("POST", "/v2.0/ports", {"port": {"network_id": net_id, "binding:host_id": hosts[i]}},
         timeout=300)
    writes.append(time.monotonic() - start)
    while i not in answered and time.monotonic() - start < 60:
        time.sleep(0.0005)
    if i in answered:
        wakes.append(answered[i] - start)
clean_up()
times.sort()
if times:
    print(f"{agents} agents long-polling: GET {api_path} median {times[len(times) // 2] * 1000:.1f} ms, "
          f"p99 {times[min(len(times) - 1, int(len(times) * 0.99))] * 1000:.1f} ms, "
          f"{lost} of {requests} without an answer in 10 s")
else:
    print(f"{agents} agents long-polling: none of {requests} requests answered within 10 s")
print(f"server while the polls were held: {nthreads} threads, {fds} descriptors, RSS {rss} MiB; "
      f"{early} agents answered before any change of their slice")
wakes.sort()
if wakes:
    writes.sort()
    print(f"that POST answered: median {writes[len(writes) // 2] * 1000:.1f} ms, "
          f"max {writes[-1] * 1000:.1f} ms")
    print(f"port bound to a host -> that agent's long-poll answered: n={len(wakes)} "
          f"median {wakes[len(wakes) // 2] * 1000:.1f} ms, max {wakes[-1] * 1000:.1f} ms")
