// API latency and throughput of `dvr server` on its database, measured over loopback
// with one keep-alive connection (p50/p99), then with 8 concurrent clients (requests/s).
//
//   build/bench/api_bench [DB-URL [N]]   (default: a fresh SQLite file under /tmp, N = 1000)
//
// With Keystone against without, side by side in one run (same build, fresh SQLite files,
// alternating rounds; the concurrent part is left out):
//   build/bench/api_bench - N KEYSTONE_DIR [ROUNDS]
// where KEYSTONE_DIR is scripts/start-keystone.sh's: the server runs with --auth keystone
// and the dvr user's credentials, the client sends the admin's token (binding:host_id is
// admin-only), the agents their keys. Prints each round and the ratio of the p50s.
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

void report(const char* what, std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::printf("%-36s n=%zu  p50 %.2f ms  p99 %.2f ms\n", what, v.size(), v[v.size() / 2],
              v[v.size() * 99 / 100]);
}

json must(httplib::Result r, int status) {
  if (!r || r->status != status) {
    std::fprintf(stderr, "unexpected answer: %s\n", r ? r->body.c_str() : "no connection");
    std::exit(1);
  }
  return json::parse(r->body);
}

// DIR/env.<user>'s OS_* variables (export NAME=VALUE lines).
std::map<std::string, std::string> readEnv(const std::string& file) {
  std::map<std::string, std::string> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("export ", 0) == 0) {
      auto eq = line.find('=');
      out[line.substr(7, eq - 7)] = line.substr(eq + 1);
    }
  }
  return out;
}

// A project-scoped token for the user of `env`, from Keystone.
std::string issueToken(std::map<std::string, std::string> env) {
  std::string url = env["OS_AUTH_URL"];
  httplib::Client ks(url.substr(0, url.find('/', 7)));
  json body{
      {"auth",
       {{"identity",
         {{"methods", {"password"}},
          {"password",
           {{"user",
             {{"name", env["OS_USERNAME"]},
              {"domain", {{"id", "default"}}},
              {"password", env["OS_PASSWORD"]}}}}}}},
        {"scope",
         {{"project", {{"name", env["OS_PROJECT_NAME"]}, {"domain", {{"id", "default"}}}}}}}}}};
  auto r = ks.Post("/v3/auth/tokens", body.dump(), "application/json");
  if (!r || r->status != 201) {
    std::fprintf(stderr, "Keystone refused a token for %s\n", env["OS_USERNAME"].c_str());
    std::exit(1);
  }
  return r->get_header_value("X-Subject-Token");
}

const char* kAgentSecret = "api-bench-agent-secret-0123456789";

// An agent's key for `host` under kAgentSecret: `dvr agent-key` prints it.
std::string agentKey(const std::string& host) {
  std::string secret = "/tmp/dvr-api-bench-secret-" + std::to_string(::getpid());
  std::string cmd =
      std::string(DVR_BINARY) + " agent-key --secret-file " + secret + " --host " + host;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[128] = {0};
  if (!p || !std::fgets(buf, sizeof buf, p)) {
    std::fprintf(stderr, "dvr agent-key failed\n");
    std::exit(1);
  }
  ::pclose(p);
  std::string key(buf);
  while (!key.empty() && key.back() == '\n')
    key.pop_back();
  return key;
}

struct Figures {
  double port_p50, fip_p50;
};

