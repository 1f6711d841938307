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

}  // namespace

void noteFastPath(TraceResult& result, const std::vector<plan::HostPlan>& plans) {
  for (const auto& p : plans) {
    if (p.fast_path.fips.empty())
      continue;
    notePath(result.forward, p);
    if (result.reply)
      notePath(*result.reply, p);
  }
}

}  // namespace dvr::trace
