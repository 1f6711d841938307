#include "plan/port_filter.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "ipam/ids.h"
#include "plan/names.h"
#include "plan/nft_tables.h"

namespace dvr::plan {

using namespace dvr::model;

const FilteredPort* PortFilter::findByDev(const std::string& dev) const {
  for (const auto& p : ports) {
    if (p.dev == dev)
      return &p;
  }
  return nullptr;
}

const FilterGroup* PortFilter::findGroup(const std::string& id) const {
  for (const auto& g : groups) {
    if (g.id == id)
      return &g;
  }
  return nullptr;
}

std::vector<std::string> chainGroups(const PortFilter& f, const FilteredPort& p) {
  std::vector<std::string> out;
  for (const auto& g : p.groups) {
    if (f.findGroup(g))
      out.push_back(g);
  }
  return out;
}

namespace filter_names {
std::string portChain(const std::vector<std::string>& groups, bool ingress) {
  std::string joined;
  for (const auto& g : groups)
    joined += g + ",";
  char hash[24];
  std::snprintf(hash, sizeof hash, "%016llx",
                static_cast<unsigned long long>(ipam::hash64(joined)));
  return (ingress ? "in-" : "out-") + std::string(hash);
}
std::string groupChain(const std::string& group_id, bool ingress) {
  return (ingress ? "sg-in-" : "sg-out-") + group_id;
}
std::string remoteGroupSet(const std::string& group_id) {
  return "rg-" + group_id;
}
}  // namespace filter_names

namespace {

const char* l4Name(int protocol) {
  switch (protocol) {
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 132:
      return "sctp";
    default:
      return nullptr;
  }
}

FilterRule filterRule(const SecurityGroupRule& r) {
  return {r.id, r.protocol, r.port_min, r.port_max, r.remote_ip_prefix, r.remote_group_id};
}

// The zone of a network's connections: its VNI, folded into conntrack's 16 bits when
// larger (zone 0 is everything unzoned). VNIs that fold alike on one host take the next free zone,
// in VNI order, so the plan stays a function of the cloud.
std::map<std::string, uint16_t> networkZones(const CloudIndex& ix,
                                             const std::set<std::string>& networks) {
  std::vector<std::pair<uint32_t, std::string>> by_vni;
  for (const auto& id : networks)
    by_vni.emplace_back(ix.network(id).vni, id);
  std::sort(by_vni.begin(), by_vni.end());
  std::set<uint16_t> used;
  std::map<std::string, uint16_t> zones;
  for (const auto& [vni, id] : by_vni) {
    uint16_t z = vni >= 1 && vni <= 65535 ? uint16_t(vni) : uint16_t(vni % 65535 + 1);
    while (used.count(z))
      z = uint16_t(z % 65535 + 1);
    used.insert(z);
    zones[id] = z;
  }
  return zones;
}

// Interval sets refuse overlapping elements: keep only prefixes no other one covers.
// Host addresses are most of them: each is compared with the few wider prefixes only.
template <class Key>
void dropCovered(std::vector<std::pair<Key, Cidr>>& v) {
  for (auto& [k, c] : v)
    c.addr = Ipv4(c.len == 0 ? 0 : c.addr.value() & (0xffffffffu << (32 - c.len)));
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  std::vector<std::pair<Key, Cidr>> wide, kept;
  for (const auto& e : v) {
    if (e.second.len < 32)
      wide.push_back(e);
  }
  for (const auto& [k, c] : v) {
    bool covered = false;
    for (const auto& [k2, c2] : wide)
      covered = covered || (k2 == k && !(c2 == c) && c2.len <= c.len && c2.overlaps(c));
    if (!covered)
      kept.emplace_back(k, c);
  }
  v = std::move(kept);
}

}  // namespace

std::string ruleMatch(const FilterRule& r, bool ingress) {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : " ") + s; };
  if (r.protocol) {
    const char* l4 = l4Name(*r.protocol);
    if (*r.protocol == 1) {
      add("meta l4proto icmp");
      if (r.port_min)
        add("icmp type " + std::to_string(*r.port_min));
      if (r.port_max)
        add("icmp code " + std::to_string(*r.port_max));
    } else if (l4 && (r.port_min || r.port_max)) {
      int lo = r.port_min.value_or(1), hi = r.port_max.value_or(65535);
      add(std::string(l4) + " dport " + std::to_string(lo) +
          (hi != lo ? "-" + std::to_string(hi) : ""));
    } else {
      add("meta l4proto " + (l4 ? std::string(l4) : std::to_string(*r.protocol)));
    }
  }
  const char* dir = ingress ? "ip saddr " : "ip daddr ";
  if (r.remote_prefix && r.remote_prefix->len > 0)
    add(dir + nft_element::address(*r.remote_prefix));
  if (!r.remote_group.empty())
    add(dir + std::string("@") + filter_names::remoteGroupSet(r.remote_group));
  return out;
}

