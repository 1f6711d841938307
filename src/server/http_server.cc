#include "server/http_server.h"

#include <httplib.h>
#include <signal.h>

#include <iostream>

#include "server/neutron_api.h"
#include "store/store.h"

namespace dvr::server {
namespace {

httplib::Server* g_server = nullptr;
void onSignal(int) {
  if (g_server)
    g_server->stop();
}

ApiRequest toRequest(const httplib::Request& req) {
  ApiRequest r;
  r.method = req.method;
  r.path = req.path;
  for (const auto& [k, v] : req.params)
    r.query.emplace(k, v);
  r.body = req.body;
  return r;
}

void reply(httplib::Response& res, const ApiResponse& a) {
  res.status = a.status;
  if (!a.body.empty())
    res.set_content(a.body, "application/json");
}

}  // namespace

int runServer(const ServerOptions& options) {
  auto colon = options.bind.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "error: --bind " << options.bind << ": expected HOST:PORT\n";
    return 2;
  }
  std::string host = options.bind.substr(0, colon);
  int port = std::stoi(options.bind.substr(colon + 1));
  std::unique_ptr<store::Store> store = store::openStore(options.db);
  NeutronApi api(*store, options.agent_down_time);
  httplib::Server server;
  server.set_payload_max_length(2 << 20);
  server.set_tcp_nodelay(true);  // no Nagle wait on small answers (40 ms with delayed ACKs)
  server.set_keep_alive_max_count(100000);
  // dvr's agent endpoints first, then the Neutron API for everything else.
  server.Put(R"(/dvr/v1/agents/([^/]+))", [&](const httplib::Request& req, httplib::Response& res) {
    reply(res, api.registerAgent(req.matches[1], req.body));
  });
  server.Get("/dvr/v1/topology", [&](const httplib::Request& req, httplib::Response& res) {
    uint64_t since = req.has_param("since") ? std::stoull(req.get_param_value("since")) : 0;
    int wait = req.has_param("wait") ? std::stoi(req.get_param_value("wait")) : 0;
    std::string host = req.has_param("host") ? req.get_param_value("host") : "";
    std::string digest = req.has_param("digest") ? req.get_param_value("digest") : "";
    reply(res, api.topology(since, std::min(wait, 30000), host, digest));
  });
  server.Get("/dvr/v1/host-macs",
             [&](const httplib::Request&, httplib::Response& res) { reply(res, api.hostMacs()); });
  auto neutron = [&](const httplib::Request& req, httplib::Response& res) {
    reply(res, api.handle(toRequest(req)));
  };
  server.Get(".*", neutron);
  server.Post(".*", neutron);
  server.Put(".*", neutron);
  server.Delete(".*", neutron);
  int bound =
      port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    std::cerr << "error: cannot listen on " << options.bind << "\n";
    return 1;
  }
  g_server = &server;
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  std::cout << "dvr server listening on " << host << ":" << bound << " (" << options.db << ")"
            << std::endl;
  server.listen_after_bind();
  return 0;
}

}  // namespace dvr::server
