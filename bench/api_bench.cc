// API latency and throughput of `dvr server` on its database, measured over loopback
// with one keep-alive connection (p50/p99), then with 8 concurrent clients (requests/s).
//
//   build/bench/api_bench [DB-URL [N]]   (default: a fresh SQLite file under /tmp, N = 1000)
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
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

}  // namespace

int main(int argc, char** argv) {
  std::string fresh = "sqlite:/tmp/dvr-api-bench-" + std::to_string(::getpid()) + ".db";
  std::string db = argc > 1 && std::string(argv[1]) != "-" ? argv[1] : fresh;
  std::string port = std::to_string(20000 + ::getpid() % 20000);
  std::string dvr = std::string(DVR_BINARY);
  pid_t server = ::fork();
  if (server == 0) {
    ::execl(dvr.c_str(), "dvr", "server", "--bind", ("127.0.0.1:" + port).c_str(), "--db",
            db.c_str(), nullptr);
    _exit(127);
  }
  httplib::Client c("127.0.0.1", std::stoi(port));
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);
  while (!c.Get("/"))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  must(c.Put("/dvr/v1/agents/network1",
             R"({"agent_mode":"dvr_snat","tunnel_ip":"172.16.0.1","uplinks":{"*":"eth1"}})",
             "application/json"),
       200);
  must(c.Put("/dvr/v1/agents/compute1",
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

  const int n = argc > 2 ? std::atoi(argv[2]) : 1000;
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

  // 8 clients, each on its own connection, creating ports for 5 s.
  std::atomic<int> done{0};
  auto until = Clock::now() + std::chrono::seconds(5);
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      httplib::Client own("127.0.0.1", std::stoi(port));
      own.set_keep_alive(true);
      own.set_tcp_nodelay(true);
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
  if (db == fresh) {
    for (const char* s : {"", "-wal", "-shm"})
      ::unlink((db.substr(7) + s).c_str());
  }
  return 0;
}
