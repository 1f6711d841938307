#include "server/http_server.h"

#include <httplib.h>
#include <signal.h>

#include <iostream>
#include <map>

#include "server/api_error.h"
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

std::string errorJson(int status, const char* type, const std::string& message) {
  return errorText(ApiError(status, type, message));
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
  api.setLimits(options.limits);
  httplib::Server server;
  server.set_payload_max_length(options.limits.max_body_bytes);
  server.set_tcp_nodelay(true);  // no Nagle wait on small answers (40 ms with delayed ACKs)
  server.set_keep_alive_max_count(100000);
  // dvr's agent endpoints first, then the Neutron API for everything else.
  server.Put(R"(/dvr/v1/agents/([^/]+))", [&](const httplib::Request& req, httplib::Response& res) {
    reply(res, api.registerAgent(req.matches[1], req.body));
  });
  server.Get("/dvr/v1/topology", [&](const httplib::Request& req, httplib::Response& res) {
    reply(res, api.topologyQuery(toRequest(req).query));
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
  server.Patch(".*", neutron);  // 405, as Neutron answers methods a resource lacks
  server.Options(".*", neutron);
  // httplib's own refusals (a malformed request line, a body over the limit) and a
  // handler's failure get Neutron's error body too.
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty())
      return;
    static const std::map<int, std::pair<const char*, const char*>> kErrors{
        {400, {"HTTPBadRequest", "Bad Request"}},
        {404, {"HTTPNotFound", "The resource could not be found."}},
        {405, {"HTTPMethodNotAllowed", "The method is not allowed for this resource."}},
        {413, {"HTTPRequestEntityTooLarge", "Request body too large"}},
        {414, {"HTTPRequestURITooLong", "Request-URI Too Long"}},
        {503, {"ServiceUnavailable", "Service Unavailable"}}};
    auto e = kErrors.find(res.status);
    auto [type, message] =
        e == kErrors.end() ? std::pair<const char*, const char*>{"HTTPError", "Error"} : e->second;
    res.set_content(errorJson(res.status, type, message), "application/json");
  });
  server.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        std::cerr << "dvr server: " << req.method << " " << req.path << " failed: " << what
                  << std::endl;
        res.status = 500;
        res.set_content(errorJson(500, "HTTPInternalServerError",
                                  "Request Failed: internal server error while processing your "
                                  "request."),
                        "application/json");
      });
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
