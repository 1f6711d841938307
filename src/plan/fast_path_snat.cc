#include "plan/fast_path_snat.h"

#include <algorithm>
#include <set>

#include "plan/names.h"

namespace dvr::plan {

using namespace dvr::model;

namespace {

// What qrouter- routes itself, before its rule for the subnet's SNAT redirect table: its
// main table (the connected subnets, the extra routes) and link-local.
std::vector<Cidr> keptByRouter(const CloudIndex& ix, const Router& r) {
  const Cloud& c = ix.cloud();
  std::vector<Cidr> keep;
  for (size_t q : r.interface_ports)
    keep.push_back(ix.subnet(c.ports[q].subnet_id).cidr.network());
  for (const ExtraRoute& e : r.routes)
    keep.push_back(e.destination.network());
  keep.push_back(Cidr{Ipv4(169u << 24 | 254u << 16), 16});
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  return keep;
}

}  // namespace

void addSnatPath(const CloudIndex& ix, HostPlan& plan) {
  const Cloud& c = ix.cloud();
  const Host* host = ix.host(plan.host);
  FastPath& fp = plan.fast_path;
  if (!host)
    return;
  std::set<size_t> with_fip;  // ports whose traffic is their floating IP's (qrouter-'s rule)
  for (size_t f : ix.floatingIpsOn(host->name)) {
    if (c.floating_ips[f].port)
      with_fip.insert(*c.floating_ips[f].port);
  }
  for (size_t ri : ix.routersOn(host->name)) {
    const Router& r = c.routers[ri];
    if (r.centralized() || !r.gateway_network_id || r.snat_ports.empty())
      continue;  // no SNAT redirect in a qrouter- here
    if (r.ha()) {
      fp.left_out.emplace_back(r.id, "SNAT: HA router (its sg- ports are on several hosts)");
      continue;
    }
    std::vector<Cidr> keep;
    for (size_t k = 0; k < r.interface_ports.size() && k < r.snat_ports.size(); ++k) {
      const Port& qr = c.ports[r.interface_ports[k]];
      const Port& sg = c.ports[r.snat_ports[k]];
      const Network& net = ix.network(qr.network_id);
      const Host* there = ix.host(sg.host);
      if (!qr.hasIp() || !sg.hasIp() || !there || net.vni == 0)
        continue;
      for (size_t pi : ix.portsOn(host->name)) {
        const Port& vm = c.ports[pi];
        if (vm.device_owner != kOwnerCompute || !vm.hasIp() || vm.subnet_id != qr.subnet_id)
          continue;
        std::string tap = names::tap(vm.id);
        if (with_fip.count(pi))
          continue;  // dvr_fip_out's, or the namespace path's floating IP rule
        if (plan.port_filter.findByDev(tap)) {
          fp.left_out.emplace_back(vm.id, "SNAT: filtered by security groups");
          continue;
        }
        if (there == host) {
          fp.left_out.emplace_back(vm.id, "SNAT: the sg- port is on this host");
          continue;
        }
        if (keep.empty())
          keep = keptByRouter(ix, r);
        SnatFastPath e;
        e.vm_dev = tap;
        e.router_id = r.id;
        e.ip = vm.ip;
        e.gateway_mac = qr.mac;
        e.out_dev = names::vxlan(net.vni);
        e.src_mac = host->dvr_mac;
        e.sg_mac = sg.mac;
        e.sg_ip = sg.ip;
        e.snat_host = there->name;
        e.tunnel_ip = there->tunnel_ip;
        e.vni = net.vni;
        e.mtu = net.mtu;
        e.keep_local = keep;
        fp.attach.push_back({tap, kSnatProgram});
        fp.snat.push_back(std::move(e));
      }
    }
  }
  std::sort(fp.snat.begin(), fp.snat.end(),
            [](const SnatFastPath& a, const SnatFastPath& b) { return a.key() < b.key(); });
}

}  // namespace dvr::plan
