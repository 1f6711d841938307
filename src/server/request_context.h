// Who a request acts as: the project and roles Neutron's policy decides on. Under
// --auth noauth (the default) every request is an admin, in the project its X-Project-Id
// header names or, without one, in kNoauthProject; with Keystone (issue 13) the token's.
#pragma once

#include <set>
#include <string>

namespace dvr::server {

struct ApiRequest;

// The project of a request without authentication and without X-Project-Id.
inline constexpr const char* kNoauthProject = "dvr-noauth";

struct RequestContext {
  std::string project_id;
  std::string user_id;
  std::set<std::string> roles;
  bool is_admin = false;
  // Set when an agent's credential (server/agent_credential.h) admitted the request: the
  // one host that agent may register and read.
  std::string agent_host;
};

// The context of a request served without authentication.
RequestContext noauthContext(const ApiRequest& request);

}  // namespace dvr::server