double p50(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One server on `db`, the benchmark's cloud, N port creates and N floating IP
// create+associate; with `keystone_dir`, through Keystone authentication.
Figures run(const std::string& db, int n, const std::string& keystone_dir, bool concurrent) {
  std::string port = std::to_string(20000 + (::getpid() + std::rand()) % 20000);
  std::string dvr = std::string(DVR_BINARY);
  std::string secret = "/tmp/dvr-api-bench-secret-" + std::to_string(::getpid());
  std::map<std::string, std::string> service;
  if (!keystone_dir.empty()) {
    std::ofstream(secret) << kAgentSecret;
    service = readEnv(keystone_dir + "/env.dvr");
  }
  pid_t server = ::fork();
  if (server == 0) {
    std::vector<std::string> args{"dvr", "server", "--bind", "127.0.0.1:" + port, "--db", db};
    if (!keystone_dir.empty()) {
      for (const auto& [k, v] : service)
        ::setenv(k.c_str(), v.c_str(), 1);
      args.insert(args.end(), {"--auth", "keystone", "--auth-url", service["OS_AUTH_URL"],
                               "--agent-secret-file", secret});
      ::close(2);  // the start-up warnings
    }
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(dvr.c_str(), argv.data());
    _exit(127);
  }
  httplib::Client c("127.0.0.1", std::stoi(port));
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);
  while (!c.Get("/"))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  httplib::Headers agent1, agent2;
  std::string token;
  if (!keystone_dir.empty()) {
    token = issueToken(readEnv(keystone_dir + "/env"));
    c.set_default_headers({{"X-Auth-Token", token}});
    agent1 = {{"X-DVR-Agent-Host", "network1"}, {"X-DVR-Agent-Key", agentKey("network1")}};
    agent2 = {{"X-DVR-Agent-Host", "compute1"}, {"X-DVR-Agent-Key", agentKey("compute1")}};
  }
  httplib::Client agents("127.0.0.1", std::stoi(port));
  must(agents.Put("/dvr/v1/agents/network1", agent1,
                  R"({"agent_mode":"dvr_snat","tunnel_ip":"172.16.0.1","uplinks":{"*":"eth1"}})",
                  "application/json"),
       200);
  must(agents.Put("/dvr/v1/agents/compute1", agent2,
                  R"({"agent_mode":"dvr","tunnel_ip":"172.16.0.2","uplinks":{"*":"eth1"}})",
                  "application/json"),
       200);

  std::string ext =
      must(c.Post("/v2.0/networks", R"({"network":{"name":"ext","router:external":true}})",
                  "application/json"),
           201)["network"]["id"];
  must(c.Post("/v2.0/subnets",
              json{{"subnet", {{"network_id", ext}, {"cidr", "100.64.0.0/16"}, {"ip_version", 4}}}}
                  .dump(),
              "application/json"),
       201);
  std::string net =
      must(c.Post("/v2.0/networks", R"({"network":{"name":"net"}})", "application/json"),
           201)["network"]["id"];
  std::string sub = must(
      c.Post("/v2.0/subnets",
             json{{"subnet", {{"network_id", net}, {"cidr", "10.0.0.0/16"}, {"ip_version", 4}}}}
                 .dump(),
             "application/json"),
      201)["subnet"]["id"];
  std::string router = must(
      c.Post("/v2.0/routers",
             json{{"router", {{"name", "r"}, {"external_gateway_info", {{"network_id", ext}}}}}}
                 .dump(),
             "application/json"),
      201)["router"]["id"];
  must(c.Put("/v2.0/routers/" + router + "/add_router_interface", json{{"subnet_id", sub}}.dump(),
             "application/json"),
       200);

  std::vector<double> ports, fips;
  std::vector<std::string> port_ids;
  std::string body = json{{"port", {{"network_id", net}, {"binding:host_id", "compute1"}}}}.dump();
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    port_ids.push_back(must(c.Post("/v2.0/ports", body, "application/json"), 201)["port"]["id"]);
    ports.push_back(ms(Clock::now() - t0));
  }
  report(("POST /v2.0/ports (" + std::to_string(n) + " sequential)").c_str(), ports);
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    std::string fip = must(
        c.Post("/v2.0/floatingips", json{{"floatingip", {{"floating_network_id", ext}}}}.dump(),
               "application/json"),
        201)["floatingip"]["id"];
    must(c.Put("/v2.0/floatingips/" + fip, json{{"floatingip", {{"port_id", port_ids[i]}}}}.dump(),
               "application/json"),
         200);
    fips.push_back(ms(Clock::now() - t0));
  }
  report("floating IP create + associate", fips);

  Figures out{p50(ports), p50(fips)};
  if (!concurrent) {
    ::kill(server, SIGTERM);
    ::waitpid(server, nullptr, 0);
    ::unlink(secret.c_str());
    return out;
  }
  // 8 clients, each on its own connection, creating ports for 5 s.
  std::atomic<int> done{0};
  auto until = Clock::now() + std::chrono::seconds(5);
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      httplib::Client own("127.0.0.1", std::stoi(port));
      own.set_keep_alive(true);
      own.set_tcp_nodelay(true);
      if (!token.empty())
        own.set_default_headers({{"X-Auth-Token", token}});
      while (Clock::now() < until) {
        auto r = own.Post("/v2.0/ports", json{{"port", {{"network_id", net}}}}.dump(),
                          "application/json");
        if (r && r->status == 201)
          done++;
      }
    });
  }
  for (auto& t : clients)
    t.join();
  std::printf("%-36s %.0f requests/s (8 clients, 5 s, %s)\n", "POST /v2.0/ports concurrently",
              done / 5.0, db.c_str());
  ::kill(server, SIGTERM);
  ::waitpid(server, nullptr, 0);
  ::unlink(secret.c_str());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string fresh = "sqlite:/tmp/dvr-api-bench-" + std::to_string(::getpid()) + ".db";
  std::string db = argc > 1 && std::string(argv[1]) != "-" ? argv[1] : fresh;
  const int n = argc > 2 ? std::atoi(argv[2]) : 1000;
  auto clean = [&] {
    for (const char* s : {"", "-wal", "-shm"})
      ::unlink((fresh.substr(7) + s).c_str());
  };
  if (argc <= 3) {
    run(db, n, "", true);
    if (db == fresh)
      clean();
    return 0;
  }
  // Keystone against noauth: alternating rounds, each on a fresh SQLite file.
  std::string keystone_dir = argv[3];
  int rounds = argc > 4 ? std::atoi(argv[4]) : 3;
  std::vector<double> noauth_ports, noauth_fips, ks_ports, ks_fips;
  for (int r = 0; r < rounds; ++r) {
    for (bool ks : {false, true}) {
      std::printf("-- round %d, %s\n", r + 1, ks ? "--auth keystone" : "--auth noauth");
      Figures f = run(fresh, n, ks ? keystone_dir : "", false);
      clean();
      (ks ? ks_ports : noauth_ports).push_back(f.port_p50);
      (ks ? ks_fips : noauth_fips).push_back(f.fip_p50);
    }
  }
  double np = p50(noauth_ports), kp = p50(ks_ports), nf = p50(noauth_fips), kf = p50(ks_fips);
  std::printf(
      "median of the rounds' p50s: port create %.2f ms noauth, %.2f ms keystone (%.2fx); "
      "floating IP create+associate %.2f ms noauth, %.2f ms keystone (%.2fx)\n",
      np, kp, kp / np, nf, kf, kf / nf);
  return 0;
}
