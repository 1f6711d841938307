#include "server/neutron_api.h"

#include <atomic>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <set>

#include "ipam/resolve.h"
#include "model/error.h"
#include "model/topology_json.h"
#include "observe/log.h"
#include "plan/cloud_index.h"
#include "server/api_error.h"
#include "server/api_state.h"
#include "server/attribute_map.h"
#include "server/incremental_fip.h"
#include "server/incremental_port.h"
#include "server/incremental_port_edit.h"
#include "server/list_query.h"
#include "server/neutron_views.h"
#include "server/policy.h"
#include "server/quotas.h"
#include "server/request_args.h"
#include "server/resource_writes.h"
#include "server/security_group_state.h"
#include "server/subnet_pools.h"

namespace dvr::server {
namespace {

using nlohmann::json;
using namespace dvr::model;

// ---- errors from resolve(), mapped to Neutron's types ----

// Neutron's answer to each kind of problem. Its messages for the specific kinds are
// sentences of their own; any other problem is a BadRequest that names the object.
struct NeutronAnswer {
  ProblemKind kind;
  int status;
  const char* type;
  bool names_object;
};
constexpr NeutronAnswer kNeutronAnswers[] = {
    {ProblemKind::Invalid, 400, "BadRequest", true},
    {ProblemKind::IpInUse, 409, "IpAddressAlreadyAllocated", false},
    {ProblemKind::MacInUse, 409, "MacAddressInUse", false},
    {ProblemKind::PoolExhausted, 409, "IpAddressGenerationFailure", false},
    {ProblemKind::OutsideSubnet, 400, "InvalidIpForSubnet", false},
    {ProblemKind::NotExternalNetwork, 400, "BadRequest", false},
    {ProblemKind::NoExternalGateway, 404, "ExternalGatewayForFloatingIPNotFound", false},
    {ProblemKind::PortHasFloatingIp, 409, "FloatingIPPortAlreadyAssociated", false},
    {ProblemKind::PortHasNoIp, 400, "BadRequest", false},
};

// Neutron answers one error: the first problem's.
ApiError fromProblems(const InputError& e) {
  const Problem& p = e.problems().front();
  const NeutronAnswer* answer = &kNeutronAnswers[0];
  for (const auto& a : kNeutronAnswers) {
    if (a.kind == p.kind)
      answer = &a;
  }
  return ApiError(answer->status, answer->type,
                  answer->names_object ? p.object + ": " + p.message : p.message);
}

}  // namespace

// ---- the handler ----

ApiResponse NeutronApi::handle(const ApiRequest& req) {
  try {
    if (nestedDeeperThan(req.body, limits_.max_depth))
      throw badRequest("Malformed request body: nested deeper than " +
                       std::to_string(limits_.max_depth) + " levels");
    return dispatch(req);
  } catch (const ApiError& e) {
    return {e.status(), errorText(e)};
  } catch (const store::StoreError& e) {
    return storeUnavailable(req.method + " " + req.path, e);
  } catch (const std::exception& e) {
    spdlog::error("server {} {} failed: {}", req.method, req.path, e.what());
    json body{{"NeutronError",
               {{"type", "HTTPInternalServerError"},
                {"message", "Request Failed: internal server error while processing your request."},
                {"detail", ""}}}};
    return {500, body.dump()};
  }
}

std::shared_ptr<const NeutronApi::Cached> NeutronApi::current() {
  if (auto snap = cached(store_.revision()))
    return snap;
  store::Snapshot raw = store_.read();
  ApiState parsed = ApiState::fromRows(raw.rows);
  try {
    Cloud resolved = ipam::resolve(parsed.topologyForResolve(), "state");
    auto snap = std::make_shared<Cached>(  // not const: a write may reuse it (spare_)
        Cached{raw.revision, std::move(parsed), std::move(resolved)});
    remember(snap);
    return snap;
  } catch (const InputError& e) {
    throw ApiError(500, "HTTPInternalServerError",
                   std::string("stored state does not resolve: ") + e.what());
  }
}

std::shared_ptr<const NeutronApi::Cached> NeutronApi::cached(uint64_t revision) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return cache_ && cache_->revision == revision ? cache_ : nullptr;
}

std::shared_ptr<const NeutronApi::Cached> NeutronApi::remember(std::shared_ptr<const Cached> c) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (c && (!cache_ || c->revision >= cache_->revision))
    return std::exchange(cache_, std::move(c));
  return nullptr;
}

