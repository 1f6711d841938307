#include "trace/fast_path_note.h"

namespace dvr::trace {
namespace {

bool isBridge(const Hop& h) {
  return h.where.rfind("bridge ", 0) == 0;
}

bool isRouterNs(const Hop& h) {
  return h.where.rfind("qrouter-", 0) == 0 || h.where.rfind("fip-", 0) == 0;
}

bool keptLocal(const plan::FipFastPath& e, Ipv4 dst) {
  for (const auto& c : e.keep_local) {
    if (c.contains(dst))
      return true;
  }
  return false;
}

// hops[from] is the bridge the packet enters by (the program runs on its port's ingress,
// before the bridge), hops[to] the bridge it would leave by (the redirect goes past it to
// the device); everything between is qrouter-/fip-: all of them are skipped.
void mark(Path& path, size_t from, size_t to, const std::string& program, const std::string& dev,
          const std::string& what) {
  std::string skipped = "this bridge";
  for (size_t k = from + 1; k <= to; ++k) {
    skipped += ", " + path.hops[k].where;
    path.hops[k].decisions.push_back("skipped on the fast path (" + program +
                                     " does this hop's rewrite)");
  }
  path.hops[from].decisions.push_back("fast path: " + program + " at the ingress of " + dev + " " +
                                      what + ", skipping " + skipped);
}

void notePath(Path& path, const plan::HostPlan& p) {
  auto& hops = path.hops;
  for (const auto& e : p.fast_path.fips) {
    for (size_t i = 0; i + 1 < hops.size(); ++i) {
      const Hop& in = hops[i];
      if (in.host != p.host || !isBridge(in))
        continue;
      bool out = in.packet.src_ip == e.fixed && in.packet.dst_mac == e.qr_mac &&
                 !keptLocal(e, in.packet.dst_ip);
      bool back = in.packet.dst_ip == e.floating && in.packet.dst_mac == e.fg_mac;
      if (!out && !back)
        continue;
      size_t j = i + 1;
      while (j < hops.size() && hops[j].host == p.host && isRouterNs(hops[j]))
        ++j;
      if (j == i + 1 || j >= hops.size() || hops[j].host != p.host || !isBridge(hops[j]))
        continue;
      const Packet& left = hops[j].packet;
      if (out && left.src_ip == e.floating && left.src_mac == e.fg_mac)
        mark(path, i, j, plan::kFipOutProgram, e.vm_dev,
             "(SNAT " + e.fixed.str() + " -> " + e.floating.str() + ", TTL -2, out of " +
                 e.ext_dev + ")");
      else if (back && left.dst_ip == e.fixed && left.dst_mac == e.vm_mac)
        mark(path, i, j, plan::kFipInProgram, e.ext_dev,
             "(DNAT " + e.floating.str() + " -> " + e.fixed.str() + ", TTL -2, to " + e.vm_dev +
                 ")");
    }
  }
}

bool keptLocal(const std::vector<Cidr>& keep, Ipv4 dst) {
  for (const auto& c : keep) {
    if (c.contains(dst))
      return true;
  }
  return false;
}

// The SNAT entry of a VM's tap whose program takes a packet to dst, or null.
const plan::SnatFastPath* snatFor(const plan::FastPath& fp, const std::string& tap, Ipv4 dst) {
  for (const auto& e : fp.snat) {
    if (e.vm_dev == tap && !keptLocal(e.keep_local, dst))
      return &e;
  }
  return nullptr;
}

const plan::EastWestDest* eastWestDest(const plan::FastPath& fp, uint32_t router, Ipv4 ip) {
  for (const auto& d : fp.ew_dests) {
    if (d.router == router && d.ip == ip)
      return &d;
  }
  return nullptr;
}

// East-west: a frame from a VM with dvr_ew_out to its gateway MAC, routed by qrouter- and
// out by the bridge on this host (to the destination's tap, or its VXLAN port), is what
// the program sends itself when its map holds the destination; else the namespace path
// carries it, and the entering hop says why.
void noteEastWest(Path& path, const plan::HostPlan& p) {
  auto& hops = path.hops;
  for (const auto& port : p.fast_path.ew_ports) {
    for (size_t i = 0; i + 1 < hops.size(); ++i) {
      const Hop& in = hops[i];
      if (in.host != p.host || !isBridge(in) || in.packet.dst_mac != port.gateway_mac ||
          in.in_dev != port.vm_dev)
        continue;
      size_t j = i + 1;
      while (j < hops.size() && hops[j].host == p.host && hops[j].where.rfind("qrouter-", 0) == 0)
        ++j;
      if (j == i + 1 || j >= hops.size() || hops[j].host != p.host || !isBridge(hops[j]))
        continue;  // not routed between two subnets here (a floating IP's, SNAT's)
      std::string at = std::string(plan::kEastWestProgram) + " at the ingress of " + port.vm_dev;
      if (in.packet.src_ip != port.ip) {
        hops[i].decisions.push_back("namespace path: " + at + " takes only " + port.ip.str() +
                                    "'s packets (its dvr_ew_port entry)");
        continue;
      }
      const plan::EastWestDest* d = eastWestDest(p.fast_path, port.router, in.packet.dst_ip);
      if (!d && snatFor(p.fast_path, port.vm_dev, in.packet.dst_ip)) {
        hops[i].decisions.push_back(at + " has no dvr_ew_dst entry for router " +
                                    std::to_string(port.router) + " " + in.packet.dst_ip.str() +
                                    ": passed on to " + plan::kSnatProgram);
        continue;
      }
      if (!d) {
        hops[i].decisions.push_back("namespace path: " + at + " has no dvr_ew_dst entry for " +
                                    "router " + std::to_string(port.router) + " " +
                                    in.packet.dst_ip.str());
        continue;
      }
      const Packet& left = hops[j].packet;
      if (left.src_mac != d->src_mac || left.dst_mac != d->dst_mac)
        continue;  // the entry and the namespace path disagree: the trace shows the latter
      mark(path, i, j, plan::kEastWestProgram, port.vm_dev,
           "(dvr_ew_dst router " + std::to_string(d->router) + " " + d->ip.str() + ": src " +
               d->src_mac.str() + " dst " + d->dst_mac.str() + ", TTL -1, redirect to " +
               d->out_dev + (d->remote ? " egress, VXLAN to " + d->tunnel_ip.str() : "") + ")");
    }
  }
}

// SNAT, compute-host side: a frame from a VM with dvr_snat_out to its gateway MAC, for a
// destination qrouter- does not keep, routed by qrouter- to the sg- port and out by the
// bridge towards the VXLAN device, is what the program sends itself.
void noteSnat(Path& path, const plan::HostPlan& p) {
  auto& hops = path.hops;
  for (size_t i = 0; i + 1 < hops.size(); ++i) {
    const Hop& in = hops[i];
    if (in.host != p.host || !isBridge(in))
      continue;
    const plan::SnatFastPath* e = snatFor(p.fast_path, in.in_dev, in.packet.dst_ip);
    if (!e || in.packet.dst_mac != e->gateway_mac)
      continue;
    size_t j = i + 1;
    while (j < hops.size() && hops[j].host == p.host && hops[j].where.rfind("qrouter-", 0) == 0)
      ++j;
    if (j == i + 1 || j >= hops.size() || hops[j].host != p.host || !isBridge(hops[j]))
      continue;
    std::string at = std::string(plan::kSnatProgram) + " at the ingress of " + e->vm_dev;
    if (in.packet.src_ip != e->ip) {
      hops[i].decisions.push_back("namespace path: " + at + " takes only " + e->ip.str() +
                                  "'s packets (its dvr_snat_port entry)");
      continue;
    }
    const Packet& left = hops[j].packet;
    if (left.src_mac != e->src_mac || left.dst_mac != e->sg_mac)
      continue;  // the entry and the namespace path disagree: the trace shows the latter
    mark(path, i, j, plan::kSnatProgram, e->vm_dev,
         "(dvr_snat_port: src " + e->src_mac.str() + " dst " + e->sg_mac.str() + " (sg- " +
             e->sg_ip.str() + "), TTL -1, redirect to " + e->out_dev + " egress, VXLAN " +
             std::to_string(e->vni) + " to " + e->tunnel_ip.str() + " (" + e->snat_host +
             "), where snat- does the SNAT)");
  }
}

}  // namespace

void noteFastPath(TraceResult& result, const std::vector<plan::HostPlan>& plans) {
  for (const auto& p : plans) {
    notePath(result.forward, p);
    noteEastWest(result.forward, p);
    noteSnat(result.forward, p);
    if (result.reply) {
      notePath(*result.reply, p);
      noteEastWest(*result.reply, p);
      noteSnat(*result.reply, p);
    }
  }
}

}  // namespace dvr::trace
