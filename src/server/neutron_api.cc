#include "server/neutron_api.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <iostream>
#include <set>

#include "ipam/ids.h"
#include "ipam/resolve.h"
#include "model/error.h"
#include "model/topology_json.h"
#include "plan/cloud_index.h"
#include "server/api_error.h"
#include "server/api_state.h"
#include "server/neutron_views.h"

namespace dvr::server {
namespace {

using nlohmann::json;
using namespace dvr::model;

constexpr size_t kMaxBody = 1 << 20;

// ---- request parsing ----

json parseBody(const ApiRequest& req, const char* wrapper) {
  if (req.body.size() > kMaxBody)
    throw ApiError(413, "HTTPRequestEntityTooLarge", "Request body too large");
  if (req.body.empty())
    throw badRequest("Resource body required");
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw badRequest("Failed to parse request: malformed JSON body");
  if (!wrapper)
    return j;
  if (!j.contains(wrapper) || !j[wrapper].is_object()) {
    throw badRequest(std::string("Unable to find '") + wrapper + "' in request body");
  }
  return j[wrapper];
}

void allowOnly(const json& body, const std::set<std::string>& allowed,
               const std::set<std::string>& read_only = {}) {
  std::string unknown;
  for (const auto& [k, v] : body.items()) {
    if (read_only.count(k))
      throw badRequest("Cannot update read-only attribute " + k);
    if (!allowed.count(k))
      unknown += (unknown.empty() ? "" : ", ") + k;
  }
  if (!unknown.empty())
    throw badRequest("Unrecognized attribute(s) '" + unknown + "'");
}

std::string str(const json& body, const char* key, const std::string& fallback = "") {
  if (!body.contains(key) || body[key].is_null())
    return fallback;
  if (!body[key].is_string())
    throw badRequest(std::string("Invalid input for ") + key + ". Reason: not a string.");
  return body[key].get<std::string>();
}

bool boolean(const json& body, const char* key, bool fallback) {
  if (!body.contains(key) || body[key].is_null())
    return fallback;
  const auto& v = body[key];
  if (v.is_boolean())
    return v.get<bool>();
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    std::transform(s.begin(), s.end(), s.begin(), ::tolower);
    if (s == "true")
      return true;
    if (s == "false")
      return false;
  }
  throw badRequest(std::string("Invalid input for ") + key + ". Reason: '" + v.dump() +
                   "' is not a valid boolean value.");
}

std::optional<long> integer(const json& body, const char* key) {
  if (!body.contains(key) || body[key].is_null())
    return std::nullopt;
  const auto& v = body[key];
  if (v.is_number_integer())
    return v.get<long>();
  if (v.is_string()) {  // the CLI sends numbers as strings ("mtu": "1400")
    try {
      size_t used = 0;
      long n = std::stol(v.get<std::string>(), &used);
      if (used == v.get<std::string>().size())
        return n;
    } catch (const std::exception&) {
    }
  }
  throw badRequest(std::string("Invalid input for ") + key + ". Reason: '" + v.dump() +
                   "' is not an integer.");
}

std::string now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// ---- errors from resolve(), mapped to Neutron's types ----

ApiError fromProblems(const InputError& e) {
  const Problem& p = e.problems().front();
  const std::string& m = p.message;
  auto has = [&](const char* s) { return m.find(s) != std::string::npos; };
  if (has("ExternalGatewayForFloatingIPNotFound"))
    return notFound(m.substr(m.find(": ") + 2), "ExternalGatewayForFloatingIPNotFound");
  if (has("FloatingIPPortAlreadyAssociated"))
    return conflict(m.substr(m.find(": ") + 2), "FloatingIPPortAlreadyAssociated");
  if (has("is already in use in subnet"))
    return conflict(m, "IpAddressAlreadyAllocated");
  if (has("MAC") && has("already in use"))
    return conflict(m, "MacAddressInUse");
  if (has("exhausted"))
    return conflict(m, "IpAddressGenerationFailure");
  if (has("outside"))
    return badRequest(m, "InvalidIpForSubnet");
  if (has("not a valid external network"))
    return badRequest(m, "BadRequest");
  return badRequest(p.object + ": " + m, "BadRequest");
}

// ---- lookups in the state ----

// In the state's topology a resource's name is its id.
template <class T>
T* byName(std::vector<T>& items, const std::string& id) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T& x) { return x.name == id; });
  return it == items.end() ? nullptr : &*it;
}
NetworkSpec* findNetwork(ApiState& s, const std::string& id) {
  return byName(s.topo.networks, id);
}
SubnetSpec* findSubnet(ApiState& s, const std::string& id) {
  return byName(s.topo.subnets, id);
}
RouterSpec* findRouter(ApiState& s, const std::string& id) {
  return byName(s.topo.routers, id);
}
// The router a request names, or Neutron's 404 for it.
RouterSpec& existingRouter(ApiState& s, const std::string& id) {
  RouterSpec* rt = findRouter(s, id);
  if (!rt)
    throw notFound("Router " + id + " could not be found", "RouterNotFound");
  return *rt;
}
VmSpec* findPort(ApiState& s, const std::string& id) {
  return byName(s.topo.vms, id);
}
FloatingIpSpec* findFip(ApiState& s, const std::string& id) {
  for (auto& f : s.topo.floating_ips) {
    if (f.id == id)
      return &f;
  }
  return nullptr;
}

