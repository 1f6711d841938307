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
#include "server/list_query.h"
#include "server/neutron_views.h"
#include "server/policy.h"
#include "server/request_args.h"
#include "server/resource_writes.h"
#include "server/security_group_state.h"

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
    auto snap = std::make_shared<const Cached>(
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

void NeutronApi::remember(std::shared_ptr<const Cached> c) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (c && (!cache_ || c->revision >= cache_->revision))
    cache_ = std::move(c);
}

namespace {

struct Route {
  std::string collection, id, action;
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
         ext("binding", "Port Binding", "Expose port bindings of a virtual port"),
         ext("provider", "Provider Network",
             "Expose mapping of virtual networks to physical networks"),
         ext("security-group", "security-group", "The security groups extension."),
         ext("port-security", "Port Security",
             "Provides port security: anti-spoofing and security groups on a port can be "
             "turned off"),
         ext("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs")});
    if (r.id.empty())
      return {200, json{{"extensions", all}}.dump()};
    for (const auto& e : all) {
      if (e["alias"] == r.id)
        return {200, json{{"extension", e}}.dump()};
    }
    throw notFound("Extension with alias " + r.id + " does not exist");
  }

  static const std::map<std::string, std::string> kSingular{
      {"networks", "network"},
      {"subnets", "subnet"},
      {"ports", "port"},
      {"routers", "router"},
      {"floatingips", "floatingip"},
      {"agents", "agent"},
      {"security-groups", "security_group"},
      {"security-group-rules", "security_group_rule"}};
  auto singular = kSingular.find(r.collection);
  if (singular == kSingular.end())
    throw notFound("The resource could not be found.");
  const std::string& one = singular->second;
  std::string plural = r.collection;  // the body's key: security_groups for security-groups
  std::replace(plural.begin(), plural.end(), '-', '_');
  if (!r.action.empty() && r.collection != "routers")
    throw notFound("The resource could not be found.");
  if (r.action.empty())
    allow(m, r.id.empty() ? std::initializer_list<const char*>{"GET", "POST"}
                          : std::initializer_list<const char*>{"GET", "PUT", "DELETE"});

  // ---- reads ----
  if (m == "GET") {
    if (!r.action.empty())
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
    auto every = [&](const auto& list, auto view) {
      for (const auto& x : list)
        items.push_back((v.*view)(x));
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
    } else if (r.collection == "agents") {
      for (const auto& [host, a] : s.agents.items()) {
        json live = a;
        live["heartbeat"] = lastHeartbeat(host, a);
        live["alive"] = agentAlive(host, a);
        items.push_back(v.agent(host, live));
      }
    }
    policy::filterReadable(req.context, s, r.collection, items);
    if (r.id.empty()) {
      checkListQuery(r.collection, req.query);
      return {200, json{{plural, filtered(r.collection, items, req.query)}}.dump()};
    }
    for (const auto& item : items) {
      if (item["id"] == r.id)
        return {200, json{{one, item}}.dump()};
    }
    if (r.collection == "security-groups")
      throw notFound("Security group " + r.id + " does not exist", "SecurityGroupNotFound");
    if (r.collection == "security-group-rules")
      throw notFound("Security group rule " + r.id + " does not exist",
                     "SecurityGroupRuleNotFound");
    throw policy::notFoundIn(r.collection, r.id);
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
      {"security-group-rules", writeSecurityGroupRule}};
  if (m != "POST" && m != "PUT" && m != "DELETE")
    throw ApiError(405, "HTTPMethodNotAllowed", "Method " + m + " not allowed");
  WriteOutcome outcome = commit(kWrites.at(r.collection), req, r.collection, r.id, r.action);
  if (outcome.response.is_object() && outcome.response.contains(one))
    policy::redact(req.context, r.collection, outcome.response[one]);
  return {outcome.status, outcome.status == 204 ? "" : outcome.response.dump()};
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
  store_.transact([&](store::Transaction& tx) {
    uint64_t base_revision = tx.revision();
    std::shared_ptr<const Cached> base = cached(base_revision);
    std::optional<ApiState> loaded;
    if (!base)
      loaded = ApiState::fromRows(tx.read().rows);
    const ApiState& before = base ? base->state : *loaded;
    policy::checkWrite(req.context, before, collection, req.method, id, action, req.body);
    ApiState s = before;
    s.trackAttrs();
    outcome = change(s, WriteRequest{req.method, id, action, owned});

    // Validate and allocate the whole cloud; pin what was allocated.
    Cloud c;
    try {
      c = s.resolve(schedulable(s), "request");
    } catch (const InputError& e) {
      throw fromProblems(e);
    }
    s.pinAllocations(c);
    tx.write(s.changesSince(before));
    if (outcome.render)
      outcome.response = outcome.render(View{s, c});
    s.untrackAttrs();
    written = std::make_shared<const Cached>(Cached{base_revision + 1, std::move(s), std::move(c)});
  });
  remember(written);  // committed
  one_writer.unlock();
  {
    std::lock_guard<std::mutex> lock(mu_);
    revision_seen_++;
  }
  notifyChanged();
  return outcome;
}

}  // namespace dvr::server
