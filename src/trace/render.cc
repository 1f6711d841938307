#include "trace/render.h"

#include <nlohmann/json.hpp>

namespace dvr::trace {
namespace {

std::string mark(unsigned changed, Field f, const std::string& value) {
  return (changed & f ? "*" : "") + value;
}

std::string headers(const Packet& p, unsigned changed) {
  return mark(changed, kSrcMac, p.src_mac.str()) + " > " + mark(changed, kDstMac, p.dst_mac.str()) +
         ", " + mark(changed, kSrcIp, p.src_ip.str()) + " > " +
         mark(changed, kDstIp, p.dst_ip.str());
}

void renderPath(std::string& out, const Path& path) {
  out += path.title + "\n";
  int n = 1;
  for (const auto& hop : path.hops) {
    char num[8];
    std::snprintf(num, sizeof num, "%3d  ", n++);
    out += num + hop.host + "  " + hop.where;
    if (!hop.in_dev.empty())
      out += "  in " + hop.in_dev;
    if (!hop.out_dev.empty())
      out += "  out " + hop.out_dev;
    out += "\n";
    for (const auto& d : hop.decisions)
      out += "       " + d + "\n";
    if (hop.encap) {
      out += "       = outer " + hop.encap->src.str() + " > " + hop.encap->dst.str() + " vni " +
             std::to_string(hop.encap->vni) + " | inner " + headers(hop.packet, 0) + "\n";
    } else {
      out += "       = " + headers(hop.packet, hop.changed) + "\n";
    }
  }
  out += "  => " + path.verdict + "\n";
}

nlohmann::ordered_json pathJson(const Path& path) {
  nlohmann::ordered_json j{
      {"title", path.title}, {"delivered", path.delivered}, {"verdict", path.verdict}};
  auto& hops = j["hops"] = nlohmann::ordered_json::array();
  for (const auto& h : path.hops) {
    nlohmann::ordered_json o{{"host", h.host},
                             {"where", h.where},
                             {"in", h.in_dev},
                             {"out", h.out_dev},
                             {"decisions", h.decisions},
                             {"packet",
                              {{"src_mac", h.packet.src_mac.str()},
                               {"dst_mac", h.packet.dst_mac.str()},
                               {"src_ip", h.packet.src_ip.str()},
                               {"dst_ip", h.packet.dst_ip.str()},
                               {"proto", protoName(h.packet.proto)}}}};
    auto& changed = o["changed"] = nlohmann::ordered_json::array();
    if (h.changed & kSrcMac)
      changed.push_back("src_mac");
    if (h.changed & kDstMac)
      changed.push_back("dst_mac");
    if (h.changed & kSrcIp)
      changed.push_back("src_ip");
    if (h.changed & kDstIp)
      changed.push_back("dst_ip");
    if (h.encap)
      o["vxlan"] = {
          {"src", h.encap->src.str()}, {"dst", h.encap->dst.str()}, {"vni", h.encap->vni}};
    hops.push_back(std::move(o));
  }
  return j;
}

}  // namespace

std::string renderText(const TraceResult& result) {
  std::string out;
  renderPath(out, result.forward);
  if (result.reply) {
    out += "\n";
    renderPath(out, *result.reply);
  }
  return out;
}

std::string renderJson(const TraceResult& result) {
  nlohmann::ordered_json j{{"forward", pathJson(result.forward)}};
  if (result.reply)
    j["reply"] = pathJson(*result.reply);
  return j.dump(2) + "\n";
}

}  // namespace dvr::trace
