// PUT/DELETE /v2.0/<collection>/<id>/tags[/<tag>]: Neutron's tag API (extensions "tag" and
// "standard-attr-tag") on networks, subnets, ports, routers and floating IPs. Tags are
// attributes dvr keeps and filters on (tags=, tags-any=, not-tags=, not-tags-any=).
#include <algorithm>

#include "server/api_error.h"
#include "server/request_args.h"
#include "server/resource_writes.h"
#include "server/state_edit.h"
#include "server/subnet_pools.h"

namespace dvr::server {

using namespace dvr::model;

namespace {

// The resource's attribute kind, or Neutron's 404 for it.
void requireResource(ApiState& s, const std::string& collection, const std::string& id) {
  if (collection == "networks")
    existingNetwork(s, id);
  else if (collection == "subnets")
    existingSubnet(s, id);
  else if (collection == "routers")
    existingRouter(s, id);
  else if (collection == "floatingips")
    existingFip(s, id);
  else if (collection == "subnetpools") {
    if (!s.attrs.contains(kPoolAttrs) || !s.attrs[kPoolAttrs].contains(id))
      throw notFound("Subnet pool " + id + " could not be found.", "SubnetPoolNotFound");
  } else if (collection == "ports") {
    bool router_port = false;
    for (const auto& rt : s.topo.routers) {
      for (const auto& itf : rt.interfaces)
        router_port = router_port || itf.port.id == id;
    }
    if (!router_port)
      existingPort(s, id);
  } else {
    throw notFound("The resource could not be found.");
  }
}

// Neutron's tag: a string of 1 to 60 characters.
std::string checkTag(const json& tag) {
  if (!tag.is_string())
    throw badRequest("Invalid input for operation: '" + tag.dump() + "' is not a valid string.",
                     "InvalidInput");
  std::string t = tag.get<std::string>();
  if (t.empty() || t.size() > 60)
    throw badRequest(
        "Invalid input for operation: '" + t + "' is not a valid tag: 1 to 60 characters.",
        "InvalidInput");
  return t;
}

void store(ApiState& s, const std::string& collection, const std::string& id, json tags) {
  setAttrs(s, collection.c_str(), id, json{{"tags", tags}}, {"tags"}, false);
}

}  // namespace

json tagsOf(const ApiState& s, const std::string& collection, const std::string& id) {
  if (s.attrs.contains(collection) && s.attrs[collection].contains(id))
    return s.attrs[collection][id].value("tags", json::array());
  return json::array();
}

WriteOutcome writeTags(ApiState& s, const std::string& collection, const std::string& id,
                       const std::string& tag, const ApiRequest& req) {
  requireResource(s, collection, id);
  json tags = tagsOf(s, collection, id);
  if (req.method == "PUT" && tag.empty()) {  // replace them all
    json b = parseBody(req, nullptr);
    if (!b.contains("tags") || !b["tags"].is_array())
      throw badRequest("Invalid input for tags: a list of strings is required");
    json all = json::array();
    for (const auto& t : b["tags"]) {
      std::string name = checkTag(t);
      if (std::find(all.begin(), all.end(), name) == all.end())
        all.push_back(name);
    }
    store(s, collection, id, all);
    return {200, json{{"tags", all}}, nullptr};
  }
  if (req.method == "PUT") {
    checkTag(tag);
    if (std::find(tags.begin(), tags.end(), tag) == tags.end())
      tags.push_back(tag);
    store(s, collection, id, tags);
    return {201, nullptr, nullptr};
  }
  if (req.method == "DELETE" && tag.empty()) {
    store(s, collection, id, json::array());
    return {204, {}, nullptr};
  }
  if (req.method == "DELETE") {
    auto it = std::find(tags.begin(), tags.end(), tag);
    if (it == tags.end())
      throw notFound("Tag " + tag + " could not be found.", "TagNotFound");
    tags.erase(it);
    store(s, collection, id, tags);
    return {204, {}, nullptr};
  }
  throw ApiError(405, "HTTPMethodNotAllowed",
                 "The method " + req.method + " is not allowed for this resource.");
}

}  // namespace dvr::server