namespace {

struct Route {
  std::string collection, id, action, tag;  // tag: /v2.0/<collection>/<id>/tags/<tag>
};

Route split(const std::string& path) {
  Route r;
  std::vector<std::string> parts;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos)
      end = path.size();
    if (end > start)
      parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  // parts[0] == "v2.0"
  if (parts.size() > 1)
    r.collection = parts[1];
  if (parts.size() > 2)
    r.id = parts[2];
  if (parts.size() > 3)
    r.action = parts[3];
  if (parts.size() > 4)
    r.tag = parts[4];
  if (parts.size() > 5 || (parts.size() > 4 && r.action != "tags"))
    r.action = "/";  // no such path
  for (std::string* s : {&r.collection, &r.id}) {
    if (s->size() > 5 && s->substr(s->size() - 5) == ".json")
      s->resize(s->size() - 5);
  }
  return r;
}

}  // namespace

namespace {
std::atomic<uint64_t> g_database_errors{0};
}  // namespace

uint64_t databaseErrors() {
  return g_database_errors.load();
}

ApiResponse storeUnavailable(const std::string& what, const store::StoreError& e) {
  g_database_errors.fetch_add(1);
  // The cause goes to the log; the client learns that nothing was done and may retry.
  spdlog::error("server {}: database error: {}", what, e.what());
  ApiError answer(503, "ServiceUnavailable",
                  "The database is unavailable; the request was not carried out. Retry later.");
  return {503, errorText(answer)};
}

namespace {

// Neutron's answer (webob's) to a method the resource does not have.
void allow(const std::string& method, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (method == a)
      return;
  }
  throw ApiError(405, "HTTPMethodNotAllowed",
                 "The method " + method + " is not allowed for this resource.");
}

// Neutron's 404 for a resource that is not there: its type (NetworkNotFound, …) and id.
ApiError notFoundError(const std::string& collection, const std::string& id) {
  static const std::map<std::string, std::pair<std::string, std::string>> kNames{
      {"networks", {"Network", "NetworkNotFound"}},
      {"subnets", {"Subnet", "SubnetNotFound"}},
      {"ports", {"Port", "PortNotFound"}},
      {"routers", {"Router", "RouterNotFound"}},
      {"floatingips", {"Floating IP", "FloatingIPNotFound"}},
      {"subnetpools", {"Subnet pool", "SubnetPoolNotFound"}},
      {"agents", {"Agent", "AgentNotFound"}}};
  auto n = kNames.find(collection);
  if (n == kNames.end())
    return notFound("The resource could not be found.");
  return notFound(n->second.first + " " + id + " could not be found.", n->second.second);
}

// Only the fields= of a query (GET of one resource takes no filters).
Query fieldsOf(const Query& query) {
  Query out;
  auto [from, to] = query.equal_range("fields");
  out.insert(from, to);
  return out;
}

// POST {"<collection>": [...]}: Neutron's bulk create, for the kinds it allows in bulk.
// The items, or nothing for a single create.
std::optional<json> bulkItems(const std::string& collection, const std::string& one,
                              const std::string& method, const std::string& id,
                              const ApiRequest& req) {
  if (method != "POST" || !id.empty())
    return std::nullopt;
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains(collection) || body.contains(one))
    return std::nullopt;
  if (collection != "networks" && collection != "subnets" && collection != "ports")
    throw badRequest("Bulk operation not supported for " + collection);
  const json& items = body[collection];
  if (!items.is_array() || items.empty())
    throw badRequest("Resources required: '" + collection + "' must be a non-empty list");
  return items;
}

// Each item is created as a single POST would, in the one transaction of this request:
// any item refused refuses them all and nothing is stored.
WriteOutcome bulkCreate(WriteOutcome (*write)(ApiState&, const WriteRequest&), ApiState& s,
                        const std::string& collection, const std::string& one, const json& items,
                        const WriteRequest& bulk) {
  const ApiRequest& req = bulk.http;
  std::vector<std::function<json(const View&)>> renders;
  for (size_t i = 0; i < items.size(); ++i) {
    ApiRequest item = req;
    item.body = json{{one, items[i]}}.dump();
    const std::string post = "POST", none;
    try {
      // Each item is a create of its own to the policy: its owner, its attributes.
      item.method = post;
      policy::checkWrite(item.context, s, collection, post, none, none, item.body);
      item = policy::withOwner(item, collection);
      renders.push_back(write(s, WriteRequest{post, none, none, item, bulk.l3_ha}).render);
    } catch (const ApiError& e) {
      if (items.size() == 1)
        throw;
      throw ApiError(e.status(), e.type(),
                     std::string(e.what()) + " (item " + std::to_string(i + 1) + " of " +
                         std::to_string(items.size()) + "; none was created)");
    }
  }
  return {201, {}, [renders, collection, one](const View& v) {
            json all = json::array();
            for (const auto& r : renders)
              all.push_back(r(v)[one]);
            return json{{collection, all}};
          }};
}

}  // namespace

