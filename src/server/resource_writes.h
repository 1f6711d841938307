// The writes of the Neutron API, one function per resource kind (server/writes/*.cc).
// Each changes the state it is given and nothing else: NeutronApi::dispatch runs it inside
// the store transaction, then resolves the whole cloud (every validation and allocation),
// pins what was allocated and stores the rows that changed. An ApiError thrown here or by
// resolving rolls all of it back.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "server/api_state.h"
#include "server/neutron_api.h"
#include "server/neutron_views.h"

namespace dvr::server {

struct WriteRequest {
  const std::string& method;  // POST, PUT or DELETE
  const std::string& id;      // /v2.0/<collection>/<id>
  const std::string& action;  // /v2.0/routers/<id>/<action>
  const ApiRequest& http;
  bool l3_ha = false;  // the server's default for a router that does not say (Neutron's l3_ha)
};

struct WriteOutcome {
  int status = 200;
  nlohmann::json response;  // a body known before resolving (kept if render is empty)
  // The body, made from the resolved cloud (allocated addresses, MACs, names).
  std::function<nlohmann::json(const View&)> render;
};

// The shape most kinds share: POST creates (and returns the new id), PUT updates and
// DELETE removes the resource named by the request; `show` is Neutron's body for it.
struct ResourceWrites {
  std::function<std::string(ApiState&, const WriteRequest&)> create;
  std::function<void(ApiState&, const WriteRequest&)> update;
  std::function<void(ApiState&, const std::string& id)> remove;
  std::function<nlohmann::json(const View&, const std::string& id)> show;
};
WriteOutcome write(const ResourceWrites& kind, ApiState& s, const WriteRequest& w);

WriteOutcome writeNetwork(ApiState& s, const WriteRequest& w);
WriteOutcome writeSubnet(ApiState& s, const WriteRequest& w);
WriteOutcome writePort(ApiState& s, const WriteRequest& w);
WriteOutcome writeRouter(ApiState& s, const WriteRequest& w);
WriteOutcome writeFloatingIp(ApiState& s, const WriteRequest& w);
WriteOutcome writeAgent(ApiState& s, const WriteRequest& w);
WriteOutcome writeSecurityGroup(ApiState& s, const WriteRequest& w);
WriteOutcome writeSecurityGroupRule(ApiState& s, const WriteRequest& w);

// /v2.0/<collection>/<id>/tags[/<tag>] (server/writes/tags.cc): PUT (all, or one) and DELETE
// (all, or one); tagsOf is what GET shows.
WriteOutcome writeTags(ApiState& s, const std::string& collection, const std::string& id,
                       const std::string& tag, const ApiRequest& req);
nlohmann::json tagsOf(const ApiState& s, const std::string& collection, const std::string& id);

}  // namespace dvr::server