std::string newId(const ApiState& s, const char* kind) {
  static std::atomic<uint64_t> counter{0};
  return ipam::uuidFor(std::string(kind) + ":" +
                       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) +
                       ":" + std::to_string(counter++) + ":" + std::to_string(s.topo.vms.size()));
}

void setAttrs(ApiState& s, const char* kind, const std::string& id, const json& body,
              const std::set<std::string>& keys, bool creating) {
  s.touchAttrs(kind, id);
  json& a = s.attrs[kind][id];
  if (creating) {
    a["created_at"] = now();
    a["revision_number"] = 0;
  }
  for (const auto& k : keys) {
    if (body.contains(k) && !body[k].is_null())
      a[k] = body[k];
  }
  if (body.contains("tenant_id") && !body.contains("project_id"))
    a["project_id"] = body["tenant_id"];
  a["updated_at"] = now();
  a["revision_number"] = a.value("revision_number", 0) + 1;
}

const std::set<std::string> kCommonAttrs{"name", "description", "project_id", "tenant_id", "tags"};

std::set<std::string> with(std::set<std::string> a, std::initializer_list<const char*> more) {
  for (const char* m : more)
    a.insert(m);
  return a;
}

}  // namespace

// ---- the handler ----

ApiResponse NeutronApi::handle(const ApiRequest& req) {
  try {
    return dispatch(req);
  } catch (const ApiError& e) {
    json body{{"NeutronError", {{"type", e.type()}, {"message", e.what()}, {"detail", ""}}}};
    return {e.status(), body.dump()};
  } catch (const std::exception& e) {
    std::cerr << "dvr server: " << req.method << " " << req.path << " failed: " << e.what()
              << std::endl;
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

// Filters (?key=value, OR within a key) and fields= of a list.
json filtered(const json& items, const std::multimap<std::string, std::string>& query) {
  std::map<std::string, std::set<std::string>> filters;
  std::set<std::string> fields;
  for (const auto& [k, v] : query) {
    if (k == "fields")
      fields.insert(v);
    else if (k != "limit" && k != "marker" && k != "sort_key" && k != "sort_dir" &&
             k != "page_reverse")
      filters[k].insert(v);
  }
  json out = json::array();
  for (const auto& item : items) {
    bool keep = true;
    for (const auto& [k, values] : filters) {
      if (!item.contains(k))
        continue;  // unknown filters are ignored, as Neutron warns and ignores
      std::string have = item[k].is_string() ? item[k].get<std::string>() : item[k].dump();
      std::string lower = have;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      bool any = false;
      for (auto v : values) {
        std::string lv = v;
        std::transform(lv.begin(), lv.end(), lv.begin(), ::tolower);
        any = any || v == have || (item[k].is_boolean() && lv == lower);
      }
      keep = keep && any;
    }
    if (!keep)
      continue;
    if (fields.empty()) {
      out.push_back(item);
    } else {
      json f = json::object();
      for (const auto& name : fields) {
        if (item.contains(name))
          f[name] = item[name];
      }
      out.push_back(f);
    }
  }
  return out;
}

}  // namespace

ApiResponse NeutronApi::dispatch(const ApiRequest& req) {
  const std::string& m = req.method;
  if (req.path == "/" || req.path.empty()) {
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
             "Expose mapping of virtual networks to physical networks")});
    if (r.id.empty())
      return {200, json{{"extensions", all}}.dump()};
    for (const auto& e : all) {
      if (e["alias"] == r.id)
        return {200, json{{"extension", e}}.dump()};
    }
    throw notFound("Extension with alias " + r.id + " does not exist");
  }

  static const std::map<std::string, std::string> kSingular{
      {"networks", "network"}, {"subnets", "subnet"},         {"ports", "port"},
      {"routers", "router"},   {"floatingips", "floatingip"}, {"agents", "agent"}};
  auto singular = kSingular.find(r.collection);
  if (singular == kSingular.end())
    throw notFound("The resource could not be found.");
  const std::string& one = singular->second;

  // ---- reads ----
  if (m == "GET") {
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
    } else if (r.collection == "agents") {
      for (const auto& [host, a] : s.agents.items()) {
        json live = a;
        live["heartbeat"] = lastHeartbeat(host, a);
        live["alive"] = agentAlive(host, a);
        items.push_back(v.agent(host, live));
      }
    }
    if (r.id.empty())
      return {200, json{{r.collection, filtered(items, req.query)}}.dump()};
    for (const auto& item : items) {
      if (item["id"] == r.id) {
        json one_item = filtered(json::array({item}), {}).at(0);
        return {200, json{{one, one_item}}.dump()};
      }
    }
    throw notFound("The resource could not be found.");
  }

  // ---- writes: one transaction, resolve() checks and allocates ----
  json response;
  int status = 200;
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
    ApiState s = before;
    s.trackAttrs();
    std::function<json(const View&)> render;
    std::string id = r.id;

    if (r.collection == "networks") {
      if (m == "POST") {
        json b = parseBody(req, "network");
        allowOnly(b, with(kCommonAttrs,
                          {"admin_state_up", "router:external", "mtu", "provider:network_type",
                           "provider:physical_network", "provider:segmentation_id", "shared",
                           "port_security_enabled", "availability_zone_hints", "dns_domain",
                           "qos_policy_id", "is_default"}));
        id = newId(s, "network");
        NetworkSpec n;
        n.name = id;
        n.id = id;
        n.external = boolean(b, "router:external", false);
        if (auto vni = integer(b, "provider:segmentation_id"))
          n.vni = uint32_t(*vni);
        if (auto mtu = integer(b, "mtu"))
          n.mtu = int(*mtu);
        s.topo.networks.push_back(n);
        setAttrs(s, "networks", id, b, with(kCommonAttrs, {"admin_state_up"}), true);
        status = 201;
      } else if (m == "PUT") {
        if (!findNetwork(s, id))
          throw notFound("Network " + id + " could not be found.", "NetworkNotFound");
        json b = parseBody(req, "network");
        allowOnly(b,
                  with(kCommonAttrs,
                       {"admin_state_up", "port_security_enabled", "qos_policy_id", "dns_domain"}),
                  {"router:external", "provider:segmentation_id", "id"});
        setAttrs(s, "networks", id, b, with(kCommonAttrs, {"admin_state_up"}), false);
      } else if (m == "DELETE") {
        if (!findNetwork(s, id))
          throw notFound("Network " + id + " could not be found.", "NetworkNotFound");
        std::string users;
        for (const auto& v : s.topo.vms) {
          if (v.network == id)
            users += (users.empty() ? "" : ", ") + v.name;
        }
        for (const auto& rt : s.topo.routers) {
          if (rt.gateway_network == id)
            users += (users.empty() ? "" : ", ") + *rt.gateway_port.id;
        }
        if (!users.empty()) {
          throw conflict("Unable to complete operation on network " + id +
                             ". There are one or more ports still in use on the network, id for "
                             "these ports is: " +
                             users + ".",
                         "NetworkInUse");
        }
        std::erase_if(s.topo.subnets, [&](const SubnetSpec& sn) { return sn.network == id; });
        std::erase_if(s.topo.networks, [&](const NetworkSpec& n) { return n.name == id; });
        std::erase_if(s.topo.floating_ips,
                      [&](const FloatingIpSpec& f) { return f.network == id; });
        s.eraseAttrs("networks", id);
        status = 204;
      }
      if (status != 204)
        render = [id](const View& v) { return json{{"network", v.network(*v.c.findNetwork(id))}}; };
    } else if (r.collection == "subnets") {
      if (m == "POST") {
        json b = parseBody(req, "subnet");
        allowOnly(b, with(kCommonAttrs,
                          {"network_id", "ip_version", "cidr", "gateway_ip", "allocation_pools",
                           "enable_dhcp", "dns_nameservers", "host_routes", "service_types",
                           "subnetpool_id", "prefixlen", "segment_id"}));
        std::string net = str(b, "network_id");
        if (net.empty())
          throw badRequest(
              "Failed to parse request. Required attribute 'network_id' not specified");
        if (!findNetwork(s, net))
          throw notFound("Network " + net + " could not be found.", "NetworkNotFound");
        if (integer(b, "ip_version").value_or(4) != 4)
          throw badRequest("dvr serves IPv4 subnets only (ip_version 4)");
        std::string cidr = str(b, "cidr");
        if (cidr.empty())
          throw badRequest("Failed to parse request. Required attribute 'cidr' not specified");
        auto parsed = Cidr::parse(cidr);
        if (!parsed)
          throw badRequest("Invalid input for cidr. Reason: '" + cidr +
                           "' is not a valid IP subnet.");
        id = newId(s, "subnet");
        SubnetSpec sn;
        sn.name = id;
        sn.id = id;
        sn.network = net;
        sn.cidr = parsed->network();
        if (b.contains("gateway_ip") && b["gateway_ip"].is_null())
          sn.no_gateway = true;
        else if (b.contains("gateway_ip"))
          sn.gateway = ipArg(str(b, "gateway_ip"), "gateway_ip");
        for (const auto& p : b.value("allocation_pools", json::array())) {
          sn.pools.push_back({ipArg(str(p, "start"), "allocation_pools"),
                              ipArg(str(p, "end"), "allocation_pools")});
        }
        s.topo.subnets.push_back(sn);
        setAttrs(s, "subnets", id, b, with(kCommonAttrs, {"enable_dhcp", "dns_nameservers"}), true);
        status = 201;
      } else if (m == "PUT") {
        if (!findSubnet(s, id))
          throw notFound("Subnet " + id + " could not be found.", "SubnetNotFound");
        json b = parseBody(req, "subnet");
        allowOnly(b, with(kCommonAttrs, {"enable_dhcp", "dns_nameservers", "host_routes"}),
                  {"cidr", "network_id", "ip_version", "id"});
        setAttrs(s, "subnets", id, b, with(kCommonAttrs, {"enable_dhcp", "dns_nameservers"}),
                 false);
      } else if (m == "DELETE") {
        if (!findSubnet(s, id))
          throw notFound("Subnet " + id + " could not be found.", "SubnetNotFound");
        bool used = std::any_of(s.topo.vms.begin(), s.topo.vms.end(),
                                [&](const VmSpec& v) { return v.subnet == id; });
        for (const auto& rt : s.topo.routers) {
          for (const auto& itf : rt.interfaces)
            used = used || itf.subnet == id;
        }
        if (used)
          throw conflict("Unable to complete operation on subnet " + id +
                             ": One or more ports have an IP allocation from this subnet.",
                         "SubnetInUse");
        std::erase_if(s.topo.subnets, [&](const SubnetSpec& sn) { return sn.name == id; });
        s.eraseAttrs("subnets", id);
        status = 204;
      }
      if (status != 204)
        render = [id](const View& v) { return json{{"subnet", v.subnet(*v.c.findSubnet(id))}}; };
    } else if (r.collection == "ports") {
      static const std::set<std::string> kPortAttrs =
          with(kCommonAttrs, {"admin_state_up", "device_owner", "device_id"});
      if (m == "POST") {
        json b = parseBody(req, "port");
        allowOnly(b, with(kPortAttrs, {"network_id", "fixed_ips", "mac_address", "binding:host_id",
                                       "binding:vnic_type", "binding:profile", "security_groups",
                                       "port_security_enabled", "allowed_address_pairs",
                                       "extra_dhcp_opts", "dns_name", "qos_policy_id"}));
        std::string net = str(b, "network_id");
        if (net.empty())
          throw badRequest(
              "Failed to parse request. Required attribute 'network_id' not specified");
        if (!findNetwork(s, net))
          throw notFound("Network " + net + " could not be found.", "NetworkNotFound");
        id = newId(s, "port");
        VmSpec v;
        v.name = id;
        v.port_id = id;
        v.network = net;
        v.host = str(b, "binding:host_id");
        if (!v.host.empty() && !s.agents.contains(v.host)) {
          throw badRequest("Binding failed: host " + v.host + " has no dvr agent",
                           "PortBindingFailed");
        }
        if (b.contains("mac_address")) {
          auto mac = Mac::parse(str(b, "mac_address"));
          if (!mac)
            throw badRequest("Invalid input for mac_address. Reason: '" + str(b, "mac_address") +
                             "' is not a valid MAC address.");
          v.mac = *mac;
        }
        if (b.contains("fixed_ips")) {
          if (!b["fixed_ips"].is_array() || b["fixed_ips"].size() > 1)
            throw badRequest("dvr ports take one fixed IP");
          for (const auto& f : b["fixed_ips"]) {
            if (f.contains("subnet_id")) {
              std::string sub = str(f, "subnet_id");
              SubnetSpec* sn = findSubnet(s, sub);
              if (!sn)
                throw notFound("Subnet " + sub + " could not be found.", "SubnetNotFound");
              if (sn->network != net)
                throw badRequest("Invalid input for operation: Failed to create port on network " +
                                     net + ", because fixed_ips included invalid subnet " + sub +
                                     ".",
                                 "InvalidInput");
              v.subnet = sub;
            }
            if (f.contains("ip_address"))
              v.ip = ipArg(str(f, "ip_address"), "fixed_ips");
          }
        }
        s.topo.vms.push_back(v);
        setAttrs(s, "ports", id, b, kPortAttrs, true);
        status = 201;
      } else if (m == "PUT") {
        VmSpec* v = findPort(s, id);
        if (!v)
          throw notFound("Port " + id + " could not be found.", "PortNotFound");
        json b = parseBody(req, "port");
        allowOnly(b,
                  with(kPortAttrs, {"binding:host_id", "binding:profile", "security_groups",
                                    "port_security_enabled", "allowed_address_pairs"}),
                  {"network_id", "id", "mac_address"});
        if (b.contains("binding:host_id")) {
          std::string host = str(b, "binding:host_id");
          if (!host.empty() && !s.agents.contains(host))
            throw badRequest("Binding failed: host " + host + " has no dvr agent",
                             "PortBindingFailed");
          v->host = host;
        }
        setAttrs(s, "ports", id, b, kPortAttrs, false);
      } else if (m == "DELETE") {
        if (!findPort(s, id)) {
          for (const auto& rt : s.topo.routers) {
            for (const auto& itf : rt.interfaces) {
              if (itf.port.id == id) {
                throw conflict("Port " + id +
                                   " cannot be deleted directly via the port API: has device owner "
                                   "network:router_interface_distributed.",
                               "ServicePortInUse");
              }
            }
          }
          throw notFound("Port " + id + " could not be found.", "PortNotFound");
        }
        for (auto& f : s.topo.floating_ips) {
          if (f.vm == id)
            f.vm.reset();  // Neutron disassociates floating IPs of a deleted port
        }
        std::erase_if(s.topo.vms, [&](const VmSpec& v) { return v.name == id; });
        s.eraseAttrs("ports", id);
        status = 204;
      }
      if (status != 204)
        render = [id](const View& v) { return json{{"port", v.port(*v.c.findVm(id))}}; };
    } else if (r.collection == "routers") {
      auto gateway = [&](RouterSpec& rt, const json& info) {
        if (info.is_null() || (info.is_object() && info.empty())) {
          for (const auto& f : s.topo.floating_ips) {
            if (!f.vm)
              continue;
            const VmSpec* v = findPort(s, *f.vm);
            for (const auto& itf : rt.interfaces) {
              if (v && v->subnet == itf.subnet && rt.gateway_network == f.network) {
                throw conflict("Gateway cannot be updated for router " + rt.name +
                                   ", since a gateway to external network " + f.network +
                                   " is required by one or more floating IPs.",
                               "RouterExternalGatewayInUseByFloatingIp");
              }
            }
          }
          rt.gateway_network.reset();
          rt.gateway_port = {};
          for (auto& itf : rt.interfaces)
            itf.snat_port = {};
          return;
        }
        if (!info.is_object())
          throw badRequest("Invalid input for external_gateway_info.");
        std::string net = str(info, "network_id");
        NetworkSpec* n = findNetwork(s, net);
        if (!n)
          throw notFound("Network " + net + " could not be found.", "NetworkNotFound");
        if (!n->external)
          throw badRequest("Network " + net + " is not an external network", "BadRequest");
        if (rt.gateway_network != net)
          rt.gateway_port = {};
        rt.gateway_network = net;
        rt.enable_snat = boolean(info, "enable_snat", true);
        for (const auto& f : info.value("external_fixed_ips", json::array())) {
          if (f.contains("ip_address"))
            rt.gateway_port.ip = ipArg(str(f, "ip_address"), "external_fixed_ips");
        }
      };
      if (m == "POST") {
        json b = parseBody(req, "router");
        allowOnly(
            b, with(kCommonAttrs, {"admin_state_up", "external_gateway_info", "distributed", "ha",
                                   "availability_zone_hints", "flavor_id", "service_type_id"}));
        if (b.contains("distributed") && !boolean(b, "distributed", true))
          throw badRequest("dvr routers are distributed: 'distributed': false is not supported");
        if (boolean(b, "ha", false))
          throw badRequest("dvr does not implement HA routers ('ha': true)");
        id = newId(s, "router");
        RouterSpec rt;
        rt.name = id;
        rt.id = id;
        if (b.contains("external_gateway_info"))
          gateway(rt, b["external_gateway_info"]);
        s.topo.routers.push_back(rt);
        setAttrs(s, "routers", id, b, with(kCommonAttrs, {"admin_state_up"}), true);
        status = 201;
        render = [id](const View& v) { return json{{"router", v.router(*v.c.findRouter(id))}}; };
      } else if (m == "PUT" && r.action.empty()) {
        RouterSpec* rt = &existingRouter(s, id);
        json b = parseBody(req, "router");
        allowOnly(b,
                  with(kCommonAttrs,
                       {"admin_state_up", "external_gateway_info", "routes", "distributed"}),
                  {"id"});
        if (b.contains("routes") && !b["routes"].empty())
          throw badRequest("dvr does not implement extra routes");
        if (b.contains("external_gateway_info"))
          gateway(*rt, b["external_gateway_info"]);
        setAttrs(s, "routers", id, b, with(kCommonAttrs, {"admin_state_up"}), false);
        render = [id](const View& v) { return json{{"router", v.router(*v.c.findRouter(id))}}; };
      } else if (m == "PUT" &&
                 (r.action == "add_router_interface" || r.action == "remove_router_interface")) {
        RouterSpec* rt = &existingRouter(s, id);
        json b = parseBody(req, nullptr);
        std::string sub = str(b, "subnet_id"), port = str(b, "port_id");
        if (sub.empty() == port.empty()) {
          throw badRequest(sub.empty() ? "Either subnet_id or port_id must be specified"
                                       : "Cannot specify both subnet-id and port-id");
        }
        // By port (Neutron: `openstack router add port`): the port becomes the router's
        // qr- port on its subnet; DVR needs it to hold the subnet's gateway IP, which
        // resolve() checks.
        std::optional<PortPin> given_port;
        if (!port.empty() && r.action == "add_router_interface") {
          VmSpec* v = findPort(s, port);
          if (!v)
            throw notFound("Port " + port + " could not be found.", "PortNotFound");
          std::string device;
          if (s.attrs.contains("ports") && s.attrs["ports"].contains(port))
            device = s.attrs["ports"][port].value("device_id", "");
          if (!v->host.empty() || !device.empty()) {
            throw conflict("Unable to complete operation on port " + port + " for network " +
                               v->network + ". Port already has an attached device " +
                               (device.empty() ? v->host : device) + ".",
                           "PortInUse");
          }
          if (!v->subnet)
            throw badRequest("Port " + port + " has no fixed IP on a subnet");
          sub = *v->subnet;
          given_port = PortPin{port, v->mac, v->ip};
          std::erase_if(s.topo.vms, [&](const VmSpec& x) { return x.name == port; });
        } else if (!port.empty()) {
          for (const auto& itf : rt->interfaces) {
            if (itf.port.id == port)
              sub = itf.subnet;
          }
          if (sub.empty())
            throw notFound("Router " + id + " does not have an interface with id " + port,
                           "RouterInterfaceNotFound");
        }
        SubnetSpec* sn = findSubnet(s, sub);
        if (!sn)
          throw notFound("Subnet " + sub + " could not be found.", "SubnetNotFound");
        auto has = std::find_if(rt->interfaces.begin(), rt->interfaces.end(),
                                [&](const InterfaceSpec& i) { return i.subnet == sub; });
        if (r.action == "add_router_interface") {
          if (has != rt->interfaces.end())
            throw badRequest("Router already has a port on subnet " + sub);
          if (sn->no_gateway)
            throw badRequest("Subnet for router interface must have a gateway IP");
          for (const auto& other : s.topo.routers) {
            for (const auto& itf : other.interfaces) {
              if (itf.subnet == sub)
                throw conflict("Subnet " + sub + " is already attached to router " + other.name,
                               "IpAddressInUse");
            }
          }
          rt->interfaces.push_back({sub, given_port.value_or(PortPin{}), {}, 0});
        } else {
          if (has == rt->interfaces.end())
            throw notFound("Router " + id + " has no interface on subnet " + sub,
                           "RouterInterfaceNotFoundForSubnet");
          for (const auto& f : s.topo.floating_ips) {
            const VmSpec* v = f.vm ? findPort(s, *f.vm) : nullptr;
            if (v && v->subnet == sub) {
              throw conflict(
                  "Router interface for subnet " + sub + " on router " + id +
                      " cannot be deleted, as it is required by one or more floating IPs.",
                  "RouterInterfaceInUseByFloatingIP");
            }
          }
          response = json{{"id", id},
                          {"subnet_id", sub},
                          {"subnet_ids", {sub}},
                          {"port_id", has->port.id.value_or("")},
                          {"network_id", sn->network},
                          {"project_id", ""},
                          {"tenant_id", ""}};
          if (has->port.id && s.attrs.contains("ports"))
            s.eraseAttrs("ports", *has->port.id);  // a port made for the interface goes too
          rt->interfaces.erase(has);
        }
        std::string sub_id = sub;
        if (r.action == "add_router_interface") {
          render = [id, sub_id](const View& v) {
            const Router& rr = *v.c.findRouter(id);
            for (size_t p : rr.interface_ports) {
              const Port& qr = v.c.ports[p];
              if (qr.subnet_id == sub_id) {
                return json{
                    {"id", id},         {"subnet_id", sub_id},         {"subnet_ids", {sub_id}},
                    {"port_id", qr.id}, {"network_id", qr.network_id}, {"project_id", ""},
                    {"tenant_id", ""}};
              }
            }
            return json::object();
          };
        }
      } else if (m == "DELETE") {
        RouterSpec* rt = &existingRouter(s, id);
        if (!rt->interfaces.empty()) {
          std::string ports;
          for (const auto& itf : rt->interfaces)
            ports += (ports.empty() ? "" : ", ") + itf.port.id.value_or("");
          throw conflict("Router " + id + " still has ports: " + ports, "RouterInUse");
        }
        std::erase_if(s.topo.routers, [&](const RouterSpec& x) { return x.name == id; });
        s.eraseAttrs("routers", id);
        status = 204;
      }
    } else if (r.collection == "floatingips") {
      auto associate = [&](FloatingIpSpec& f, const json& b) {
        if (!b.contains("port_id"))
          return;
        if (b["port_id"].is_null()) {
          f.vm.reset();
          return;
        }
        std::string port = str(b, "port_id");
        if (!findPort(s, port))
          throw notFound("Port " + port + " could not be found.", "PortNotFound");
        f.vm = port;
      };
      if (m == "POST") {
        json b = parseBody(req, "floatingip");
        allowOnly(b, with(kCommonAttrs, {"floating_network_id", "floating_ip_address", "port_id",
                                         "fixed_ip_address", "subnet_id", "dns_name", "dns_domain",
                                         "qos_policy_id"}));
        std::string net = str(b, "floating_network_id");
        if (net.empty())
          throw badRequest(
              "Failed to parse request. Required attribute 'floating_network_id' not specified");
        NetworkSpec* n = findNetwork(s, net);
        if (!n)
          throw notFound("Network " + net + " could not be found.", "NetworkNotFound");
        if (!n->external)
          throw badRequest(
              "Bad floatingip request: Network " + net + " is not a valid external network.",
              "BadRequest");
        if (b.contains("fixed_ip_address") && !b.contains("port_id"))
          throw badRequest("fixed_ip_address cannot be specified without a port_id");
        id = newId(s, "floatingip");
        FloatingIpSpec f;
        f.id = id;
        f.network = net;
        if (b.contains("floating_ip_address"))
          f.address = ipArg(str(b, "floating_ip_address"), "floating_ip_address");
        associate(f, b);
        s.topo.floating_ips.push_back(f);
        setAttrs(s, "floatingips", id, b, kCommonAttrs, true);
        status = 201;
      } else if (m == "PUT") {
        FloatingIpSpec* f = findFip(s, id);
        if (!f)
          throw notFound("Floating IP " + id + " could not be found", "FloatingIPNotFound");
        json b = parseBody(req, "floatingip");
        allowOnly(b, with(kCommonAttrs, {"port_id", "fixed_ip_address", "qos_policy_id"}),
                  {"floating_ip_address", "floating_network_id", "id"});
        associate(*f, b);
        setAttrs(s, "floatingips", id, b, kCommonAttrs, false);
      } else if (m == "DELETE") {
        if (!findFip(s, id))
          throw notFound("Floating IP " + id + " could not be found", "FloatingIPNotFound");
        std::erase_if(s.topo.floating_ips, [&](const FloatingIpSpec& f) { return f.id == id; });
        s.eraseAttrs("floatingips", id);
        status = 204;
      }
      if (status != 204) {
        render = [id](const View& v) {
          for (const auto& f : v.c.floating_ips) {
            if (f.id == id)
              return json{{"floatingip", v.floatingIp(f)}};
          }
          return json::object();
        };
      }
    } else if (r.collection == "agents") {
      if (m != "DELETE")
        throw ApiError(405, "HTTPMethodNotAllowed",
                       "Agents register themselves; only GET and DELETE are allowed");
      std::string host;
      for (const auto& [h, a] : s.agents.items()) {
        if (a.value("id", std::string()) == id)
          host = h;
      }
      if (host.empty())
        throw notFound("Agent " + id + " could not be found", "AgentNotFound");
      s.agents.erase(host);
      status = 204;
    }
    if (m != "GET" && m != "POST" && m != "PUT" && m != "DELETE")
      throw ApiError(405, "HTTPMethodNotAllowed", "Method " + m + " not allowed");

    // Validate and allocate the whole cloud; pin what was allocated.
    Cloud c;
    try {
      c = s.resolve(schedulable(s), "request");
    } catch (const InputError& e) {
      throw fromProblems(e);
    }
    s.pinAllocations(c);
    tx.write(s.changesSince(before));
    if (render)
      response = render(View{s, c});
    s.untrackAttrs();
    written = std::make_shared<const Cached>(Cached{base_revision + 1, std::move(s), std::move(c)});
  });
  remember(written);  // committed
  one_writer.unlock();
  {
    std::lock_guard<std::mutex> lock(mu_);
    revision_seen_++;
  }
  changed_.notify_all();
  return {status, status == 204 ? "" : response.dump()};
}

}  // namespace dvr::server
