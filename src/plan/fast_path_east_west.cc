#include "plan/fast_path_east_west.h"

#include <algorithm>
#include <map>

#include "plan/names.h"

namespace dvr::plan {

using namespace dvr::model;

uint32_t eastWestRouterNumber(const std::string& router_id) {
  uint32_t h = 2166136261u;
  for (unsigned char c : router_id) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

void addEastWest(const CloudIndex& ix, HostPlan& plan) {
  const Cloud& c = ix.cloud();
  const Host* host = ix.host(plan.host);
  FastPath& fp = plan.fast_path;
  if (!host)
    return;
  std::map<uint32_t, std::string> numbers;  // this host's routers by number: clashes stay out
  for (size_t ri : ix.routersOn(host->name)) {
    const Router& r = c.routers[ri];
    // A centralized router's frames leave with its qr- MAC, not a DVR MAC: the program
    // writes the distributed path only, so its traffic stays in its qrouter-.
    if (r.centralized())
      continue;
    // qr- port of each subnet the router routes between
    std::map<std::string, const Port*> qr_of_subnet;
    for (size_t q : r.interface_ports) {
      const Port& p = c.ports[q];
      if (p.hasIp())
        qr_of_subnet.emplace(p.subnet_id, &p);
    }
    if (qr_of_subnet.size() < 2)
      continue;  // nothing east-west to route
    std::vector<EastWestPort> ports;
    for (size_t pi : ix.portsOn(host->name)) {
      const Port& vm = c.ports[pi];
      if (vm.device_owner != kOwnerCompute || !vm.hasIp())
        continue;
      auto qr = qr_of_subnet.find(vm.subnet_id);
      if (qr == qr_of_subnet.end())
        continue;
      std::string tap = names::tap(vm.id);
      if (plan.port_filter.findByDev(tap)) {
        fp.left_out.emplace_back(vm.id, "east-west: filtered by security groups");
        continue;
      }
      ports.push_back({tap, 0, r.id, vm.ip, qr->second->mac});
    }
    if (ports.empty())
      continue;  // no VM of this router here sends through it
    uint32_t number = eastWestRouterNumber(r.id);
    if (!numbers.emplace(number, r.id).second) {
      fp.left_out.emplace_back(r.id, "east-west: router number clashes with router " +
                                         numbers[number] + " on this host");
      continue;
    }
    for (auto& p : ports) {
      p.router = number;
      fp.attach.push_back({p.vm_dev, kEastWestProgram});
      fp.ew_ports.push_back(std::move(p));
    }
    for (const auto& [subnet_id, qr] : qr_of_subnet) {
      const Network& net = ix.network(qr->network_id);
      for (size_t e : ix.endpointsOn(subnet_id)) {
        const Port& vm = c.ports[e];
        if (vm.device_owner != kOwnerCompute || vm.host.empty())
          continue;  // sg- ports are the SNAT path's
        EastWestDest d;
        d.router = number;
        d.router_id = r.id;
        d.ip = vm.ip;
        d.dst_mac = vm.mac;
        d.mtu = net.mtu;
        if (vm.host == host->name) {
          d.out_dev = names::tap(vm.id);
          if (plan.port_filter.findByDev(d.out_dev))
            continue;  // listed above, as a source
          d.src_mac = qr->mac;
        } else {
          const Host* there = ix.host(vm.host);
          if (!there || net.vni == 0)
            continue;
          d.out_dev = names::vxlan(net.vni);
          d.remote = true;
          d.tunnel_ip = there->tunnel_ip;
          d.src_mac = host->dvr_mac;
        }
        fp.ew_dests.push_back(std::move(d));
      }
    }
  }
  std::sort(fp.ew_ports.begin(), fp.ew_ports.end(),
            [](const EastWestPort& a, const EastWestPort& b) { return a.key() < b.key(); });
  std::sort(fp.ew_dests.begin(), fp.ew_dests.end(),
            [](const EastWestDest& a, const EastWestDest& b) { return a.key() < b.key(); });
}

}  // namespace dvr::plan
