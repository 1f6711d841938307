#include "server/host_slice.h"

#include <algorithm>
#include <set>

namespace dvr::server {

using namespace dvr::model;

Topology hostSlice(const Topology& pinned, const plan::CloudIndex& index, const std::string& host) {
  const Cloud& c = index.cloud();
  // Decided on the resolved cloud (ids), kept by name in the topology.
  std::set<std::string> nets;            // network ids the host uses
  std::set<std::string> served_subnets;  // the host's DHCP servers' (their VMs, bound or not)
  for (size_t p : index.portsOn(host)) {
    if (c.ports[p].device_owner == kOwnerCompute || c.ports[p].device_owner == kOwnerDhcp)
      nets.insert(c.ports[p].network_id);
    if (c.ports[p].device_owner == kOwnerDhcp)
      served_subnets.insert(c.ports[p].subnet_id);
  }
  for (size_t r : index.routersOn(host)) {
    for (size_t p : c.routers[r].interface_ports)
      nets.insert(c.ports[p].network_id);
    if (c.routers[r].gateway_network_id)
      nets.insert(*c.routers[r].gateway_network_id);
  }
  std::set<std::string> routers, subnets, networks = nets;  // names
  std::set<std::string> subnet_ids;
  for (const Router& r : c.routers) {
    bool relevant = r.snat_host == host ||
                    std::find(r.ha_hosts.begin(), r.ha_hosts.end(), host) != r.ha_hosts.end();
    for (size_t p : r.interface_ports)
      relevant = relevant || nets.count(c.ports[p].network_id);
    if (!relevant)
      continue;
    routers.insert(r.name);
    for (size_t p : r.interface_ports) {
      subnet_ids.insert(c.ports[p].subnet_id);
      networks.insert(c.ports[p].network_id);
    }
    if (r.gateway_network_id)
      networks.insert(*r.gateway_network_id);
  }
  for (const Subnet& s : c.subnets) {
    if (networks.count(s.network_id))
      subnet_ids.insert(s.id);
  }
  std::set<std::string> network_names, hosts{host}, vms, fips;
  for (const Network& n : c.networks) {
    if (networks.count(n.id))
      network_names.insert(n.name);
  }
  for (const Subnet& s : c.subnets) {
    if (subnet_ids.count(s.id)) {
      subnets.insert(s.name);
      network_names.insert(index.network(s.network_id).name);
    }
  }
  for (const Port& p : c.ports) {
    if (p.device_owner == kOwnerCompute && !p.host.empty() && subnet_ids.count(p.subnet_id)) {
      vms.insert(p.name);
      hosts.insert(p.host);
    }
    if (p.device_owner == kOwnerCompute && p.host.empty() && served_subnets.count(p.subnet_id))
      vms.insert(p.name);
  }
  for (const Router& r : c.routers) {
    if (routers.count(r.name) && !r.snat_host.empty())
      hosts.insert(r.snat_host);
    if (routers.count(r.name))
      hosts.insert(r.ha_hosts.begin(), r.ha_hosts.end());
  }
  for (size_t f : index.floatingIpsOn(host))
    fips.insert(c.floating_ips[f].id);
  // Remote groups: the rules of the host's VMs' groups match the addresses of every
  // member of the groups they name, wherever those members are.
  std::set<std::string> remote_groups;
  for (size_t p : index.portsOn(host)) {
    for (const auto& gid : c.ports[p].security_group_ids) {
      if (const SecurityGroup* g = c.findSecurityGroup(gid)) {
        for (const auto& r : g->rules) {
          if (!r.remote_group_id.empty())
            remote_groups.insert(r.remote_group_id);
        }
      }
    }
  }
  if (!remote_groups.empty()) {
    for (const Port& p : c.ports) {
      if (p.device_owner != kOwnerCompute || vms.count(p.name))
        continue;
      for (const auto& gid : p.security_group_ids) {
        if (remote_groups.count(gid)) {
          vms.insert(p.name);
          if (!p.host.empty())
            hosts.insert(p.host);
          if (const Subnet* s = c.findSubnet(p.subnet_id)) {
            subnets.insert(s->name);
            network_names.insert(index.network(s->network_id).name);
          }
          break;
        }
      }
    }
  }

  // The DHCP ports of the slice's networks (their hosts are reached over the tunnel), and
  // their hosts as DHCP hosts; no other host of the slice is one, so resolving the slice
  // schedules no DHCP port the whole cloud did not.
  std::set<std::string> dhcp_hosts;
  for (const Port& p : c.ports) {
    if (p.device_owner == kOwnerDhcp && network_names.count(index.network(p.network_id).name)) {
      hosts.insert(p.host);
      dhcp_hosts.insert(p.host);
    }
  }
  Topology t;
  t.settings = pinned.settings;
  t.external_hosts = pinned.external_hosts;
  for (const auto& h : pinned.hosts) {
    if (hosts.count(h.name)) {
      t.hosts.push_back(h);
      t.hosts.back().dhcp = h.dhcp && dhcp_hosts.count(h.name);
    }
  }
  for (const auto& n : pinned.networks) {
    if (network_names.count(n.name))
      t.networks.push_back(n);
  }
  for (const auto& s : pinned.subnets) {
    if (subnets.count(s.name))
      t.subnets.push_back(s);
  }
  for (const auto& r : pinned.routers) {
    if (routers.count(r.name))
      t.routers.push_back(r);
  }
  for (const auto& v : pinned.vms) {
    if (!vms.count(v.name))
      continue;
    t.vms.push_back(v);
    // A port's further fixed IPs are pinned; the slice keeps those on its subnets (routers
    // there hold neighbours for them, a floating IP may NAT to one).
    std::erase_if(t.vms.back().extra_ips,
                  [&](const FixedIpSpec& e) { return !subnets.count(e.subnet); });
  }
  for (const auto& f : pinned.floating_ips) {
    if (f.id && fips.count(*f.id))
      t.floating_ips.push_back(f);
  }
  for (const auto& g : pinned.fip_gateways) {
    if (g.host == host)
      t.fip_gateways.push_back(g);
  }
  for (const auto& d : pinned.dhcp_ports) {
    if (network_names.count(d.network) && dhcp_hosts.count(d.host))
      t.dhcp_ports.push_back(d);
  }
  for (const auto& ll : pinned.link_locals) {
    if (ll.host == host)
      t.link_locals.push_back(ll);
  }
  // The groups the slice's VMs name, and the remote groups their rules name, and theirs
  // (resolving a rule needs its remote group): no more, so that a group elsewhere (a new
  // project's default group) leaves this host's slice as it was.
  // By name, as the topology keeps them (VMs name groups; a rule's remote group is an id
  // in the cloud, its name in the topology).
  std::set<std::string> groups;
  std::vector<const SecurityGroup*> todo;
  auto need = [&](const std::string& name_or_id) {
    const SecurityGroup* g = c.findSecurityGroup(name_or_id);
    if (g && groups.insert(g->name).second)
      todo.push_back(g);
  };
  for (const auto& v : t.vms) {
    for (const auto& g : v.security_groups)
      need(g);
  }
  while (!todo.empty()) {
    const SecurityGroup* g = todo.back();
    todo.pop_back();
    for (const auto& r : g->rules) {
      if (!r.remote_group_id.empty())
        need(r.remote_group_id);
    }
  }
  for (const auto& g : pinned.security_groups) {
    if (groups.count(g.name))
      t.security_groups.push_back(g);
  }
  return t;
}

}  // namespace dvr::server