ApiResponse NeutronApi::dispatch(const ApiRequest& req) {
  const std::string& m = req.method;
  if (req.path == "/" || req.path.empty()) {
    allow(m, {"GET"});
    json v{{"versions",
            {{{"id", "v2.0"},
              {"status", "CURRENT"},
              {"links", {{{"href", "/v2.0/"}, {"rel", "self"}}}}}}}};
    return {200, v.dump()};
  }
  if (req.path.rfind("/v2.0", 0) != 0)
    throw notFound("The resource could not be found.");
  Route r = split(req.path);
  if (r.collection.empty()) {  // GET /v2.0/: the version's resources, as Neutron lists them
    allow(m, {"GET"});
    json resources = json::array();
    for (const char* c : {"subnets", "networks", "ports"}) {
      std::string one(c);
      one.pop_back();
      resources.push_back({{"name", one},
                           {"collection", c},
                           {"links", {{{"href", std::string("/v2.0/") + c}, {"rel", "self"}}}}});
    }
    return {200, json{{"resources", resources}}.dump()};
  }

  if (r.collection == "extensions") {
    allow(m, {"GET"});
    auto ext = [](const char* alias, const char* name, const char* desc) {
      return json{{"alias", alias},
                  {"name", name},
                  {"description", desc},
                  {"updated", "2013-01-01T00:00:00-00:00"},
                  {"links", json::array()}};
    };
    json all = json::array(
        {ext("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding"),
         ext("external-net", "Neutron external network", "Adds external network attribute"),
         ext("dvr", "Distributed Virtual Router",
             "Enables configuration of Distributed Virtual Routers."),
         ext("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "enable_snat"),
         ext("agent", "agent", "The agent management extension."),
         ext("l3-ha", "HA Router extension", "Adds HA capability to routers."),
         ext("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"),

         ext("binding", "Port Binding", "Expose port bindings of a virtual port"),
         ext("provider", "Provider Network",
             "Expose mapping of virtual networks to physical networks"),
         ext("security-group", "security-group", "The security groups extension."),
         ext("port-security", "Port Security",
             "Provides port security: anti-spoofing and security groups on a port can be "
             "turned off"),
         ext("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
         ext("extra_dhcp_opt", "Neutron Extra DHCP options",
             "Extra options configuration for DHCP. For example PXE boot options to DHCP "
             "clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)"),
         // What every resource carries and every request honours, as Neutron names it.
         ext("standard-attr-description", "standard-attr-description",
             "Extension to add descriptions to standard attributes"),
         ext("standard-attr-timestamp", "Resource timestamps",
             "Adds created_at and updated_at fields to all Neutron resources"),
         ext("standard-attr-revisions", "Resource revision numbers",
             "This extension will display the revision number of neutron resources."),
         ext("project-id", "project_id field enabled",
             "Extension that indicates that project_id field is enabled."),
         ext("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
         ext("net-mtu-writable", "Network MTU (writable)",
             "Provides a writable MTU attribute for a network resource."),
         ext("fip-port-details", "Floating IP Port Details Extension",
             "Add port_details attribute to Floating IP resource"),
         ext("filter-validation", "Filter parameters validation",
             "Provides validation on filter parameters."),
         ext("ip-substring-filtering", "IP address substring filtering",
             "Provides IP address substring filtering when listing ports"),
         ext("tag", "Tag support", "Enables to set tag on resources."),
         ext("subnet_allocation", "Subnet Allocation",
             "Enables allocation of subnets from a subnet pool"),
         ext("standard-attr-tag", "Tag support for resources with standard attribute",
             "Enables to set tag on resources with standard attribute."),
         ext("pagination", "Pagination support",
             "Extension that indicates that pagination is enabled."),
         ext("sorting", "Sorting support", "Extension that indicates that sorting is enabled."),
         ext("quotas", "Quota management support", "Expose functions for quotas management"),
         ext("quota_details", "Quota details management support",
             "Expose functions for quotas usage statistics per project"),
         ext("service-type", "Neutron Service Type Management",
             "API for retrieving service providers for Neutron advanced services")});
    if (r.id.empty())
      return {200, json{{"extensions", all}}.dump()};
    for (const auto& e : all) {
      if (e["alias"] == r.id)
        return {200, json{{"extension", e}}.dump()};
    }
    throw notFound("Extension with alias " + r.id + " does not exist");
  }

  if (r.collection == "service-providers") {  // dvr has no advanced services: none
    allow(m, {"GET"});
    if (!r.id.empty())
      throw notFound("The resource could not be found.");
    return {200, json{{"service_providers", json::array()}}.dump()};
  }

  if (r.collection == "quotas")
    return quotas(req, r.id, r.action);

  auto singular = kResourceOfCollection.find(r.collection);
  if (singular == kResourceOfCollection.end())
    throw notFound("The resource could not be found.");
  const std::string& one = singular->second;
  std::string plural = r.collection;  // the body's key: security_groups for security-groups
  std::replace(plural.begin(), plural.end(), '-', '_');
  bool tags = r.action == "tags" && !r.id.empty() && r.collection != "agents";
  if (!r.action.empty() && r.collection != "routers" && !tags)
    throw notFound("The resource could not be found.");
  if (tags)
    allow(m, {"GET", "PUT", "DELETE"});
  if (r.action.empty())
    allow(m, r.id.empty() ? std::initializer_list<const char*>{"GET", "POST"}
                          : std::initializer_list<const char*>{"GET", "PUT", "DELETE"});

  // ---- reads ----
  if (m == "GET" && r.collection == "routers" && r.action == "l3-agents")
    return l3AgentsOf(req, r.id);
  if (m == "GET") {
    if (!r.action.empty() && !tags)
      throw notFound("The resource could not be found.");
    // Neutron makes a project's default group the first time it lists its groups.
    if (r.collection == "security-groups" && r.id.empty() &&
        defaultGroupOf(current()->state, req.context.project_id).empty()) {
      commit(
          [&](ApiState& s, const WriteRequest&) {
            ensureDefaultGroup(s, req.context.project_id);
            return WriteOutcome{};
          },
          req, "", r.id, r.action);  // the server's own write: no policy to check
    }
    std::shared_ptr<const Cached> snap = current();
    const ApiState& s = snap->state;
    const Cloud& c = snap->cloud;
    View v{s, c};
    json items = json::array();
    // A GET by id renders that item alone: a port's view among 100,000 costs what one
    // view costs, not the list's.
    auto every = [&](const auto& list, auto view) {
      for (const auto& x : list) {
        if (r.id.empty() || x.id == r.id)
          items.push_back((v.*view)(x));
      }
    };
    if (r.collection == "networks") {
      every(c.networks, &View::network);
    } else if (r.collection == "subnets") {
      every(c.subnets, &View::subnet);
    } else if (r.collection == "ports") {
      every(c.ports, &View::port);
    } else if (r.collection == "routers") {
      every(c.routers, &View::router);
    } else if (r.collection == "floatingips") {
      every(c.floating_ips, &View::floatingIp);
    } else if (r.collection == "security-groups") {
      auto rules = v.rulesByGroup();
      for (const auto& g : c.security_groups)
        items.push_back(v.securityGroup(g, rules));
    } else if (r.collection == "security-group-rules") {
      if (s.attrs.contains(kRuleAttrs)) {
        for (const auto& [id, rule] : s.attrs[kRuleAttrs].items())
          items.push_back(v.securityGroupRule(id));
      }
    } else if (r.collection == "subnetpools") {
      if (s.attrs.contains(kPoolAttrs)) {
        for (const auto& [id, pool] : s.attrs[kPoolAttrs].items())
          items.push_back(subnetPoolView(s, id));
      }
    } else if (r.collection == "agents") {
      for (const auto& [host, a] : s.agents.items()) {
        json live = a;
        live["heartbeat"] = lastHeartbeat(host, a);
        live["alive"] = agentAlive(host, a);
        items.push_back(v.agent(host, live));
        if (a.value("dhcp", false))
          items.push_back(v.dhcpAgent(host, live));
      }
    }
    policy::filterReadable(req.context, s, r.collection, items);
    if (r.id.empty()) {
      checkListQuery(r.collection, req.query);
      auto host = req.headers.find("host");
      std::string url = "http://" +
                        (host == req.headers.end() ? std::string("localhost") : host->second) +
                        req.path;
      ListPage page = listPage(r.collection, items, req.query, url, [&](const std::string& id) {
        return std::make_exception_ptr(
            r.collection == "security-groups"
                ? notFound("Security group " + id + " does not exist", "SecurityGroupNotFound")
                : notFoundError(r.collection, id));
      });
      json body{{plural, std::move(page.items)}};
      if (!page.links.empty())
        body[plural + "_links"] = std::move(page.links);
      return {200, body.dump()};
    }
    for (const auto& item : items) {
      if (item["id"] == r.id && tags) {  // the list, or 204 when the tag is set
        json t = item.value("tags", json::array());
        if (r.tag.empty())
          return {200, json{{"tags", t}}.dump()};
        if (std::find(t.begin(), t.end(), r.tag) == t.end())
          throw notFound("Tag " + r.tag + " could not be found.", "TagNotFound");
        return {204, ""};
      }
      if (item["id"] == r.id)  // fields= cuts a single resource as it cuts a list
        return {200,
                json{{one, filtered(r.collection, json::array({item}), fieldsOf(req.query))[0]}}
                    .dump()};
    }
    if (r.collection == "security-groups")
      throw notFound("Security group " + r.id + " does not exist", "SecurityGroupNotFound");
    if (r.collection == "security-group-rules")
      throw notFound("Security group rule " + r.id + " does not exist",
                     "SecurityGroupRuleNotFound");
    throw notFoundError(r.collection, r.id);
  }

  // ---- writes: one transaction; the kind's write changes the state, resolve() checks
  // and allocates ----
  static const std::map<std::string, WriteOutcome (*)(ApiState&, const WriteRequest&)> kWrites{
      {"networks", writeNetwork},
      {"subnets", writeSubnet},
      {"ports", writePort},
      {"routers", writeRouter},
      {"floatingips", writeFloatingIp},
      {"agents", writeAgent},
      {"security-groups", writeSecurityGroup},
      {"security-group-rules", writeSecurityGroupRule},
      {"subnetpools", writeSubnetPool}};
  if (m != "POST" && m != "PUT" && m != "DELETE")
    throw ApiError(405, "HTTPMethodNotAllowed", "Method " + m + " not allowed");
  auto write = kWrites.at(r.collection);
  auto change = [&](ApiState& s, const WriteRequest& w) {
    if (tags)
      return writeTags(s, r.collection, r.id, r.tag, w.http);
    if (auto items = bulkItems(r.collection, one, m, r.id, w.http))
      return bulkCreate(write, s, r.collection, one, *items, w);
    return write(s, w);
  };
  WriteOutcome outcome = commit(change, req, r.collection, r.id, r.action);
  if (outcome.response.is_object() && outcome.response.contains(one))
    policy::redact(req.context, r.collection, outcome.response[one]);
  bool empty = outcome.status == 204 || outcome.response.is_null();  // e.g. a tag added: 201
  return {outcome.status, empty ? "" : outcome.response.dump()};
}

ApiResponse NeutronApi::quotas(const ApiRequest& req, const std::string& project,
                               std::string action) {
  if (action.size() > 5 && action.substr(action.size() - 5) == ".json")
    action.resize(action.size() - 5);  // Tempest asks for details.json
  if (req.method == "GET")
    return {200, readQuotas(req.context, current()->state, project, action).dump()};
  allow(req.method, {"GET", "PUT", "DELETE"});
  if (!action.empty())
    throw notFound("The resource could not be found.");
  json answer;
  commit(
      [&](ApiState& s, const WriteRequest&) {
        answer = writeQuotas(req.context, s, req.method, project, req.body);
        return WriteOutcome{};
      },
      req, "", project, "");  // writeQuotas checks the caller is an admin
  if (answer.is_null())
    return {204, ""};
  return {200, answer.dump()};
}

WriteOutcome NeutronApi::commit(
    const std::function<WriteOutcome(ApiState&, const WriteRequest&)>& change,
    const ApiRequest& req, const std::string& collection, const std::string& id,
    const std::string& action) {
  // The owner of what is created comes from the caller (server/policy.h).
  const ApiRequest owned = policy::withOwner(req, collection);
  WriteOutcome outcome;
  std::shared_ptr<const Cached> written;
  // Writes of this server take turns through commit *and* caching, so the next one starts
  // from the cached state instead of loading every row.
  std::unique_lock<std::mutex> one_writer(write_mu_);
  uint64_t indexed_revision = 0;  // what port_index_ describes once this write commits
  store_.transact([&](store::Transaction& tx) {
    uint64_t base_revision = tx.revision();
    std::shared_ptr<const Cached> base = cached(base_revision);
    std::optional<ApiState> loaded;
    if (!base)
      loaded = ApiState::fromRows(tx.read().rows);
    const ApiState& before = base ? base->state : *loaded;
    policy::checkWrite(req.context, before, collection, req.method, id, action, req.body);
    // The state two writes back, when no reader held it, lends its lists' memory.
    std::shared_ptr<Cached> spare = std::move(spare_);
    ApiState s = ApiState::copyForWrite(before, spare ? std::move(spare->state) : ApiState{});
    Cloud spare_cloud = spare ? std::move(spare->cloud) : Cloud{};
    spare.reset();
    s.trackAttrs();
    outcome = change(s, WriteRequest{req.method, id, action, owned, l3_ha_});
    if (req.method == "POST" && id.empty() && action.empty())
      enforceQuotas(before, s, collection);

    auto can_place = schedulable(s);
    std::set<std::string> unschedulable;
    for (const auto& [host, agent] : s.agents.items()) {
      if (!can_place(host))
        unschedulable.insert(host);
    }
    // Writes resolved from the cloud they were made on, when that cloud was resolved with
    // the same hosts for SNAT: attributes only, a VM port added, deleted or bound to
    // another host, a floating IP made, (dis)associated or deleted. The row comparison
    // they start from is cheap next to the whole resolve the others take.
    std::vector<store::RowChange> rows;
    std::optional<Cloud> quick;
    if (base && base->unschedulable == unschedulable && action.empty()) {
      rows = s.changesSince(before);
      const bool index_current = port_index_.revision == base_revision;
      bool index_lent = false;
      // The port index, current, and marked as describing no revision until this write
      // commits (a write that changes it and then fails leaves it to be rebuilt).
      auto portIndex = [&]() -> PortIndex& {
        if (!index_current)
          port_index_ = PortIndex::of(base->cloud, base_revision);
        port_index_.revision = 0;
        index_lent = true;
        return port_index_;
      };
      bool index_kept = false;  // the write leaves the ports the index describes
      if (onlyAttributeRows(rows)) {
        quick = unchangedCloud(base->cloud, std::move(spare_cloud));
        index_kept = true;
      } else if (collection == "ports" && req.method == "POST") {
        quick = appendedPort(base->cloud, before, s, rows, portIndex(), std::move(spare_cloud));
      } else if (collection == "ports" && req.method == "DELETE") {
        quick = removedPort(base->cloud, before, s, rows, portIndex(), std::move(spare_cloud));
      } else if (collection == "ports" && req.method == "PUT") {
        quick = reboundPort(base->cloud, before, s, rows, std::move(spare_cloud));
        index_kept = quick.has_value();
      } else if (collection == "floatingips" && (req.method == "POST" || req.method == "PUT")) {
        quick = floatingIpChanged(base->cloud, before, s, rows, std::move(spare_cloud));
      } else if (collection == "floatingips" && req.method == "DELETE") {
        quick = floatingIpDeleted(base->cloud, before, s, rows, std::move(spare_cloud));
      }
      if (index_lent && quick)
        indexed_revision = base_revision + 1;  // it describes the cloud returned
      else if (index_lent)
        port_index_.revision = base_revision;  // unchanged
      else if (index_kept && index_current)
        indexed_revision = base_revision + 1;
    }
    Cloud c;
    if (quick) {
      c = std::move(*quick);
    } else {
      // Validate and allocate the whole cloud; pin what was allocated.
      try {
        c = s.resolve(can_place, "request");
      } catch (const InputError& e) {
        throw fromProblems(e);
      }
      s.pinAllocations(c);
      rows = s.changesSince(before);
    }
    tx.write(rows);
    if (outcome.render)
      outcome.response = outcome.render(View{s, c});
    s.untrackAttrs();
    written = std::make_shared<Cached>(
        Cached{base_revision + 1, std::move(s), std::move(c), std::move(unschedulable)});
  });
  std::shared_ptr<const Cached> replaced = remember(written);  // committed
  // Kept for the next write's copy when nobody else holds it (nobody can take a new
  // reference: it is no longer the cache); else its last reader frees it.
  if (replaced && replaced.use_count() == 1)
    spare_ = std::const_pointer_cast<Cached>(std::move(replaced));
  if (indexed_revision)
    port_index_.revision = indexed_revision;
  one_writer.unlock();
  {
    std::lock_guard<std::mutex> lock(mu_);
    revision_seen_++;
  }
  notifyChanged();
  return outcome;
}

}  // namespace dvr::server
