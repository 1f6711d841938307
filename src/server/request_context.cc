#include "server/request_context.h"

#include "server/neutron_api.h"

namespace dvr::server {

RequestContext noauthContext(const ApiRequest& request) {
  RequestContext c;
  c.is_admin = true;
  c.roles = {"admin", "member", "reader"};
  auto it = request.headers.find("x-project-id");
  c.project_id = it != request.headers.end() && !it->second.empty() ? it->second : kNoauthProject;
  return c;
}

}  // namespace dvr::server
