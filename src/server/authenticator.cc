#include "server/authenticator.h"

#include <nlohmann/json.hpp>

#include "observe/log.h"
#include "server/agent_credential.h"
#include "server/api_error.h"

namespace dvr::server {
namespace {

using nlohmann::json;

std::string header(const ApiRequest& r, const char* name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

ApiResponse neutronError(int status, const char* type, const std::string& message) {
  return {status, errorText(ApiError(status, type, message))};
}

bool loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1" || host == "[::1]";
}

}  // namespace

std::unique_ptr<Authenticator> Authenticator::make(const AuthOptions& o, std::string& error) {
  auto a = std::unique_ptr<Authenticator>(new Authenticator());
  if (o.mode != "noauth" && o.mode != "keystone") {
    error = "--auth " + o.mode + ": expected noauth or keystone";
    return nullptr;
  }
  if (!o.agent_secret_file.empty()) {
    auto secret = readAgentSecret(o.agent_secret_file, error);
    if (!secret) {
      error = "--agent-secret-file: " + error;
      return nullptr;
    }
    a->secret_ = *secret;
  }
  if (o.mode == "keystone") {
    std::string url = o.auth_url;
    if (url.empty() && std::getenv("OS_AUTH_URL"))
      url = std::getenv("OS_AUTH_URL");
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      error = "--auth keystone needs --auth-url http://HOST:PORT/v3 (or OS_AUTH_URL)";
      return nullptr;
    }
    std::string missing;
    ServiceCredentials service = ServiceCredentials::fromEnvironment(missing);
    if (!missing.empty()) {
      error =
          "--auth keystone: the server's own service credentials come from OS_USERNAME, "
          "OS_PASSWORD, OS_PROJECT_NAME (and OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME); " +
          missing + " is not set";
      return nullptr;
    }
    a->keystone_ = std::make_unique<KeystoneAuth>(url, service, o.token_cache_seconds);
    std::string why;
    if (!a->keystone_->checkServiceCredentials(why)) {
      error = "--auth keystone: " + why;
      return nullptr;
    }
  }
  return a;
}

std::vector<std::string> Authenticator::startupWarnings(const std::string& bind_host) const {
  std::vector<std::string> out;
  if (!keystone_ && !loopback(bind_host)) {
    out.push_back(
        "WARNING: NO AUTHENTICATION on " + bind_host +
        ": every client that reaches this address is an admin of every project and can read, "
        "change and delete all resources. Serve with --auth keystone --auth-url URL, or bind "
        "to 127.0.0.1.");
  }
  if (agentsOpen()) {
    out.push_back(
        "WARNING: the agent endpoints (/dvr/v1/...) are open: any caller can register or "
        "re-register a host (its tunnel IP, its agent mode, a new DVR MAC) and read every "
        "host's topology. Give --agent-secret-file F (and each agent its key from "
        "`dvr agent-key`) to require agent credentials.");
  } else if (secret_.empty()) {
    out.push_back(
        "WARNING: no --agent-secret-file: no agent can register with this server (agent "
        "endpoints require an agent credential under --auth keystone).");
  }
  return out;
}

// keystonemiddleware's answer to a missing or invalid token, which Neutron's clients see.
std::optional<ApiResponse> Authenticator::tokenContext(ApiRequest& r) {
  TokenCheck check = keystone_->validate(header(r, "x-auth-token"));
  if (check.context) {
    r.context = std::move(*check.context);
    return std::nullopt;
  }
  if (check.refusal == TokenRefusal::Unavailable) {
    spdlog::error("server {} {}: cannot validate the token: {}", r.method, r.path, check.why);
    json body{{"error",
               {{"code", 503},
                {"title", "Service Unavailable"},
                {"message", "The Keystone service is temporarily unavailable."}}}};
    return ApiResponse{503, body.dump()};
  }
  spdlog::info("server {} {}: 401: {}", r.method, r.path, check.why);
  json body{{"error",
             {{"code", 401},
              {"title", "Unauthorized"},
              {"message", "The request you have made requires authentication."}}}};
  ApiResponse refused{401, body.dump()};
  refused.headers.push_back(
      {"WWW-Authenticate", "Keystone uri=\"" + keystone_->identityUri() + "\""});
  return refused;
}

std::optional<ApiResponse> Authenticator::admit(ApiRequest& r) {
  if (r.path.rfind("/dvr/v1/", 0) == 0)
    return admitAgent(r);
  // /metrics tells who calls and how much: under Keystone, for an admin's token or an
  // agent's key (as the agent endpoints); open under noauth, where everyone is an admin.
  if (r.path == "/metrics") {
    r.context = noauthContext(r);
    return keystone_ ? admitAgent(r) : std::nullopt;
  }
  r.context = noauthContext(r);
  if (!keystone_ || r.path == "/" || r.path.empty())
    return std::nullopt;
  return tokenContext(r);
}

std::optional<ApiResponse> Authenticator::admitAgent(ApiRequest& r) {
  r.context = noauthContext(r);
  if (agentsOpen())
    return std::nullopt;
  std::string host = header(r, "x-dvr-agent-host");
  std::string key = header(r, "x-dvr-agent-key");
  if (!host.empty() || !key.empty()) {
    if (secret_.empty())
      return neutronError(
          401, "HTTPUnauthorized",
          "This server takes no agent credentials (it has no --agent-secret-file).");
    if (host.empty() || key.empty())
      return neutronError(401, "HTTPUnauthorized",
                          "An agent credential is X-DVR-Agent-Host and X-DVR-Agent-Key together.");
    if (!agentKeyMatches(secret_, host, key)) {
      spdlog::warn("server {} {}: refused an invalid agent key for host {}", r.method, r.path,
                   host);
      return neutronError(401, "HTTPUnauthorized", "The agent key is not host " + host + "'s key.");
    }
    r.context = RequestContext{};
    r.context.user_id = "agent:" + host;
    r.context.agent_host = host;
  } else if (keystone_) {
    if (header(r, "x-auth-token").empty())
      return neutronError(401, "HTTPUnauthorized",
                          "The agent endpoints need an agent credential (X-DVR-Agent-Host, "
                          "X-DVR-Agent-Key) or an admin's X-Auth-Token.");
    if (auto refused = tokenContext(r))
      return refused;
  }
  // What each caller may do. An agent: its own host; an admin: read everything.
  const RequestContext& c = r.context;
  static const std::string kAgents = "/dvr/v1/agents/";
  if (r.method == "PUT" && r.path.rfind(kAgents, 0) == 0) {
    std::string target = r.path.substr(kAgents.size());
    if (c.agent_host.empty())
      return neutronError(403, "HTTPForbidden",
                          "Registering host " + target + " needs that host's agent credential.");
    if (c.agent_host != target)
      return neutronError(
          403, "HTTPForbidden",
          "The agent credential of host " + c.agent_host + " cannot register host " + target + ".");
    return std::nullopt;
  }
  if (!c.agent_host.empty() && r.path == "/dvr/v1/topology") {
    auto h = r.query.find("host");
    if (h == r.query.end() || h->second != c.agent_host)
      return neutronError(403, "HTTPForbidden",
                          "The agent credential of host " + c.agent_host +
                              " reads only its own host's topology (host=" + c.agent_host + ").");
    return std::nullopt;
  }
  if (c.agent_host.empty() && !c.is_admin)
    return neutronError(403, "HTTPForbidden",
                        "The agent endpoints are for agents and admins only.");
  return std::nullopt;
}

}  // namespace dvr::server
