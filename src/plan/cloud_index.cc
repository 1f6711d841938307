#include "plan/cloud_index.h"

#include <algorithm>
#include <set>

namespace dvr::plan {

using namespace dvr::model;

const std::vector<size_t> CloudIndex::kNone;
const std::vector<std::string> CloudIndex::kNoHosts;

namespace {
template <class Map, class Value>
const Value& getOr(const Map& map, const std::string& key, const Value& fallback) {
  auto it = map.find(key);
  return it == map.end() ? fallback : it->second;
}
}  // namespace

CloudIndex::CloudIndex(const Cloud& cloud) : cloud_(cloud) {
  for (size_t i = 0; i < cloud.hosts.size(); ++i)
    host_[cloud.hosts[i].name] = i;
  for (size_t i = 0; i < cloud.networks.size(); ++i)
    network_[cloud.networks[i].id] = i;
  for (size_t i = 0; i < cloud.subnets.size(); ++i)
    subnet_[cloud.subnets[i].id] = i;
  // A router that is down (admin_state_up false) is on no host, as Neutron's L3 agents
  // drop it: its subnets have no router, and its sg-, ha- and centralized qr- ports are
  // plugged nowhere (their addresses stay allocated).
  std::unordered_set<size_t> down_ports;
  for (size_t r = 0; r < cloud.routers.size(); ++r) {
    const Router& router = cloud.routers[r];
    if (!router.admin_state_up) {
      for (const auto* ports : {&router.snat_ports, &router.ha_ports, &router.interface_ports})
        down_ports.insert(ports->begin(), ports->end());
      if (router.gateway_port)
        down_ports.insert(*router.gateway_port);
      continue;
    }
    for (size_t p : router.interface_ports)
      router_of_subnet_[cloud.ports[p].subnet_id] = long(r);
  }
  for (size_t i = 0; i < cloud.ports.size(); ++i) {
    const Port& p = cloud.ports[i];
    if (down_ports.count(i))
      continue;
    if (!p.host.empty())
      ports_on_[p.host].push_back(i);
    // Unbound ports live on no host: no neighbour or FDB entries anywhere (as Neutron).
    bool endpoint =
        (p.device_owner == kOwnerCompute || p.device_owner == kOwnerSnat) && !p.host.empty();
    if (endpoint) {
      if (p.hasIp())  // a port without a fixed IP is reached at L2 only (FDB, no neighbour)
        endpoints_on_[p.subnet_id].push_back(i);
      for (const FixedIp& e : p.extra_ips)
        extra_on_[e.subnet_id].push_back({i, e.ip});
      bound_on_network_[p.network_id].push_back(i);
    }
    // VM ports with an address on a subnet, bound or not: the clients of its DHCP server.
    if (p.device_owner == kOwnerCompute && p.hasIp())
      vms_on_subnet_[p.subnet_id].push_back(i);
    // ha- ports: reached at L2 only, by the other keepalived of their router. A
    // centralized router's qr- ports: on its host only, reached over the tunnel. A DHCP
    // port: on its DHCP host, reached over the tunnel (L2 only, as DHCP needs).
    if (p.device_owner == kOwnerHaInterface || p.device_owner == kOwnerDhcp ||
        (p.device_owner == kOwnerRouterInterfaceCentralized && !p.host.empty()))
      bound_on_network_[p.network_id].push_back(i);
  }
  // Routers on hosts: VMs pull in the distributed router of their subnet; SNAT hosts hold
  // theirs, and a centralized router is on its host only.
  std::unordered_map<std::string, std::set<size_t>> routers;
  auto pull = [&](const std::string& host, const std::string& subnet_id) {
    auto it = router_of_subnet_.find(subnet_id);
    if (it != router_of_subnet_.end() && cloud.routers[size_t(it->second)].distributed)
      routers[host].insert(size_t(it->second));
  };
  for (const Port& p : cloud.ports) {
    if (p.device_owner != kOwnerCompute || p.host.empty())
      continue;
    pull(p.host, p.subnet_id);
    for (const FixedIp& e : p.extra_ips)  // a further address's router routes it here too
      pull(p.host, e.subnet_id);
  }
  for (size_t r = 0; r < cloud.routers.size(); ++r) {
    if (!cloud.routers[r].admin_state_up)
      continue;
    if (!cloud.routers[r].snat_host.empty())
      routers[cloud.routers[r].snat_host].insert(r);
    for (const std::string& h : cloud.routers[r].ha_hosts)
      routers[h].insert(r);
  }
  for (auto& [host, set] : routers)
    routers_on_[host].assign(set.begin(), set.end());
  // Networks on hosts: VM networks plus every interface network of a local router.
  std::unordered_map<std::string, std::set<std::string>> hosts_with;
  for (size_t i = 0; i < cloud.ports.size(); ++i) {
    const Port& p = cloud.ports[i];
    if (down_ports.count(i))
      continue;
    if ((p.device_owner == kOwnerCompute || p.device_owner == kOwnerSnat ||
         p.device_owner == kOwnerHaInterface || p.device_owner == kOwnerDhcp) &&
        !p.host.empty())
      hosts_with[p.network_id].insert(p.host);
    for (const std::string& h : p.ha_hosts)
      hosts_with[p.network_id].insert(h);
  }
  for (const auto& [host, list] : routers_on_) {
    for (size_t r : list) {
      for (size_t p : cloud.routers[r].interface_ports)
        hosts_with[cloud.ports[p].network_id].insert(host);
    }
  }
  for (auto& [net, set] : hosts_with)
    hosts_with_[net].assign(set.begin(), set.end());
  // A floating IP is served on its port's host, or a centralized router's on that router's.
  std::unordered_map<std::string, size_t> router_by_id;
  for (size_t r = 0; r < cloud.routers.size(); ++r)
    router_by_id[cloud.routers[r].id] = r;
  for (size_t f = 0; f < cloud.floating_ips.size(); ++f) {
    const FloatingIp& fip = cloud.floating_ips[f];
    if (!fip.port || cloud.ports[*fip.port].host.empty())
      continue;
    auto r = router_by_id.find(fip.router_id);
    if (r != router_by_id.end() && !cloud.routers[r->second].admin_state_up)
      continue;  // its router is down: served nowhere
    if (r != router_by_id.end() && cloud.routers[r->second].centralized())
      fips_on_[cloud.routers[r->second].snat_host].push_back(f);
    else
      fips_on_[cloud.ports[*fip.port].host].push_back(f);
  }
  for (const LinkLocal& ll : cloud.link_locals)
    link_local_[ll.router_id + "@" + ll.host] = &ll;
  for (const Port& p : cloud.ports) {
    if (p.device_owner == kOwnerFipGateway)
      fg_port_[p.host + "@" + p.network_id] = &p;
  }
  for (size_t i = 0; i < cloud.security_groups.size(); ++i)
    group_[cloud.security_groups[i].id] = i;
  for (size_t i = 0; i < cloud.ports.size(); ++i) {
    const Port& p = cloud.ports[i];
    if (p.device_owner != kOwnerCompute || !p.port_security)
      continue;
    for (const std::string& g : p.security_group_ids)
      members_of_[g].push_back(i);
  }
}

const std::vector<size_t>& CloudIndex::membersOf(const std::string& group_id) const {
  return getOr(members_of_, group_id, kNone);
}
const SecurityGroup* CloudIndex::securityGroup(const std::string& id) const {
  auto it = group_.find(id);
  return it == group_.end() ? nullptr : &cloud_.security_groups[it->second];
}

const Host* CloudIndex::host(const std::string& name) const {
  auto it = host_.find(name);
  return it == host_.end() ? nullptr : &cloud_.hosts[it->second];
}
const std::vector<size_t>& CloudIndex::routersOn(const std::string& host) const {
  return getOr(routers_on_, host, kNone);
}
const std::vector<std::string>& CloudIndex::hostsWith(const std::string& network_id) const {
  return getOr(hosts_with_, network_id, kNoHosts);
}
const std::vector<size_t>& CloudIndex::portsOn(const std::string& host) const {
  return getOr(ports_on_, host, kNone);
}
const std::vector<size_t>& CloudIndex::endpointsOn(const std::string& subnet_id) const {
  return getOr(endpoints_on_, subnet_id, kNone);
}

const std::vector<std::pair<size_t, Ipv4>>& CloudIndex::extraAddressesOn(
    const std::string& subnet_id) const {
  static const std::vector<std::pair<size_t, Ipv4>> none;
  auto it = extra_on_.find(subnet_id);
  return it == extra_on_.end() ? none : it->second;
}
const std::vector<size_t>& CloudIndex::boundPortsOn(const std::string& network_id) const {
  return getOr(bound_on_network_, network_id, kNone);
}
const std::vector<size_t>& CloudIndex::vmPortsOnSubnet(const std::string& subnet_id) const {
  return getOr(vms_on_subnet_, subnet_id, kNone);
}
long CloudIndex::routerOfSubnet(const std::string& subnet_id) const {
  auto it = router_of_subnet_.find(subnet_id);
  return it == router_of_subnet_.end() ? -1 : it->second;
}
const std::vector<size_t>& CloudIndex::floatingIpsOn(const std::string& host) const {
  return getOr(fips_on_, host, kNone);
}
const LinkLocal* CloudIndex::linkLocal(const std::string& router_id,
                                       const std::string& host) const {
  auto it = link_local_.find(router_id + "@" + host);
  return it == link_local_.end() ? nullptr : it->second;
}
const Port* CloudIndex::fipGatewayPort(const std::string& host,
                                       const std::string& network_id) const {
  auto it = fg_port_.find(host + "@" + network_id);
  return it == fg_port_.end() ? nullptr : it->second;
}

}  // namespace dvr::plan
