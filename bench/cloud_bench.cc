// `dvr server` holding a real cloud: a database (SQLite, or PostgreSQL with --db postgres)
// preloaded straight into the store (the synthetic cloud of plan_bench: 1,000 hosts'
// agents, 10,000 networks with a router each, 100,000 ports, 20,000 floating IPs), then,
// for each server binary given, over its own copy of that database: the cold start (exec
// to the first answer that needs the state) and its RSS, POST /v2.0/ports p50/p99, floating
// IP create + associate p50/p99, its delete p50/p99, then each port's rename, binding to
// another host and delete p50/p99, and port creates per second with 8 and with 64
// concurrent clients. With two binaries (today's build and this one) it prints the
// ratio of each figure, second over first.
//
//   build/bench/cloud_bench [--db sqlite|postgres] [--scale K] [--samples S] [--seconds T]
//                           DVR...
//
// --scale divides the cloud (100: 10 hosts, 100 networks, 1,000 ports, 200 floating IPs),
// so running it at 1 and at 100 gives the ratio of a p50 at 100,000 ports to the same
// at 1,000. Defaults: SQLite, scale 1, 50 samples, 5 s per concurrency; DVR defaults to
// this build's dvr. `--preload-only PATH` writes the database (at the --db and --scale
// given before it; with postgres, PATH names the database it creates) and stops, to
// measure by hand; that database is kept.
//
// --db postgres (after scripts/start-postgres.sh; the server at $PGHOST, default
// /var/run/postgresql, as a role that may create databases): the preload writes into a
// database created for the run, dvr_cloud_bench_PID; each binary runs over its own copy,
// dvr_cloud_bench_PID_N (CREATE DATABASE ... TEMPLATE), given as
// --db postgresql:///NAME?host=$PGHOST. Every database the run created (and, on SQLite,
// every file) is removed at the end, also when it fails or is interrupted (SIGINT, SIGTERM,
// SIGHUP): the server is stopped first, the databases dropped WITH (FORCE).
#include <httplib.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ipam/synthetic.h"
#include "server/api_state.h"
#include "store/store.h"

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace dvr;

namespace {

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double pct(std::vector<double> v, int p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, v.size() * p / 100)];
}

// What the run made and must undo however it ends: the server running, the PostgreSQL
// databases and SQLite files created. cleanUp() runs at exit (std::exit included) and on
// SIGINT, SIGTERM and SIGHUP (from a thread of its own that waits for them).
std::mutex cleanup_mu;
pid_t running_server = 0;
std::vector<std::string> made_databases, made_files;

std::string pgHost() {
  const char* h = std::getenv("PGHOST");
  return h && *h ? h : "/var/run/postgresql";
}

std::string pgUrl(const std::string& name) {
  return "postgresql:///" + name + "?host=" + pgHost();
}

// One statement on the server's `postgres` database (CREATE / DROP DATABASE cannot run in
// a transaction, nor in the database they copy or drop); false, with its error printed,
// if it failed.
bool pgAdmin(const std::string& sql) {
  std::string dsn = "dbname=postgres host=" + pgHost();
  PGconn* c = PQconnectdb(dsn.c_str());
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PGresult* r = PQexec(c, sql.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
  }
  if (!ok)
    std::fprintf(stderr, "PostgreSQL (%s): %s", sql.c_str(), PQerrorMessage(c));
  PQfinish(c);
  return ok;
}

void unlinkSqlite(const std::string& path) {
  for (const char* s : {"", "-wal", "-shm"})
    ::unlink((path + s).c_str());
}

void cleanUp() {
  std::lock_guard<std::mutex> lock(cleanup_mu);
  if (running_server > 0) {
    ::kill(running_server, SIGTERM);
    ::waitpid(running_server, nullptr, 0);
    running_server = 0;
  }
  for (const auto& name : made_databases)
    pgAdmin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  made_databases.clear();
  for (const auto& path : made_files)
    unlinkSqlite(path);
  made_files.clear();
}

