#include "server/api_state.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>

#include "ipam/resolve.h"
#include "model/topology_json.h"

namespace dvr::server {

using nlohmann::json;
using namespace dvr::model;

namespace {

// Each list of the topology, with the key of its items: calls f(section, member, key).
// Keys are references where the item holds them: a write compares every section, and
// copying 100,000 names twice per write cost more than comparing the items.
template <class F>
void forEachSection(F&& f) {
  static const std::string kNoId;
  f("networks", &Topology::networks,
    [](const NetworkSpec& n) -> const std::string& { return n.name; });
  f("subnets", &Topology::subnets,
    [](const SubnetSpec& s) -> const std::string& { return s.name; });
  f("routers", &Topology::routers,
    [](const RouterSpec& r) -> const std::string& { return r.name; });
  f("vms", &Topology::vms, [](const VmSpec& v) -> const std::string& { return v.name; });
  f("floating_ips", &Topology::floating_ips,
    [](const FloatingIpSpec& x) -> const std::string& { return x.id ? *x.id : kNoId; });
  f("fip_gateways", &Topology::fip_gateways,
    [](const FipGatewaySpec& g) { return g.host + "/" + g.network; });
  f("dhcp_ports", &Topology::dhcp_ports,
    [](const DhcpPortSpec& d) -> const std::string& { return d.network; });
  f("link_locals", &Topology::link_locals,
    [](const LinkLocalSpec& l) { return l.router + "/" + l.host; });
  f("external_hosts", &Topology::external_hosts,
    [](const ExternalHostSpec& e) -> const std::string& { return e.name; });
  f("hosts", &Topology::hosts, [](const HostSpec& h) -> const std::string& { return h.name; });
  f("security_groups", &Topology::security_groups,
    [](const SecurityGroupSpec& g) -> const std::string& { return g.name; });
}

// One item as the topology's JSON has it: the whole-topology serializer on a topology of
// that one item, so there is one JSON form only.
template <class T>
json itemJson(std::vector<T> Topology::*member, const char* section, const T& item) {
  Topology one;
  (one.*member).push_back(item);
  return toJson(one)[section][0];
}

// Rows named `prefix + key(item)`: upserts for items of `after` (in order: new rows go
// last in the table) that are new or differ from `before`'s item of that key, deletions
// for keys gone.
template <class Item, class Key, class Equal, class Body>
void diffRows(const std::vector<Item>& before, const std::vector<Item>& after, Key key,
              const std::string& prefix, Equal equal, Body body,
              std::vector<store::RowChange>& out) {
  // A write changes a copy of `before`, so both lists mostly hold the same keys in the
  // same places: walk them side by side while they do, and hash only the rest.
  size_t same = 0;
  for (; same < before.size() && same < after.size(); ++same) {
    decltype(auto) k = key(after[same]);
    if (!(key(before[same]) == k))
      break;
    if (!equal(before[same], after[same]))
      out.push_back({prefix + std::string(k), body(after[same])});
  }
  if (same == before.size() && same == after.size())
    return;
  std::unordered_map<std::string, const Item*> was, is;
  for (size_t i = same; i < before.size(); ++i)
    was.emplace(key(before[i]), &before[i]);
  for (size_t i = same; i < after.size(); ++i) {
    std::string k(key(after[i]));
    auto it = was.find(k);
    if (it == was.end() || !equal(*it->second, after[i]))
      out.push_back({prefix + k, body(after[i])});
    is.emplace(std::move(k), &after[i]);
  }
  for (size_t i = same; i < before.size(); ++i) {
    std::string k(key(before[i]));
    if (!is.count(k))
      out.push_back({prefix + k, std::nullopt});
  }
}

// `items` := `fresh`, ordered as the items of the same key were in `items`, new ones after.
template <class T, class Key>
void keepOrder(std::vector<T>& items, std::vector<T> fresh, Key key) {
  std::unordered_map<std::string, size_t> place;
  for (size_t i = 0; i < items.size(); ++i)
    place.emplace(key(items[i]), i);
  std::stable_sort(fresh.begin(), fresh.end(), [&](const T& a, const T& b) {
    auto pa = place.find(key(a)), pb = place.find(key(b));
    size_t ia = pa == place.end() ? SIZE_MAX : pa->second;
    size_t ib = pb == place.end() ? SIZE_MAX : pb->second;
    return ia < ib;
  });
  items = std::move(fresh);
}

// The items of `list` by id and by name: what Cloud::find* returns (the first item whose id
// or name is the key), found in constant time.
template <class T>
std::unordered_map<std::string_view, const T*> byIdOrName(const std::vector<T>& list) {
  std::unordered_map<std::string_view, const T*> out;
  out.reserve(list.size() * 2);
  for (const auto& x : list) {
    out.emplace(x.id, &x);
    out.emplace(x.name, &x);
  }
  return out;
}

template <class T>
const T* find(const std::unordered_map<std::string_view, const T*>& index, const std::string& key) {
  auto it = index.find(key);
  return it == index.end() ? nullptr : it->second;
}

}  // namespace

ApiState ApiState::fromRows(const std::vector<store::Row>& rows) {
  ApiState s;
  json topo = json::object();
  for (const auto& row : rows) {
    json body = json::parse(row.body);
    std::string_view key = row.key;
    if (key == "topology/settings") {
      topo["settings"] = std::move(body);
    } else if (key.starts_with("topology/")) {
      std::string section(key.substr(9, key.find('/', 9) - 9));
      topo[section].push_back(std::move(body));
    } else if (key.starts_with("attrs/")) {
      size_t slash = key.find('/', 6);
      s.attrs[std::string(key.substr(6, slash - 6))][std::string(key.substr(slash + 1))] =
          std::move(body);
    } else if (key.starts_with("agents/")) {
      s.agents[std::string(key.substr(7))] = std::move(body);
    }
  }
  s.topo = topologyFromJson(topo);
  return s;
}

ApiState ApiState::copyForWrite(const ApiState& from, ApiState reuse) {
  ApiState s = std::move(reuse);
  s.topo.settings = from.topo.settings;
  forEachSection([&](const char*, auto member, auto) {
    auto& list = s.topo.*member;
    const auto& source = from.topo.*member;
    list.reserve(source.size() + 1);
    list = source;  // assigns over the items there (keeps capacity)
  });
  s.attrs = from.attrs;
  s.agents = from.agents;
  s.touched_ = from.touched_;
  return s;
}

std::vector<store::RowChange> ApiState::changesSince(const ApiState& before) const {
  std::vector<store::RowChange> out;
  if (!(before.topo.settings == topo.settings)) {  // no row: the defaults
    out.push_back(
        {"topology/settings", toJson(Topology{.settings = topo.settings})["settings"].dump()});
  }
  forEachSection([&](const char* section, auto member, auto key) {
    using T = typename std::remove_reference_t<decltype(topo.*member)>::value_type;
    diffRows(
        before.topo.*member, topo.*member, key, std::string("topology/") + section + "/",
        [](const T& a, const T& b) { return a == b; },
        [&](const T& item) { return itemJson(member, section, item).dump(); }, out);
  });
  // JSON objects as (key, value) lists, for diffRows.
  using Entry = std::pair<std::string, const json*>;
  auto byKey = [](const json& obj) {
    std::vector<Entry> list;
    for (const auto& [k, v] : obj.items())
      list.emplace_back(k, &v);
    return list;
  };
  auto entryKey = [](const Entry& e) -> const std::string& { return e.first; };
  auto same = [](const Entry& a, const Entry& b) { return *a.second == *b.second; };
  auto dump = [](const Entry& e) { return e.second->dump(); };
  diffRows(byKey(before.agents), byKey(agents), entryKey, "agents/", same, dump, out);
  if (touched_) {
    for (const auto& [kind, id] : *touched_) {
      const json* is =
          attrs.contains(kind) && attrs[kind].contains(id) ? &attrs[kind][id] : nullptr;
      const json* was = before.attrs.contains(kind) && before.attrs[kind].contains(id)
                            ? &before.attrs[kind][id]
                            : nullptr;
      if (is && (!was || *was != *is))
        out.push_back({"attrs/" + kind + "/" + id, is->dump()});
      if (!is && was)
        out.push_back({"attrs/" + kind + "/" + id, std::nullopt});
    }
    return out;
  }
  std::set<std::string> kinds;
  for (const auto& [kind, items] : attrs.items())
    kinds.insert(kind);
  for (const auto& [kind, items] : before.attrs.items())
    kinds.insert(kind);
  static const json kEmpty = json::object();
  for (const auto& kind : kinds) {
    const json& was = before.attrs.contains(kind) ? before.attrs[kind] : kEmpty;
    const json& is = attrs.contains(kind) ? attrs[kind] : kEmpty;
    diffRows(byKey(was), byKey(is), entryKey, "attrs/" + kind + "/", same, dump, out);
  }
  return out;
}

std::string ApiState::rowBody(const VmSpec& vm) {
  return itemJson(&Topology::vms, "vms", vm).dump();
}

std::string ApiState::rowBody(const FloatingIpSpec& fip) {
  return itemJson(&Topology::floating_ips, "floating_ips", fip).dump();
}

Topology ApiState::topologyForResolve(
    const std::function<bool(const std::string&)>& schedulable) const {
  Topology t = topo;
  t.hosts = hostsFromAgents(schedulable);
  return t;
}

Cloud ApiState::resolve(const std::function<bool(const std::string&)>& schedulable,
                        const std::string& label) {
  // In place: a copy of the topology costs as much as a third of resolving it.
  topo.hosts = hostsFromAgents(schedulable);
  struct Restore {
    Topology& t;
    ~Restore() { t.hosts.clear(); }
  } restore{topo};
  return ipam::resolve(topo, label);
}

std::vector<HostSpec> ApiState::hostsFromAgents(
    const std::function<bool(const std::string&)>& schedulable) const {
  // The external networks, once: a cloud has a few among its thousands (scanning them all
  // per agent cost 10 million steps per write at 1,000 agents and 10,000 networks).
  std::vector<const NetworkSpec*> external;
  for (const auto& n : topo.networks) {
    if (n.external)
      external.push_back(&n);
  }
  std::vector<HostSpec> hosts;
  for (const auto& [host, a] : agents.items()) {
    HostSpec h;
    h.name = host;
    h.mode = a.value("agent_mode", "dvr") == "dvr_snat" ? AgentMode::DvrSnat : AgentMode::Dvr;
    h.tunnel_ip = *Ipv4::parse(a.value("tunnel_ip", "0.0.0.0"));
    h.schedulable = !schedulable || schedulable(host);
    h.dhcp = a.value("dhcp", false);
    if (auto mac = Mac::parse(a.value("dvr_mac", "")))
      h.dvr_mac = *mac;
    // Uplinks name external networks, or "*" for every one of them.
    const json uplinks = a.value("uplinks", json::object());  // items() must not outlive it
    for (const auto& [net, dev] : uplinks.items()) {
      for (const NetworkSpec* n : external) {
        if (net == "*" || net == n->name || (n->id && net == *n->id))
          h.uplinks[n->name] = dev;
      }
    }
    hosts.push_back(std::move(h));
  }
  return hosts;
}

void ApiState::pinAllocations(const Cloud& c) {
  // The HA network's VNI: every host's slice must make the same network.
  for (const auto& n : c.networks) {
    if (n.ha)
      topo.settings.ha_vni = n.vni;
  }
  // Cloud::find* scan their list: once per network, subnet and router that made a write
  // quadratic in the cloud's size (most of a port create at 10,000 networks).
  auto networks = byIdOrName(c.networks);
  auto subnets = byIdOrName(c.subnets);
  auto routers = byIdOrName(c.routers);
  for (auto& n : topo.networks) {
    const Network* cn = find(networks, n.name);
    if (!cn)
      continue;
    n.id = cn->id;
    if (!cn->external)
      n.vni = cn->vni;
    n.mtu = cn->mtu;
  }
  for (auto& s : topo.subnets) {
    const Subnet* cs = find(subnets, s.name);
    if (!cs)
      continue;
    s.id = cs->id;
    s.gateway = cs->gateway;
    s.pools = cs->pools;
  }
  for (auto& r : topo.routers) {
    const Router* cr = find(routers, r.name);
    if (!cr)
      continue;
    r.id = cr->id;
    r.snat_host = cr->snat_host.empty() ? std::nullopt : std::optional(cr->snat_host);
    r.ha_hosts = cr->ha_hosts;
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
        // The IP is pinned only when it is not the subnet's gateway (an interface added by
        // a port with another address): a gateway interface follows its subnet's gateway.
        const Subnet* sn = find(subnets, qr.subnet_id);
        bool at_gateway = sn && sn->gateway == qr.ip;
        itf.port = {qr.id, qr.mac, at_gateway ? std::nullopt : std::optional(qr.ip)};
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
    v.mac = p->mac;
    if (p->hasIp()) {
      v.ip = p->ip;
      v.subnet = p->subnet_id;
    }
    v.extra_ips.clear();
    for (const auto& e : p->extra_ips)
      v.extra_ips.push_back({e.subnet_id, e.ip});
  }
  for (size_t i = 0; i < topo.floating_ips.size() && i < c.floating_ips.size(); ++i) {
    topo.floating_ips[i].id = c.floating_ips[i].id;
    topo.floating_ips[i].address = c.floating_ips[i].address;
  }
  // Rebuilt from the cloud, in the order they were first pinned (the order rows load in).
  std::vector<FipGatewaySpec> gateways;
  for (const auto& p : c.ports) {
    if (p.device_owner == kOwnerFipGateway)
      gateways.push_back({p.host, p.network_id, {p.id, p.mac, p.ip}, 0});
  }
  keepOrder(topo.fip_gateways, std::move(gateways),
            [](const FipGatewaySpec& g) { return g.host + "/" + g.network; });
  std::vector<DhcpPortSpec> dhcp;
  for (const auto& p : c.ports) {
    if (p.device_owner == kOwnerDhcp)
      dhcp.push_back({p.network_id, p.host, {p.id, p.mac, p.ip}, 0});
  }
  keepOrder(topo.dhcp_ports, std::move(dhcp), [](const DhcpPortSpec& d) { return d.network; });
  std::vector<LinkLocalSpec> pairs;
  for (const auto& ll : c.link_locals)
    pairs.push_back({ll.router_id, ll.host, Cidr{ll.rfp_ip, 31}, 0});
  keepOrder(topo.link_locals, std::move(pairs),
            [](const LinkLocalSpec& l) { return l.router + "/" + l.host; });
}

}  // namespace dvr::server
