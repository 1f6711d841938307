// Who may call `dvr server`, decided before a request reaches the API: sets each request's
// RequestContext or refuses it.
//  - The Neutron API (/v2.0/...): with --auth keystone, a valid X-Auth-Token (Keystone,
//    cached: server/keystone_auth.h), else 401 with keystonemiddleware's body and
//    WWW-Authenticate; with --auth noauth (the default), every caller is an admin
//    (request_context.h). GET / (the versions) is public, as in Neutron.
//  - dvr's agent endpoints (/dvr/v1/...): open as before when the server has neither
//    Keystone nor an agent secret (the lab's default). Otherwise an agent's per-host key
//    (server/agent_credential.h) admits its own host only: PUT /dvr/v1/agents/<its host>,
//    GET /dvr/v1/topology?host=<its host>, and the read-only tables; an admin (a Keystone
//    admin token, or anyone under noauth) may read them all but registers no host.
//  - GET /metrics: open under noauth; under Keystone, as the agents' read-only tables: an
//    admin's token or an agent's key.
// admit() may call Keystone: it runs on the worker threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/keystone_auth.h"
#include "server/neutron_api.h"

namespace dvr::server {

struct AuthOptions {
  std::string mode = "noauth";    // noauth | keystone
  std::string auth_url;           // with keystone: OS_AUTH_URL, e.g. http://127.0.0.1:5000/v3
  std::string agent_secret_file;  // empty: no agent credential
  int token_cache_seconds = 300;
};

class Authenticator {
 public:
  // Reads the agent secret and, with Keystone, the service credentials from OS_* (and
  // checks them against Keystone). nullptr with the reason when the options cannot work.
  static std::unique_ptr<Authenticator> make(const AuthOptions& options, std::string& error);

  // What the server must say at start about who may reach it, bound to `bind_host`: the
  // loud warning for noauth on a non-loopback address, and open agent endpoints.
  std::vector<std::string> startupWarnings(const std::string& bind_host) const;

  // Sets request.context; an answer when the request is refused.
  std::optional<ApiResponse> admit(ApiRequest& request);

  bool keystone() const { return keystone_ != nullptr; }
  bool agentsOpen() const { return !keystone_ && secret_.empty(); }

 private:
  std::optional<ApiResponse> admitAgent(ApiRequest& request);
  std::optional<ApiResponse> tokenContext(ApiRequest& request);
  std::unique_ptr<KeystoneAuth> keystone_;
  std::string secret_;
};

}  // namespace dvr::server