// Drops one database the run made, now (the copy a binary ran over, once it is done).
void dropDatabase(const std::string& name) {
  std::lock_guard<std::mutex> lock(cleanup_mu);
  pgAdmin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  made_databases.erase(std::remove(made_databases.begin(), made_databases.end(), name),
                       made_databases.end());
}

// Creates a database (empty, or a copy of `from`) and records it to be dropped.
void createDatabase(const std::string& name, const std::string& from = "") {
  std::lock_guard<std::mutex> lock(cleanup_mu);
  if (!pgAdmin("CREATE DATABASE " + name + (from.empty() ? "" : " TEMPLATE " + from)))
    throw std::runtime_error("cannot create PostgreSQL database " + name +
                             " (scripts/start-postgres.sh)");
  made_databases.push_back(name);  // a signal meanwhile waits for the lock, then drops it
}

// Blocks SIGINT, SIGTERM and SIGHUP in every thread (call before starting any) and waits
// for them in one of its own, which cleans up and exits as the signal would.
void cleanUpOnSignals() {
  std::atexit(cleanUp);
  static sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP})
    sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([] {
    int sig = 0;
    sigwait(&set, &sig);
    std::fprintf(stderr, "cloud_bench: signal %d, cleaning up\n", sig);
    cleanUp();
    _exit(128 + sig);
  }).detach();
}

json must(httplib::Result r, int status, const char* what) {
  if (!r || r->status != status) {
    std::fprintf(stderr, "%s: unexpected answer %d: %s\n", what, r ? r->status : 0,
                 r ? r->body.c_str() : "no connection");
    std::exit(1);
  }
  return r->body.empty() ? json() : json::parse(r->body);
}

// The synthetic cloud as the server keeps it: the topology without hosts, an agent per
// host (alive: its heartbeat is now), every allocation pinned, one row per resource.
void preload(const std::string& url, int scale) {
  auto t0 = Clock::now();
  model::Topology t = ipam::syntheticTopology({.hosts = 1000 / scale,
                                               .routers = 10000 / scale,
                                               .vms = 100000 / scale,
                                               .floating_ips = 20000 / scale,
                                               .seed = 1});
  server::ApiState s;
  std::vector<std::pair<std::string, std::string>> macs;
  long now = std::time(nullptr);
  uint64_t base = t.settings.dvr_base_mac.value() & 0xffffff000000ULL;
  for (size_t i = 0; i < t.hosts.size(); ++i) {
    const auto& h = t.hosts[i];
    std::string mac = Mac(base | (i + 1)).str();
    s.agents[h.name] = {{"id", "agent-" + h.name},
                        {"agent_mode", h.mode == model::AgentMode::DvrSnat ? "dvr_snat" : "dvr"},
                        {"tunnel_ip", h.tunnel_ip.str()},
                        {"uplinks", {{"*", "eth1"}}},
                        {"dvr_mac", mac},
                        {"started", now},
                        {"heartbeat", now}};
    macs.emplace_back(h.name, mac);
  }
  t.hosts.clear();
  // In the server's state a resource's name is its id.
  for (auto& n : t.networks)
    n.id = n.name;
  for (auto& sn : t.subnets)
    sn.id = sn.name;
  for (auto& r : t.routers)
    r.id = r.name;
  for (auto& v : t.vms)
    v.port_id = v.name;
  for (size_t i = 0; i < t.floating_ips.size(); ++i)
    t.floating_ips[i].id = "fip" + std::to_string(i);
  s.topo = std::move(t);
  s.pinAllocations(s.resolve(nullptr, "preload"));
  auto rows = s.changesSince(server::ApiState{});
  {
    std::unique_ptr<store::Store> st = store::openStore(url);
    st->transact([&](store::Transaction& tx) {
      tx.write(rows);
      for (const auto& [host, mac] : macs)
        tx.setHostMac(host, mac);
    });
  }  // closed: a PostgreSQL database is copied only with nobody connected to it
  std::printf("preloaded %s: %zu rows, %zu networks, %zu ports, %zu floating IPs (%.1f s)\n",
              url.c_str() + (url.rfind("sqlite:", 0) == 0 ? 7 : 0), rows.size(),
              s.topo.networks.size(), s.topo.vms.size(), s.topo.floating_ips.size(),
              std::chrono::duration<double>(Clock::now() - t0).count());
}

long rssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0)
      return std::atol(line.c_str() + 6);
  }
  return 0;
}

struct Figures {
  double start_s = 0, rss_mib = 0;
  std::vector<double> ports, fips, fip_deletes, renames, rebinds, port_deletes;
  double rps8 = 0, rps64 = 0;
};

// Port creates for `seconds` from `clients` connections: answers per second.
double throughput(int port, const std::string& net, int clients, int seconds) {
  std::atomic<int> done{0};
  auto until = Clock::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  std::string body = json{{"port", {{"network_id", net}}}}.dump();
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&] {
      httplib::Client own("127.0.0.1", port);
      own.set_keep_alive(true);
      own.set_tcp_nodelay(true);
      own.set_read_timeout(120, 0);
      while (Clock::now() < until) {
        auto r = own.Post("/v2.0/ports", body, "application/json");
        // Only answers within the window: the last request of each client ends after it.
        if (r && r->status == 201 && Clock::now() <= until)
          done++;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  return done / double(seconds);
}

// `url` is the server's --db: sqlite:PATH or postgresql://...
Figures run(const std::string& dvr, const std::string& url, int samples, int seconds) {
  Figures f;
  int port = 20000 + (::getpid() + std::rand()) % 20000;
  auto t0 = Clock::now();
  pid_t server;
  {
    std::lock_guard<std::mutex> lock(cleanup_mu);
    server = running_server = ::fork();
  }
  if (server == 0) {
    sigset_t none;  // the signals blocked here would stay blocked across exec
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    std::string bind = "127.0.0.1:" + std::to_string(port);
    ::execl(dvr.c_str(), "dvr", "server", "--bind", bind.c_str(), "--db", url.c_str(),
            (char*)nullptr);
    _exit(127);
  }
  httplib::Client c("127.0.0.1", port);
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);
  c.set_read_timeout(300, 0);
  // The first answer that needs the state: the external network.
  while (true) {
    auto r = c.Get("/v2.0/networks/ext");
    if (r && r->status == 200)
      break;
    int status = 0;
    if (::waitpid(server, &status, WNOHANG) == server) {
      {
        std::lock_guard<std::mutex> lock(cleanup_mu);
        running_server = 0;
      }
      std::fprintf(stderr, "%s server --db %s ended before answering (status %d)\n", dvr.c_str(),
                   url.c_str(), status);
      std::exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  f.start_s = std::chrono::duration<double>(Clock::now() - t0).count();
  f.rss_mib = rssKiB(server) / 1024.0;

  auto post = [&](const char* path, const json& body, const char* what) {
    return must(c.Post(path, body.dump(), "application/json"), 201, what);
  };
  // An external network of the benchmark's own (the API takes UUIDs; the preloaded
  // cloud's ids are its names), with room for every floating IP it makes.
  std::string ext =
      post("/v2.0/networks", {{"network", {{"name", "bench-ext"}, {"router:external", true}}}},
           "external network")["network"]["id"];
  post("/v2.0/subnets",
       {{"subnet", {{"network_id", ext}, {"cidr", "198.18.0.0/15"}, {"ip_version", 4}}}},
       "external subnet");
  std::string net =
      post("/v2.0/networks", {{"network", {{"name", "bench"}}}}, "network")["network"]["id"];
  std::string sub =
      post("/v2.0/subnets",
           {{"subnet", {{"network_id", net}, {"cidr", "192.168.0.0/16"}, {"ip_version", 4}}}},
           "subnet")["subnet"]["id"];
  std::string router =
      post("/v2.0/routers",
           {{"router", {{"name", "bench"}, {"external_gateway_info", {{"network_id", ext}}}}}},
           "router")["router"]["id"];
  must(c.Put("/v2.0/routers/" + router + "/add_router_interface", json{{"subnet_id", sub}}.dump(),
             "application/json"),
       200, "interface");

  std::vector<std::string> port_ids;
  json port_body{{"port", {{"network_id", net}, {"binding:host_id", "compute5"}}}};
  for (int i = 0; i < samples; ++i) {
    auto t = Clock::now();
    port_ids.push_back(post("/v2.0/ports", port_body, "port")["port"]["id"]);
    f.ports.push_back(ms(Clock::now() - t));
  }
  std::vector<std::string> fip_ids;
  for (int i = 0; i < samples; ++i) {
    auto t = Clock::now();
    std::string fip = post("/v2.0/floatingips", {{"floatingip", {{"floating_network_id", ext}}}},
                           "floating IP")["floatingip"]["id"];
    must(c.Put("/v2.0/floatingips/" + fip, json{{"floatingip", {{"port_id", port_ids[i]}}}}.dump(),
               "application/json"),
         200, "associate");
    f.fips.push_back(ms(Clock::now() - t));
    fip_ids.push_back(fip);
  }
  for (const auto& fip : fip_ids) {  // the last of compute5's takes its fg- port with it
    auto t = Clock::now();
    must(c.Delete("/v2.0/floatingips/" + fip), 204, "floating IP delete");
    f.fip_deletes.push_back(ms(Clock::now() - t));
  }
  // A VM's port after its floating IP went: renamed (attribute rows), bound to another
  // host (as Nova binds a port on the host it boots the VM on), deleted.
  for (size_t i = 0; i < port_ids.size(); ++i) {
    const std::string path = "/v2.0/ports/" + port_ids[i];
    auto t = Clock::now();
    must(c.Put(path, json{{"port", {{"name", "vm" + std::to_string(i)}}}}.dump(),
               "application/json"),
         200, "port rename");
    f.renames.push_back(ms(Clock::now() - t));
    t = Clock::now();
    must(c.Put(path, json{{"port", {{"binding:host_id", "compute6"}}}}.dump(), "application/json"),
         200, "port binding");
    f.rebinds.push_back(ms(Clock::now() - t));
    t = Clock::now();
    must(c.Delete(path), 204, "port delete");
    f.port_deletes.push_back(ms(Clock::now() - t));
  }
  if (seconds > 0) {
    f.rps8 = throughput(port, net, 8, seconds);
    f.rps64 = throughput(port, net, 64, seconds);
  }
  {
    std::lock_guard<std::mutex> lock(cleanup_mu);
    ::kill(server, SIGTERM);
    ::waitpid(server, nullptr, 0);
    running_server = 0;
  }
  return f;
}

void copyFile(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary);
  out << in.rdbuf();
}

}  // namespace

