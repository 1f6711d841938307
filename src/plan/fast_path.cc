#include "plan/fast_path.h"

#include <algorithm>
#include <set>

#include "plan/fast_path_east_west.h"
#include "plan/fast_path_snat.h"
#include "plan/names.h"

namespace dvr::plan {

using namespace dvr::model;

namespace {

const Router* routerById(const Cloud& c, const std::string& id) {
  for (const auto& r : c.routers) {
    if (r.id == id)
      return &r;
  }
  return nullptr;
}

}  // namespace

void addFastPath(const CloudIndex& ix, HostPlan& plan) {
  const Cloud& c = ix.cloud();
  const Host* host = ix.host(plan.host);
  FastPath& fp = plan.fast_path;
  fp = FastPath{};
  if (!host)
    return;
  std::set<std::string> taps, ext_devs;
  for (size_t f : ix.floatingIpsOn(host->name)) {
    const FloatingIp& fip = c.floating_ips[f];
    if (!fip.port)
      continue;
    const Port& port = c.ports[*fip.port];
    const Router* r = routerById(c, fip.router_id);
    if (port.device_owner != kOwnerCompute || !r || !r->gateway_network_id || !port.hasIp() ||
        r->centralized())  // a centralized router's NAT is on its qg-, another host maybe
      continue;
    std::string tap = names::tap(port.id);
    if (fip.fixed != port.ip) {  // the programs know a port by its tap: one address each
      fp.left_out.emplace_back(port.id, "NAT'd to a further fixed IP");
      continue;
    }
    if (plan.port_filter.findByDev(tap)) {
      fp.left_out.emplace_back(port.id, "filtered by security groups");
      continue;
    }
    const std::string& ext_id = *r->gateway_network_id;
    auto uplink = host->uplinks.find(ext_id);
    const Port* fg = ix.fipGatewayPort(host->name, ext_id);
    if (uplink == host->uplinks.end() || !fg) {
      fp.left_out.emplace_back(port.id, "no device on the external network");
      continue;
    }
    const Subnet& ext_subnet = ix.subnet(fg->subnet_id);
    if (!ext_subnet.gateway) {
      fp.left_out.emplace_back(port.id, "the external subnet has no gateway");
      continue;
    }
    const Port* qr = nullptr;
    FipFastPath e;
    for (size_t q : r->interface_ports) {
      const Port& p = c.ports[q];
      if (p.subnet_id == port.subnet_id)
        qr = &p;
      e.keep_local.push_back(ix.subnet(p.subnet_id).cidr.network());
    }
    if (!qr)
      continue;  // the planner gives it no floating IP path either
    e.keep_local.push_back(ext_subnet.cidr.network());
    e.keep_local.push_back(Cidr{Ipv4(169u << 24 | 254u << 16), 16});
    std::sort(e.keep_local.begin(), e.keep_local.end());
    e.keep_local.erase(std::unique(e.keep_local.begin(), e.keep_local.end()), e.keep_local.end());
    e.floating = fip.address;
    e.fixed = port.ip;
    e.vm_dev = tap;
    e.ext_dev = uplink->second;
    e.vm_mac = port.mac;
    e.qr_mac = qr->mac;
    e.fg_mac = fg->mac;
    e.out_mtu = ix.network(ext_id).mtu;
    e.in_mtu = ix.network(port.network_id).mtu;
    e.fip_ns = names::fipNs(ext_id);
    e.fg_dev = names::fg(fg->id);
    e.next_hop = *ext_subnet.gateway;
    fp.fips.push_back(std::move(e));
    taps.insert(tap);
    ext_devs.insert(uplink->second);
  }
  for (const auto& d : taps)
    fp.attach.push_back({d, kFipOutProgram});
  for (const auto& d : ext_devs)
    fp.attach.push_back({d, kFipInProgram});
  addEastWest(ix, plan);
  addSnatPath(ix, plan);
  std::sort(fp.attach.begin(), fp.attach.end(),
            [](const FastPathAttach& a, const FastPathAttach& b) { return a.key() < b.key(); });
  std::sort(fp.fips.begin(), fp.fips.end(),
            [](const FipFastPath& a, const FipFastPath& b) { return a.key() < b.key(); });
}

std::string renderFastPath(const HostPlan& plan) {
  const FastPath& fp = plan.fast_path;
  std::string out;
  for (const auto& a : fp.attach) {
    out += "filter dev " + a.dev + " ingress bpf direct-action " + a.program + "\n";
  }
  // bpftool map dump's shape, with names where the kernel holds ifindexes
  if (!fp.fips.empty()) {
    out += "map dvr_fip_out_map:\n";
    for (const auto& e : fp.fips) {
      out += "key: " + e.vm_dev + " " + e.fixed.str() + "  value: snat " + e.floating.str() +
             " dev " + e.ext_dev + " src " + e.fg_mac.str() + " dst neigh " + e.next_hop.str() +
             " (" + e.fip_ns + " dev " + e.fg_dev + ") if dst mac " + e.qr_mac.str() + " mtu " +
             std::to_string(e.out_mtu) + " ttl -2\n";
    }
    out += "map dvr_fip_in_map:\n";
    for (const auto& e : fp.fips) {
      out += "key: " + e.ext_dev + " " + e.floating.str() + "  value: dnat " + e.fixed.str() +
             " dev " + e.vm_dev + " src " + e.qr_mac.str() + " dst " + e.vm_mac.str() +
             " if dst mac " + e.fg_mac.str() + " mtu " + std::to_string(e.in_mtu) + " ttl -2\n";
    }
    out += "map dvr_fip_local (namespace path):\n";
    for (const auto& e : fp.fips) {
      for (const auto& k : e.keep_local)
        out += "key: " + e.vm_dev + " " + k.str() + "\n";
    }
  }
  if (!fp.ew_ports.empty()) {
    out += "map dvr_ew_port:\n";
    for (const auto& p : fp.ew_ports)
      out += "key: " + p.vm_dev + "  value: router " + std::to_string(p.router) + " (" +
             p.router_id + ") src " + p.ip.str() + " if dst mac " + p.gateway_mac.str() + "\n";
    out += "map dvr_ew_dst:\n";
    for (const auto& d : fp.ew_dests) {
      out += "key: router " + std::to_string(d.router) + " " + d.ip.str() + "  value: dev " +
             d.out_dev + " src " + d.src_mac.str() + " dst " + d.dst_mac.str();
      if (d.remote)
        out += " (vxlan to " + d.tunnel_ip.str() + ")";
      out += " mtu " + std::to_string(d.mtu) + " ttl -1\n";
    }
  }
  if (!fp.snat.empty()) {
    out += "map dvr_snat_port:\n";
    for (const auto& e : fp.snat)
      out += "key: " + e.vm_dev + "  value: dev " + e.out_dev + " src " + e.src_mac.str() +
             " dst " + e.sg_mac.str() + " (sg- " + e.sg_ip.str() + " on " + e.snat_host +
             ", vxlan " + std::to_string(e.vni) + " to " + e.tunnel_ip.str() + ") if src " +
             e.ip.str() + " dst mac " + e.gateway_mac.str() + " mtu " + std::to_string(e.mtu) +
             " ttl -1\n";
    out += "map dvr_snat_local (namespace path):\n";
    for (const auto& e : fp.snat) {
      for (const auto& k : e.keep_local)
        out += "key: " + e.vm_dev + " " + k.str() + "\n";
    }
  }
  for (const auto& [port, why] : fp.left_out)
    out += "# port " + port + ": namespace path only (" + why + ")\n";
  return out;
}

}  // namespace dvr::plan
