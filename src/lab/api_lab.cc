#include "lab/api_lab.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "agent/api_client.h"
#include "ipam/resolve.h"
#include "lab/nodes.h"
#include "lab/places.h"
#include "model/topology_json.h"

namespace dvr::lab {
namespace {

struct HttpResult {
  int status = 0;
  std::string body;
};

// One HTTP request made from inside a lab host (the server listens on its network).
HttpResult hostHttp(const std::string& host, const std::string& method, const std::string& path,
                    const std::string& body = "") {
  std::string url = tail(labFile("server.url"), 1);
  while (!url.empty() && url.back() == '\n')
    url.pop_back();
  std::string text = inHostOutput(host, [&] {
    agent::ApiClient c(url, {std::chrono::seconds(2), std::chrono::seconds(30)});
    auto res = method == "GET"      ? c.get(path)
               : method == "POST"   ? c.post(path, body)
               : method == "DELETE" ? c.del(path)
                                    : c.put(path, body);
    return res ? std::to_string(res->status) + "\n" + res->body : std::string("0\n");
  });
  auto nl = text.find('\n');
  HttpResult r;
  if (nl == std::string::npos)
    return r;
  r.status = std::atoi(text.substr(0, nl).c_str());
  r.body = text.substr(nl + 1);
  return r;
}

std::string serverHost() {
  std::string h = tail(labFile("server.host"), 1);
  while (!h.empty() && h.back() == '\n')
    h.pop_back();
  return h;
}

nlohmann::json apiCall(const std::string& method, const std::string& path,
                       const nlohmann::json& body, int want) {
  HttpResult r = hostHttp(serverHost(), method, path, body.is_null() ? "" : body.dump());
  if (r.status != want) {
    throw std::runtime_error("API " + method + " " + path + " answered " +
                             std::to_string(r.status) + ": " + r.body);
  }
  return r.body.empty() ? nlohmann::json() : nlohmann::json::parse(r.body);
}

// A VM port's fixed_ips as the API takes them: its first address, then its further ones.
nlohmann::json fixedIps(const model::Port& p, std::map<std::string, std::string>& id) {
  nlohmann::json ips = nlohmann::json::array();
  ips.push_back({{"subnet_id", id[p.subnet_id]}, {"ip_address", p.ip.str()}});
  for (const auto& e : p.extra_ips)
    ips.push_back({{"subnet_id", id[e.subnet_id]}, {"ip_address", e.ip.str()}});
  return ips;
}

// Creates the file's networks, subnets, routers, security groups, ports and floating IPs
// through the API,
// as an operator (or a template) would. Returns VM name -> port id.
std::map<std::string, std::string> createThroughApi(const model::Cloud& c) {
  using nlohmann::json;
  std::map<std::string, std::string> id;  // file id -> API id
  std::set<std::string> made_by_ipam;     // the HA network: the server makes its own
  for (const auto& n : c.networks) {
    if (n.ha) {
      made_by_ipam.insert(n.id);
      continue;
    }
    json b{{"name", n.name}, {"router:external", n.external}, {"mtu", n.mtu}};
    if (!n.external)
      b["provider:segmentation_id"] = n.vni;
    id[n.id] = apiCall("POST", "/v2.0/networks", json{{"network", b}}, 201)["network"]["id"];
  }
  for (const auto& s : c.subnets) {
    if (made_by_ipam.count(s.network_id))
      continue;
    json pools = json::array();
    for (const auto& p : s.pools)
      pools.push_back({{"start", p.start.str()}, {"end", p.end.str()}});
    json b{{"name", s.name},
           {"network_id", id[s.network_id]},
           {"cidr", s.cidr.str()},
           {"ip_version", 4},
           {"gateway_ip", s.gateway ? json(s.gateway->str()) : json(nullptr)},
           {"allocation_pools", pools}};
    id[s.id] = apiCall("POST", "/v2.0/subnets", json{{"subnet", b}}, 201)["subnet"]["id"];
  }
  // Floating IPs first, with their addresses: a gateway port must not take one.
  std::vector<std::string> fip_ids;
  for (const auto& f : c.floating_ips) {
    json b{{"floating_network_id", id[f.network_id]}, {"floating_ip_address", f.address.str()}};
    fip_ids.push_back(
        apiCall("POST", "/v2.0/floatingips", json{{"floatingip", b}}, 201)["floatingip"]["id"]);
  }
  for (const auto& r : c.routers) {
    json b{{"name", r.name}, {"distributed", r.distributed}, {"admin_state_up", r.admin_state_up}};
    if (r.ha())
      b["ha"] = true;
    if (r.gateway_network_id)
      b["external_gateway_info"] = {{"network_id", id[*r.gateway_network_id]}};
    std::string rid = apiCall("POST", "/v2.0/routers", json{{"router", b}}, 201)["router"]["id"];
    for (size_t p : r.interface_ports) {
      apiCall("PUT", "/v2.0/routers/" + rid + "/add_router_interface",
              json{{"subnet_id", id[c.ports[p].subnet_id]}}, 200);
    }
    if (!r.routes.empty()) {
      json routes = json::array();
      for (const auto& e : r.routes)
        routes.push_back({{"destination", e.destination.str()}, {"nexthop", e.nexthop.str()}});
      apiCall("PUT", "/v2.0/routers/" + rid, json{{"router", {{"routes", routes}}}}, 200);
    }
  }
  // Security groups as the file has them: a new group's own egress rules give way to the
  // file's rules (made after every group, as they may name any as remote group).
  for (const auto& g : c.security_groups) {
    // A file's `default` is the project's default group (made by listing it), whose
    // rules give way to the file's as well.
    json made = g.name == "default"
                    ? apiCall("GET", "/v2.0/security-groups?name=default", nullptr,
                              200)["security_groups"][0]
                    : apiCall("POST", "/v2.0/security-groups",
                              json{{"security_group", {{"name", g.name}}}}, 201)["security_group"];
    id[g.id] = made["id"];
    for (const auto& r : made["security_group_rules"])
      apiCall("DELETE", "/v2.0/security-group-rules/" + r["id"].get<std::string>(), nullptr, 204);
  }
  for (const auto& g : c.security_groups) {
    for (const auto& r : g.rules) {
      json b{{"security_group_id", id[g.id]},
             {"direction", r.ingress ? "ingress" : "egress"},
             {"ethertype", "IPv4"}};
      if (r.protocol)
        b["protocol"] = std::to_string(*r.protocol);
      if (r.port_min)
        b["port_range_min"] = *r.port_min;
      if (r.port_max)
        b["port_range_max"] = *r.port_max;
      if (r.remote_ip_prefix)
        b["remote_ip_prefix"] = r.remote_ip_prefix->str();
      if (!r.remote_group_id.empty())
        b["remote_group_id"] = id[r.remote_group_id];
      apiCall("POST", "/v2.0/security-group-rules", json{{"security_group_rule", b}}, 201);
    }
  }
  std::map<std::string, std::string> vms;
  for (const auto& p : c.ports) {
    if (p.device_owner != model::kOwnerCompute)
      continue;
    json groups = json::array(), pairs = json::array();
    for (const auto& g : p.security_group_ids)
      groups.push_back(id[g]);
    for (const auto& a : p.allowed_address_pairs)
      pairs.push_back({{"ip_address", a.ip.str()}, {"mac_address", a.mac.str()}});
    json b{{"name", p.name},
           {"network_id", id[p.network_id]},
           {"mac_address", p.mac.str()},
           {"binding:host_id", p.host},
           {"device_owner", "compute:nova"},
           {"fixed_ips", fixedIps(p, id)},
           // As the file says: its unfiltered VMs stay unfiltered (no default group).
           {"port_security_enabled", p.port_security},
           {"security_groups", groups}};
    if (!pairs.empty())
      b["allowed_address_pairs"] = pairs;
    vms[p.name] = id[p.id] = apiCall("POST", "/v2.0/ports", json{{"port", b}}, 201)["port"]["id"];
  }
  for (size_t i = 0; i < c.floating_ips.size(); ++i) {
    const auto& f = c.floating_ips[i];
    if (f.port)
      apiCall("PUT", "/v2.0/floatingips/" + fip_ids[i],
              json{{"floatingip",
                    {{"port_id", id[c.ports[*f.port].id]}, {"fixed_ip_address", f.fixed.str()}}}},
              200);
  }
  return vms;
}

}  // namespace

model::Cloud serverCloud() {
  HttpResult r = hostHttp(serverHost(), "GET", "/dvr/v1/topology?since=0");
  if (r.status != 200)
    throw std::runtime_error("cannot read the topology from the server: " + r.body);
  return ipam::resolve(model::topologyFromJson(nlohmann::json::parse(r.body).at("topology")),
                       "server");
}

void startApiLab(const model::Cloud& file, const std::string& dvr_binary) {
  const model::Host* api_host = nullptr;
  for (const auto& h : file.hosts) {
    if (!api_host && h.mode == model::AgentMode::DvrSnat)
      api_host = &h;
  }
  if (!api_host)
    api_host = &file.hosts.front();
  std::string url = "http://" + api_host->tunnel_ip.str() + ":9696";
  std::ofstream(labFile("server.url")) << url << "\n";
  std::ofstream(labFile("server.host")) << api_host->name << "\n";
  // The controller runs the API server, as a Neutron controller runs neutron-server.
  startInHost(
      api_host->name, "server",
      {dvr_binary, "server", "--bind", "0.0.0.0:9696", "--db", "sqlite:" + labFile("dvr.db")});
  for (int i = 0; i < 250 && hostHttp(api_host->name, "GET", "/").status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const auto& h : file.hosts) {
    std::vector<std::string> argv{dvr_binary,       "agent",
                                  "--host",         h.name,
                                  "--server",       url,
                                  "--mode",         model::agentModeName(h.mode),
                                  "--tunnel-ip",    h.tunnel_ip.str(),
                                  "--ready-file",   labFile(h.name + ".ready"),
                                  "--metrics-bind", kAgentMetricsBind,
                                  "--datapath",     labDatapath()};
    if (!h.uplinks.empty()) {
      argv.push_back("--uplink");
      argv.push_back("*=" + h.uplinks.begin()->second);
    }
    startInHost(h.name, h.name, argv);
  }
  // Agents register first (ports are bound to their hosts), then the operator's part.
  for (int i = 0; i < 250; ++i) {
    auto agents = apiCall("GET", "/v2.0/agents", nullptr, 200)["agents"];
    if (agents.size() == file.hosts.size())
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto vms = createThroughApi(file);
  model::Cloud now = serverCloud();
  for (const auto& [name, port_id] : vms)
    createVm(now, *now.findVm(port_id), name);
  std::ofstream(labFile("api")) << "1\n";
  // Ready means every agent has applied the cloud just made, not an earlier state of it:
  // its ready file names the digest of the slice it applied, which must be the server's.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (const auto& h : file.hosts) {
    HttpResult slice = hostHttp(serverHost(), "GET", "/dvr/v1/topology?since=0&host=" + h.name);
    std::string digest = nlohmann::json::parse(slice.body).at("digest").get<std::string>();
    for (;;) {
      std::ifstream in(labFile(h.name + ".ready"));
      std::string changes, applied;
      if (in >> changes >> applied && applied == digest)
        break;
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("the agent of " + h.name + " did not apply the server's slice " +
                                 digest);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

}  // namespace dvr::lab
