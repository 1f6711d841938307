#include "server/policy.h"

#include <algorithm>
#include <map>

#include "server/attribute_map.h"
#include "server/security_group_state.h"

namespace dvr::server::policy {
namespace {

using nlohmann::json;

std::string projectOf(const ApiState& s, const char* kind, const std::string& id) {
  if (!s.attrs.contains(kind) || !s.attrs[kind].contains(id))
    return "";
  const json& a = s.attrs[kind][id];
  return a.contains("project_id") && a["project_id"].is_string()
             ? a["project_id"].get<std::string>()
             : "";
}

struct NetworkFacts {
  bool exists = false, external = false, shared = false;
  std::string project;
};

NetworkFacts networkFacts(const ApiState& s, const std::string& id) {
  NetworkFacts f;
  for (const auto& n : s.topo.networks) {
    if (n.name != id)
      continue;
    f.exists = true;
    f.external = n.external;
    f.project = projectOf(s, "networks", id);
    if (s.attrs.contains("networks") && s.attrs["networks"].contains(id))
      f.shared = s.attrs["networks"][id].value("shared", false);
  }
  return f;
}

bool owns(const RequestContext& c, const std::string& project) {
  return !c.project_id.empty() && project == c.project_id;
}

bool seesNetwork(const RequestContext& c, const NetworkFacts& n) {
  return n.exists && (c.is_admin || owns(c, n.project) || n.shared || n.external);
}

[[noreturn]] void forbidden(const std::string& rule) {
  throw ApiError(403, "PolicyNotAuthorized", "(" + rule + ") is disallowed by policy");
}

// What `c` may do with an existing resource: see it, change it.
struct Access {
  bool exists = false, sees = false, changes = false;
};

Access access(const RequestContext& c, const ApiState& s, const std::string& collection,
              const std::string& id) {
  Access a;
  auto set = [&](bool exists, bool sees, bool changes) {
    a.exists = exists;
    a.sees = exists && (c.is_admin || sees);
    a.changes = exists && (c.is_admin || changes);
  };
  if (collection == "networks") {
    NetworkFacts n = networkFacts(s, id);
    set(n.exists, seesNetwork(c, n), owns(c, n.project));
  } else if (collection == "subnets") {
    auto it = std::find_if(s.topo.subnets.begin(), s.topo.subnets.end(),
                           [&](const auto& x) { return x.name == id; });
    if (it != s.topo.subnets.end()) {
      NetworkFacts n = networkFacts(s, it->network);
      bool mine = owns(c, projectOf(s, "subnets", id)) || owns(c, n.project);
      set(true, mine || n.shared, mine);
    }
  } else if (collection == "ports") {
    auto it = std::find_if(s.topo.vms.begin(), s.topo.vms.end(),
                           [&](const auto& x) { return x.name == id; });
    if (it != s.topo.vms.end()) {
      bool mine =
          owns(c, projectOf(s, "ports", id)) || owns(c, networkFacts(s, it->network).project);
      set(true, mine, mine);
    }
  } else if (collection == "routers") {
    bool exists = std::any_of(s.topo.routers.begin(), s.topo.routers.end(),
                              [&](const auto& x) { return x.name == id; });
    bool mine = owns(c, projectOf(s, "routers", id));
    set(exists, mine, mine);
  } else if (collection == "floatingips") {
    bool exists = std::any_of(s.topo.floating_ips.begin(), s.topo.floating_ips.end(),
                              [&](const auto& x) { return x.id && *x.id == id; });
    bool mine = owns(c, projectOf(s, "floatingips", id));
    set(exists, mine, mine);
  } else if (collection == "security-groups" || collection == "security-group-rules") {
    const char* kind = collection == "security-groups" ? kGroupAttrs : kRuleAttrs;
    bool exists = s.attrs.contains(kind) && s.attrs[kind].contains(id);
    bool mine = owns(c, projectOf(s, kind, id));
    set(exists, mine, mine);
  } else if (collection == "subnetpools") {
    bool exists = s.attrs.contains("subnetpools") && s.attrs["subnetpools"].contains(id);
    bool mine = owns(c, projectOf(s, "subnetpools", id));
    set(exists, mine || (exists && s.attrs["subnetpools"][id].value("shared", false)), mine);
  } else if (collection == "agents") {
    bool exists = false;
    for (const auto& [host, agent] : s.agents.items())
      exists = exists || agent.value("id", std::string("")) == id;
    set(exists, false, false);
  }
  return a;
}

// The attributes only an admin may set, with the value that counts as not setting them
// (Neutron checks an attribute's rule when the request gives it other than its default;
// a null default here: any value given).
struct AdminAttr {
  const char* collection;
  const char* name;
  json unset;
};
const AdminAttr kAdminOnly[] = {
    {"networks", "router:external", false},
    {"networks", "shared", false},
    {"networks", "is_default", false},
    {"networks", "provider:network_type", nullptr},
    {"networks", "provider:physical_network", nullptr},
    {"networks", "provider:segmentation_id", nullptr},
    {"networks", "segments", nullptr},
    {"ports", "binding:host_id", nullptr},
    {"ports", "binding:profile", nullptr},
    {"routers", "distributed", nullptr},
    {"routers", "ha", nullptr},
    {"subnetpools", "shared", false},
    {"subnetpools", "is_default", false},
};

// And those hidden from everyone else on read.
const std::map<std::string, std::vector<const char*>> kAdminReadOnly{
    {"networks",
     {"provider:network_type", "provider:physical_network", "provider:segmentation_id"}},
    {"ports", {"binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details"}},
    {"routers", {"distributed", "ha"}},
};

void checkAdminAttrs(const std::string& collection, const std::string& verb, const json& r) {
  const std::string one = kResourceOfCollection.at(collection);
  for (const auto& a : kAdminOnly) {
    if (collection != a.collection || !r.contains(a.name))
      continue;
    if (verb == "create" && !a.unset.is_null() && r[a.name] == a.unset)
      continue;
    forbidden("rule:" + verb + "_" + one + ":" + a.name);
  }
  if (collection == "routers" && r.contains("external_gateway_info") &&
      r["external_gateway_info"].is_object()) {
    for (const char* k : {"enable_snat", "external_fixed_ips"}) {
      if (r["external_gateway_info"].contains(k))
        forbidden("rule:" + verb + "_router:external_gateway_info:" + k);
    }
  }
}

std::string text(const json& r, const char* key) {
  return r.contains(key) && r[key].is_string() ? r[key].get<std::string>() : "";
}

// A resource the request refers to (a port's network, a floating IP's port...): absent
// or unseen, Neutron's 404 for it. `change`: the caller must also be able to change it.
void referenced(const RequestContext& c, const ApiState& s, const std::string& collection,
                const std::string& id, bool change = false) {
  if (id.empty())
    return;
  Access a = access(c, s, collection, id);
  if (!a.exists)
    return;  // the write says it does not exist
  if (!a.sees || (change && !a.changes))
    throw notFoundIn(collection, id);
}

}  // namespace

ApiError notFoundIn(const std::string& collection, const std::string& id) {
  if (collection == "networks")
    return notFound("Network " + id + " could not be found.", "NetworkNotFound");
  if (collection == "subnets")
    return notFound("Subnet " + id + " could not be found.", "SubnetNotFound");
  if (collection == "ports")
    return notFound("Port " + id + " could not be found.", "PortNotFound");
  if (collection == "routers")
    return notFound("Router " + id + " could not be found", "RouterNotFound");
  if (collection == "floatingips")
    return notFound("Floating IP " + id + " could not be found", "FloatingIPNotFound");
  if (collection == "agents")
    return notFound("Agent " + id + " could not be found.", "AgentNotFound");
  if (collection == "subnetpools")
    return notFound("Subnet pool " + id + " could not be found.", "SubnetPoolNotFound");
  if (collection == "security-groups")
    return notFound("Security group " + id + " does not exist", "SecurityGroupNotFound");
  if (collection == "security-group-rules")
    return notFound("Security group rule " + id + " does not exist", "SecurityGroupRuleNotFound");
  return notFound("The resource could not be found.");
}

void redact(const RequestContext& c, const std::string& collection, json& item) {
  if (c.is_admin || !item.is_object())
    return;
  if (auto hidden = kAdminReadOnly.find(collection); hidden != kAdminReadOnly.end()) {
    for (const char* k : hidden->second)
      item.erase(k);
  }
}

void filterReadable(const RequestContext& c, const ApiState& s, const std::string& collection,
                    json& items) {
  if (c.is_admin)
    return;
  // The same rules as access(), from the views themselves and one pass over the networks
  // (a list must not cost a scan of the state per item).
  std::map<std::string, NetworkFacts> networks;
  if (collection == "subnets" || collection == "ports") {
    for (const auto& n : s.topo.networks)
      networks[n.name] = networkFacts(s, n.name);
  }
  auto network = [&](const json& item) {
    auto it = networks.find(item.value("network_id", std::string("")));
    return it == networks.end() ? NetworkFacts{} : it->second;
  };
  json kept = json::array();
  for (auto& item : items) {
    bool mine = owns(c, item.value("project_id", std::string("")));
    bool sees = false;
    if (collection == "networks")
      sees = mine || item.value("shared", false) || item.value("router:external", false);
    else if (collection == "subnets")
      sees = mine || owns(c, network(item).project) || network(item).shared;
    else if (collection == "ports")  // dvr's own ports (router interfaces) have no project
      sees = mine || owns(c, network(item).project);
    else if (collection == "subnetpools")
      sees = mine || item.value("shared", false);
    else if (collection != "agents")
      sees = mine;
    if (!sees)
      continue;
    redact(c, collection, item);
    kept.push_back(std::move(item));
  }
  items = std::move(kept);
}

void checkWrite(const RequestContext& c, const ApiState& s, const std::string& collection,
                const std::string& method, const std::string& id, const std::string& action,
                const std::string& body) {
  auto singular = kResourceOfCollection.find(collection);
  if (singular == kResourceOfCollection.end())
    return;
  const std::string& one = singular->second;
  json b = json::parse(body, nullptr, false);
  // The resource's object, when the body is one (a malformed body is the write's to refuse).
  json r = json::object();
  if (!b.is_discarded() && b.is_object()) {
    if (b.contains(one) && b[one].is_object())
      r = b[one];
    else if (!action.empty())
      r = b;  // router actions: {"subnet_id": ...}
  }
  if (method == "PUT" && action.empty()) {
    for (const char* k : {"project_id", "tenant_id"}) {
      if (r.contains(k))
        throw badRequest(std::string("Cannot update read-only attribute ") + k);
    }
  }
  if (c.is_admin)
    return;

  if (method != "POST") {
    Access a = access(c, s, collection, id);
    if (a.exists && !a.sees)
      throw notFoundIn(collection, id);
    if (a.exists && !a.changes) {
      std::string verb = method == "DELETE" ? "delete" : "update";
      forbidden("rule:" + (action.empty() ? verb + "_" + one : action));
    }
  }
  if (method == "DELETE")
    return;
  checkAdminAttrs(collection, method == "POST" ? "create" : "update", r);

  // What the request refers to must be the caller's to use.
  if (collection == "subnets" && method == "POST") {
    std::string net = text(r, "network_id");
    referenced(c, s, "networks", net);
    NetworkFacts n = networkFacts(s, net);
    if (n.exists && !owns(c, n.project))
      forbidden("rule:create_subnet");
  } else if (collection == "ports" && method == "POST") {
    referenced(c, s, "networks", text(r, "network_id"));
  } else if (collection == "floatingips") {
    referenced(c, s, "networks", text(r, "floating_network_id"));
    referenced(c, s, "ports", text(r, "port_id"), true);
  } else if (collection == "routers") {
    if (r.contains("external_gateway_info") && r["external_gateway_info"].is_object())
      referenced(c, s, "networks", text(r["external_gateway_info"], "network_id"));
    referenced(c, s, "subnets", text(r, "subnet_id"), true);
    referenced(c, s, "ports", text(r, "port_id"), true);
  } else if (collection == "security-group-rules") {
    referenced(c, s, "security-groups", text(r, "security_group_id"), true);
    referenced(c, s, "security-groups", text(r, "remote_group_id"));
  }
  if (collection == "ports" && r.contains("security_groups") && r["security_groups"].is_array()) {
    for (const auto& g : r["security_groups"]) {
      if (g.is_string())
        referenced(c, s, "security-groups", g.get<std::string>());
    }
  }
}

ApiRequest withOwner(const ApiRequest& request, const std::string& collection) {
  ApiRequest out = request;
  auto singular = kResourceOfCollection.find(collection);
  if (request.method != "POST" || singular == kResourceOfCollection.end() || collection == "agents")
    return out;
  json b = json::parse(request.body, nullptr, false);
  if (b.is_discarded() || !b.is_object() || !b.contains(singular->second) ||
      !b[singular->second].is_object())
    return out;
  json& r = b[singular->second];
  const RequestContext& c = request.context;
  auto given = [&](const char* k) -> std::optional<std::string> {
    if (r.contains(k) && r[k].is_string())
      return r[k].get<std::string>();
    return std::nullopt;
  };
  auto project = given("project_id"), tenant = given("tenant_id");
  if (project && tenant && *project != *tenant)
    throw badRequest("'project_id' and 'tenant_id' do not match");
  auto named = project ? project : tenant;
  if (named && !c.is_admin && *named != c.project_id)
    throw badRequest(
        "Specifying 'project_id' or 'tenant_id' other than the authenticated project in "
        "request requires admin privileges");
  std::string owner = named ? *named : c.project_id;
  // Only what the attribute map takes: a wrong type is the write's to refuse.
  if ((r.contains("project_id") && !project) || (r.contains("tenant_id") && !tenant))
    return out;
  r["project_id"] = owner;
  r["tenant_id"] = owner;
  out.body = b.dump();
  return out;
}

}  // namespace dvr::server::policy
