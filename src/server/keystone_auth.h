// Keystone token validation for `dvr server --auth keystone`, as keystonemiddleware's
// auth_token does it: the server holds a token of its own service user (from the usual
// OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME),
// and checks each client's X-Auth-Token with GET /v3/auth/tokens?nocatalog
// (X-Auth-Token: its own, X-Subject-Token: the client's). A valid token's project, user and
// roles become the request's context; it is cached until it expires, but at most
// `cache_seconds` (keystonemiddleware's token_cache_time, 300 s: a revoked token is refused
// within that time), so a client's next requests cost no call to Keystone.
//
// Thread-safe; validate() blocks on Keystone on a miss, so it runs on the server's worker
// threads, never on the event loop.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "server/request_context.h"

namespace dvr::server {

struct ServiceCredentials {
  std::string username, password, project_name;
  std::string user_domain_name = "Default", project_domain_name = "Default";
  // From OS_* (the variable named in `missing` when a required one is absent).
  static ServiceCredentials fromEnvironment(std::string& missing);
};

// Why a token was not accepted.
enum class TokenRefusal {
  Invalid,      // missing, unknown, expired, revoked or unscoped: 401 for the client
  Unavailable,  // Keystone did not answer, or refused the server's own credentials: 503
};

struct TokenCheck {
  std::optional<RequestContext> context;  // set when the token is valid
  TokenRefusal refusal = TokenRefusal::Invalid;
  std::string why;  // for the log
};

class KeystoneAuth {
 public:
  KeystoneAuth(std::string auth_url, ServiceCredentials service, int cache_seconds = 300);

  // Issues the service token now: false (with the reason) if Keystone refuses the service
  // credentials or cannot be reached.
  bool checkServiceCredentials(std::string& why);
  // A token of the credentials (issued once, then reused until a minute before it
  // expires); nullopt with the reason. What `dvr status` sends for OS_* (cli/credentials.h).
  std::optional<std::string> issueToken(std::string& why);

  TokenCheck validate(const std::string& token);

  // The URL clients are told to authenticate at (WWW-Authenticate), ".../v3".
  const std::string& identityUri() const { return v3_; }

  // How many validations went to Keystone (cache misses), for tests and the log.
  uint64_t keystoneCalls() const;

 private:
  std::optional<std::string> serviceToken(bool renew, std::string& why);
  std::string base_;  // scheme://host:port
  std::string path_;  // the URL's path up to /v3
  std::string v3_;
  ServiceCredentials service_;
  std::chrono::seconds cache_for_;

  mutable std::mutex mu_;
  std::string service_token_;
  std::chrono::system_clock::time_point service_expires_{};
  struct Cached {
    RequestContext context;
    std::chrono::system_clock::time_point until;
  };
  std::map<std::string, Cached> cache_;
  uint64_t calls_ = 0;
};

}  // namespace dvr::server
