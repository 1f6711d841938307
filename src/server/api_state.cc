#include "server/api_state.h"

#include <string_view>
#include <unordered_map>

#include <map>

#include "model/topology_json.h"

namespace dvr::server {

using nlohmann::json;
using namespace dvr::model;

ApiState ApiState::fromDocument(const std::string& doc) {
  ApiState s;
  if (doc.empty())
    return s;
  json j = json::parse(doc);
  s.topo = topologyFromJson(j.at("topology"));
  s.attrs = j.value("attrs", json::object());
  s.agents = j.value("agents", json::object());
  return s;
}

std::string ApiState::toDocument() const {
  // Pieces dumped one by one: wrapping them in one json object would deep-copy attrs.
  return "{\"agents\":" + agents.dump() + ",\"attrs\":" + attrs.dump() +
         ",\"topology\":" + toJson(topo).dump() + "}";
}

Topology ApiState::topologyForResolve(
    const std::function<bool(const std::string&)>& schedulable) const {
  Topology t = topo;
  t.hosts.clear();
  for (const auto& [host, a] : agents.items()) {
    HostSpec h;
    h.name = host;
    h.mode = a.value("agent_mode", "dvr") == "dvr_snat" ? AgentMode::DvrSnat : AgentMode::Dvr;
    h.tunnel_ip = *Ipv4::parse(a.value("tunnel_ip", "0.0.0.0"));
    h.schedulable = !schedulable || schedulable(host);
    if (auto mac = Mac::parse(a.value("dvr_mac", "")))
      h.dvr_mac = *mac;
    // Uplinks name external networks, or "*" for every one of them.
    const json uplinks = a.value("uplinks", json::object());  // items() must not outlive it
    for (const auto& [net, dev] : uplinks.items()) {
      for (const auto& n : t.networks) {
        if (n.external && (net == "*" || net == n.name || (n.id && net == *n.id)))
          h.uplinks[n.name] = dev;
      }
    }
    t.hosts.push_back(std::move(h));
  }
  return t;
}

void ApiState::pinAllocations(const Cloud& c) {
  std::map<std::string, const Port*> by_id;
  for (const auto& p : c.ports)
    by_id[p.id] = &p;
  for (auto& n : topo.networks) {
    const Network* cn = c.findNetwork(n.name);
    if (!cn)
      continue;
    n.id = cn->id;
    if (!cn->external)
      n.vni = cn->vni;
    n.mtu = cn->mtu;
  }
  for (auto& s : topo.subnets) {
    const Subnet* cs = c.findSubnet(s.name);
    if (!cs)
      continue;
    s.id = cs->id;
    s.gateway = cs->gateway;
    s.pools = cs->pools;
  }
  for (auto& r : topo.routers) {
    const Router* cr = c.findRouter(r.name);
    if (!cr)
      continue;
    r.id = cr->id;
    r.snat_host = cr->snat_host.empty() ? std::nullopt : std::optional(cr->snat_host);
    if (cr->gateway_port) {
      const Port& qg = c.ports[*cr->gateway_port];
      r.gateway_port = {qg.id, qg.mac, qg.ip};
    } else {
      r.gateway_port = {};
    }
    for (auto& itf : r.interfaces) {
      itf.snat_port = {};
      for (size_t k = 0; k < cr->interface_ports.size(); ++k) {
        const Port& qr = c.ports[cr->interface_ports[k]];
        if (qr.subnet_id != itf.subnet)
          continue;
        itf.port = {qr.id, qr.mac, std::nullopt};
        if (k < cr->snat_ports.size()) {
          const Port& sg = c.ports[cr->snat_ports[k]];
          itf.snat_port = {sg.id, sg.mac, sg.ip};
        }
      }
    }
  }
  std::unordered_map<std::string_view, const Port*> vm_ports;  // findVm per VM is quadratic
  for (const auto& p : c.ports) {
    if (p.device_owner == kOwnerCompute)
      vm_ports.emplace(p.name, &p);
  }
  for (auto& v : topo.vms) {
    auto it = vm_ports.find(v.name);
    if (it == vm_ports.end())
      continue;
    const Port* p = it->second;
    v.port_id = p->id;
    v.ip = p->ip;
    v.mac = p->mac;
    v.subnet = p->subnet_id;
  }
  for (size_t i = 0; i < topo.floating_ips.size() && i < c.floating_ips.size(); ++i) {
    topo.floating_ips[i].id = c.floating_ips[i].id;
    topo.floating_ips[i].address = c.floating_ips[i].address;
  }
  topo.fip_gateways.clear();
  for (const auto& p : c.ports) {
    if (p.device_owner == kOwnerFipGateway)
      topo.fip_gateways.push_back({p.host, p.network_id, {p.id, p.mac, p.ip}, 0});
  }
  topo.link_locals.clear();
  for (const auto& ll : c.link_locals)
    topo.link_locals.push_back({ll.router_id, ll.host, Cidr{ll.rfp_ip, 31}, 0});
}

}  // namespace dvr::server