int main(int argc, char** argv) {
  int scale = 1, samples = 50, seconds = 5;
  bool postgres = false;
  std::vector<std::string> binaries;
  cleanUpOnSignals();
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--scale" && i + 1 < argc)
        scale = std::max(1, std::atoi(argv[++i]));
      else if (a == "--samples" && i + 1 < argc)
        samples = std::max(1, std::atoi(argv[++i]));
      else if (a == "--db" && i + 1 < argc) {
        std::string db = argv[++i];
        if (db != "sqlite" && db != "postgres" && db != "postgresql") {
          std::fprintf(stderr, "--db %s: expected sqlite or postgres\n", db.c_str());
          return 2;
        }
        postgres = db != "sqlite";
      } else if (a == "--preload-only" && i + 1 < argc) {  // the database alone, kept
        std::string target = argv[++i];
        if (!postgres) {
          preload("sqlite:" + target, scale);
          return 0;
        }
        if (target.empty() ||
            target.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
          throw std::runtime_error("--preload-only " + target +
                                   ": a PostgreSQL database name is [a-z0-9_]+");
        createDatabase(target);
        preload(pgUrl(target), scale);
        std::lock_guard<std::mutex> lock(cleanup_mu);
        made_databases.clear();  // kept
        return 0;
      } else if (a == "--seconds" && i + 1 < argc)
        seconds = std::atoi(argv[++i]);
      else
        binaries.push_back(a);
    }
    if (binaries.empty())
      binaries.push_back(DVR_BINARY);
    // The preloaded database, and for binary b the copy it runs over (`b` a number).
    std::string tag = std::to_string(::getpid());
    std::string db = postgres ? "dvr_cloud_bench_" + tag : "/tmp/dvr-cloud-bench-" + tag + ".db";
    auto copyOf = [&](size_t b) { return db + (postgres ? "_" : ".") + std::to_string(b); };
    if (postgres) {
      createDatabase(db);
      preload(pgUrl(db), scale);
    } else {
      {
        std::lock_guard<std::mutex> lock(cleanup_mu);
        made_files.push_back(db);
        for (size_t b = 0; b < binaries.size(); ++b)
          made_files.push_back(copyOf(b));
      }
      preload("sqlite:" + db, scale);
    }
    std::vector<Figures> all;
    for (size_t b = 0; b < binaries.size(); ++b) {
      std::string copy = copyOf(b);
      if (postgres)
        createDatabase(copy, db);
      else
        copyFile(db, copy);
      std::printf("-- %s\n", binaries[b].c_str());
      std::fflush(stdout);
      Figures f = run(binaries[b], postgres ? pgUrl(copy) : "sqlite:" + copy, samples, seconds);
      if (postgres)
        dropDatabase(copy);
      else
        unlinkSqlite(copy);
      std::printf("cold start %.2f s, RSS %.0f MiB\n", f.start_s, f.rss_mib);
      std::printf("POST /v2.0/ports                 n=%zu p50 %.2f ms p99 %.2f ms\n",
                  f.ports.size(), pct(f.ports, 50), pct(f.ports, 99));
      std::printf("floating IP create + associate   n=%zu p50 %.2f ms p99 %.2f ms\n", f.fips.size(),
                  pct(f.fips, 50), pct(f.fips, 99));
      std::printf("DELETE /v2.0/floatingips/ID      n=%zu p50 %.2f ms p99 %.2f ms\n",
                  f.fip_deletes.size(), pct(f.fip_deletes, 50), pct(f.fip_deletes, 99));
      std::printf("PUT /v2.0/ports/ID name          n=%zu p50 %.2f ms p99 %.2f ms\n",
                  f.renames.size(), pct(f.renames, 50), pct(f.renames, 99));
      std::printf("PUT /v2.0/ports/ID binding:host  n=%zu p50 %.2f ms p99 %.2f ms\n",
                  f.rebinds.size(), pct(f.rebinds, 50), pct(f.rebinds, 99));
      std::printf("DELETE /v2.0/ports/ID            n=%zu p50 %.2f ms p99 %.2f ms\n",
                  f.port_deletes.size(), pct(f.port_deletes, 50), pct(f.port_deletes, 99));
      if (seconds > 0)
        std::printf("POST /v2.0/ports concurrently    %.1f/s (8 clients), %.1f/s (64 clients)\n",
                    f.rps8, f.rps64);
      std::fflush(stdout);
      all.push_back(std::move(f));
    }
    if (postgres)
      dropDatabase(db);
    else
      unlinkSqlite(db);
    if (all.size() == 2) {
      const Figures &a = all[0], &b = all[1];
      std::printf(
          "second/first: cold start %.2fx, RSS %.2fx, port p50 %.2fx, floating IP p50 %.2fx, "
          "floating IP delete p50 %.2fx, port rename p50 %.2fx, binding p50 %.2fx, port delete "
          "p50 %.2fx",
          b.start_s / a.start_s, b.rss_mib / a.rss_mib, pct(b.ports, 50) / pct(a.ports, 50),
          pct(b.fips, 50) / pct(a.fips, 50), pct(b.fip_deletes, 50) / pct(a.fip_deletes, 50),
          pct(b.renames, 50) / pct(a.renames, 50), pct(b.rebinds, 50) / pct(a.rebinds, 50),
          pct(b.port_deletes, 50) / pct(a.port_deletes, 50));
      if (seconds > 0)
        std::printf(", requests/s %.2fx (8), %.2fx (64)", b.rps8 / a.rps8, b.rps64 / a.rps64);
      std::printf("\n");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cloud_bench: %s\n", e.what());
    return 1;  // cleanUp() at exit
  }
}
