#include "server/keystone_auth.h"

#include <httplib.h>

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "observe/log.h"

namespace dvr::server {
namespace {

using nlohmann::json;
using Clock = std::chrono::system_clock;

// The bound on remembered tokens: past it, expired ones go first, then all (a flood of
// distinct valid tokens costs Keystone calls, never unbounded memory).
constexpr size_t kMaxCachedTokens = 20000;

// Keystone's "2026-12-01T20:03:32.000000Z"; nullopt when it is not that.
std::optional<Clock::time_point> isoTime(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end)
    return std::nullopt;
  return Clock::from_time_t(timegm(&tm));
}

std::unique_ptr<httplib::Client> client(const std::string& base) {
  auto c = std::make_unique<httplib::Client>(base);
  c->set_connection_timeout(3);
  c->set_read_timeout(10);
  return c;
}

}  // namespace

ServiceCredentials ServiceCredentials::fromEnvironment(std::string& missing) {
  ServiceCredentials c;
  auto env = [&](const char* name, std::string& into, bool required) {
    const char* v = std::getenv(name);
    if (v && *v)
      into = v;
    else if (required && missing.empty())
      missing = name;
  };
  env("OS_USERNAME", c.username, true);
  env("OS_PASSWORD", c.password, true);
  env("OS_PROJECT_NAME", c.project_name, true);
  env("OS_USER_DOMAIN_NAME", c.user_domain_name, false);
  env("OS_PROJECT_DOMAIN_NAME", c.project_domain_name, false);
  return c;
}

KeystoneAuth::KeystoneAuth(std::string auth_url, ServiceCredentials service, int cache_seconds)
    : service_(std::move(service)), cache_for_(cache_seconds) {
  while (!auth_url.empty() && auth_url.back() == '/')
    auth_url.pop_back();
  if (!auth_url.ends_with("/v3"))
    auth_url += "/v3";
  v3_ = auth_url;
  size_t scheme = auth_url.find("://");
  size_t slash = auth_url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  base_ = auth_url.substr(0, slash);
  path_ = auth_url.substr(slash);
}

uint64_t KeystoneAuth::keystoneCalls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

bool KeystoneAuth::checkServiceCredentials(std::string& why) {
  return serviceToken(true, why).has_value();
}

std::optional<std::string> KeystoneAuth::issueToken(std::string& why) {
  return serviceToken(false, why);
}

// The server's own token, issued with its password, renewed a minute before it expires or
// when Keystone stopped accepting it (`renew`).
std::optional<std::string> KeystoneAuth::serviceToken(bool renew, std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!renew && !service_token_.empty() &&
        Clock::now() + std::chrono::seconds(60) < service_expires_)
      return service_token_;
  }
  json body{{"auth",
             {{"identity",
               {{"methods", {"password"}},
                {"password",
                 {{"user",
                   {{"name", service_.username},
                    {"domain", {{"name", service_.user_domain_name}}},
                    {"password", service_.password}}}}}}},
              {"scope",
               {{"project",
                 {{"name", service_.project_name},
                  {"domain", {{"name", service_.project_domain_name}}}}}}}}}};
  auto res = client(base_)->Post(path_ + "/auth/tokens?nocatalog", body.dump(), "application/json");
  if (!res) {
    why = "Keystone at " + v3_ + " did not answer (" + httplib::to_string(res.error()) + ")";
    return std::nullopt;
  }
  if (res->status != 201 || !res->has_header("X-Subject-Token")) {
    why = "Keystone at " + v3_ + " refused the service credentials of user " + service_.username +
          " (HTTP " + std::to_string(res->status) + ")";
    return std::nullopt;
  }
  std::string token = res->get_header_value("X-Subject-Token");
  auto parsed = json::parse(res->body, nullptr, false);
  auto expires =
      parsed.is_discarded() ? std::nullopt : isoTime(parsed["token"].value("expires_at", ""));
  std::lock_guard<std::mutex> lock(mu_);
  service_token_ = token;
  service_expires_ = expires.value_or(Clock::now() + std::chrono::minutes(5));
  return token;
}

TokenCheck KeystoneAuth::validate(const std::string& token) {
  TokenCheck out;
  if (token.empty()) {
    out.why = "no X-Auth-Token";
    return out;
  }
  // A token is header-safe text; anything else could not be one, and would not be passed on.
  if (token.size() > 8192 || token.find_first_of("\r\n") != std::string::npos) {
    out.why = "malformed X-Auth-Token";
    return out;
  }
  auto now = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(token);
    if (it != cache_.end()) {
      if (now < it->second.until) {
        out.context = it->second.context;
        return out;
      }
      cache_.erase(it);
    }
    calls_++;
  }
  httplib::Result res{nullptr, httplib::Error::Unknown};
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::string why;
    auto service = serviceToken(attempt > 0, why);
    if (!service) {
      out.refusal = TokenRefusal::Unavailable;
      out.why = why;
      return out;
    }
    res = client(base_)->Get(path_ + "/auth/tokens?nocatalog",
                             {{"X-Auth-Token", *service}, {"X-Subject-Token", token}});
    if (!res) {
      out.refusal = TokenRefusal::Unavailable;
      out.why = "Keystone at " + v3_ + " did not answer (" + httplib::to_string(res.error()) + ")";
      return out;
    }
    if (res->status != 401)  // 401: the service token itself expired or was revoked
      break;
  }
  if (res->status == 404) {  // the subject token is unknown, expired or revoked
    out.why = "Keystone does not know the token";
    return out;
  }
  if (res->status != 200) {
    out.refusal = TokenRefusal::Unavailable;
    out.why = "Keystone answered " + std::to_string(res->status) + " validating a token";
    return out;
  }
  auto body = json::parse(res->body, nullptr, false);
  if (body.is_discarded() || !body.contains("token") || !body["token"].is_object()) {
    out.refusal = TokenRefusal::Unavailable;
    out.why = "Keystone's validation answer is not a token";
    return out;
  }
  const json& t = body["token"];
  // An unscoped token carries no project: Neutron's resources all belong to one.
  if (!t.contains("project") || !t["project"].is_object()) {
    out.why = "the token is not scoped to a project";
    return out;
  }
  RequestContext c;
  c.project_id = t["project"].value("id", "");
  if (t.contains("user") && t["user"].is_object())
    c.user_id = t["user"].value("id", "");
  if (t.contains("roles") && t["roles"].is_array()) {
    for (const auto& r : t["roles"]) {
      if (r.is_object() && r.contains("name") && r["name"].is_string())
        c.roles.insert(r["name"].get<std::string>());
    }
  }
  c.is_admin = c.roles.count("admin") > 0;  // Neutron's context_is_admin: role:admin
  auto expires = isoTime(t.value("expires_at", ""));
  if (!expires || *expires <= now) {
    out.why = "the token has expired";
    return out;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() >= kMaxCachedTokens) {
    std::erase_if(cache_, [&](const auto& e) { return e.second.until <= now; });
    if (cache_.size() >= kMaxCachedTokens)
      cache_.clear();
  }
  cache_[token] = Cached{c, std::min(*expires, now + cache_for_)};
  out.context = std::move(c);
  return out;
}

}  // namespace dvr::server