PortFilter planPortFilter(const CloudIndex& ix, const Host& host, const std::vector<Link>& links) {
  const Cloud& c = ix.cloud();
  PortFilter f;
  std::set<std::string> group_ids, remote_ids, networks;
  for (size_t i : ix.portsOn(host.name)) {
    const Port& vm = c.ports[i];
    if (vm.device_owner != kOwnerCompute || !vm.port_security)
      continue;
    FilteredPort p{vm.id, names::tap(vm.id), vm.network_id, 0, {}, vm.security_group_ids};
    p.sources.push_back({vm.mac, Cidr{vm.ip, 32}});
    for (const FixedIp& e : vm.extra_ips)
      p.sources.push_back({vm.mac, Cidr{e.ip, 32}});
    for (const AddressPair& ap : vm.allowed_address_pairs)
      p.sources.push_back({ap.mac, ap.ip});
    std::vector<std::pair<Mac, Cidr>> sources;
    for (const AllowedSource& s : p.sources)
      sources.emplace_back(s.mac, s.ip);
    dropCovered(sources);
    std::sort(sources.begin(), sources.end());
    p.sources.clear();
    for (const auto& [mac, ip] : sources)
      p.sources.push_back({mac, ip});
    group_ids.insert(vm.security_group_ids.begin(), vm.security_group_ids.end());
    networks.insert(vm.network_id);
    f.ports.push_back(std::move(p));
  }
  for (const std::string& id : group_ids) {
    const SecurityGroup* g = ix.securityGroup(id);
    if (!g)
      continue;  // resolve refuses unknown groups; a stale slice may still name one
    FilterGroup fg{g->id, g->name, {}, {}};
    for (const SecurityGroupRule& r : g->rules) {
      (r.ingress ? fg.ingress : fg.egress).push_back(filterRule(r));
      if (!r.remote_group_id.empty())
        remote_ids.insert(r.remote_group_id);
    }
    f.groups.push_back(std::move(fg));
  }
  for (const std::string& id : remote_ids) {
    std::vector<std::pair<int, Cidr>> members;
    for (size_t i : ix.membersOf(id)) {
      const Port& m = c.ports[i];
      members.emplace_back(0, Cidr{m.ip, 32});
      for (const FixedIp& e : m.extra_ips)
        members.emplace_back(0, Cidr{e.ip, 32});
      for (const AddressPair& ap : m.allowed_address_pairs)
        members.emplace_back(0, ap.ip);
    }
    dropCovered(members);
    for (const auto& [unused, cidr] : members)
      f.remote_groups[id].insert(cidr);
  }
  // Every port of a bridge that holds a filtered port gets its network's zone.
  std::map<std::string, uint16_t> zone_of_net = networkZones(ix, networks);
  std::map<std::string, uint16_t> zone_of_bridge;
  for (const auto& [net, zone] : zone_of_net)
    zone_of_bridge[names::bridge(net)] = zone;
  for (const Link& l : links) {
    if (!l.ns.empty())
      continue;
    auto it = zone_of_bridge.find(l.master);
    if (it != zone_of_bridge.end())
      f.zones[l.name] = it->second;
  }
  // Each of those ports gets a mark of its own, from its name (the next free one on a
  // clash), so that a port keeps its mark while it lives.
  std::set<uint32_t> used;
  for (const auto& [dev, zone] : f.zones) {
    uint32_t mark = uint32_t(ipam::hash64(dev)) | 0x80000000u;
    while (used.count(mark))
      mark = mark == 0xffffffffu ? 0x80000000u : mark + 1;
    used.insert(mark);
    f.marks[dev] = mark;
  }
  for (FilteredPort& p : f.ports)
    p.mark = f.marks.at(p.dev);
  return f;
}

}  // namespace dvr::plan
