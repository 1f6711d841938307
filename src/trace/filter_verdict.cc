#include "trace/filter_verdict.h"

#include "plan/port_filter.h"

namespace dvr::trace {
namespace {

int protocolNumber(Proto p) {
  switch (p) {
    case Proto::Icmp:
      return 1;
    case Proto::Tcp:
      return 6;
    case Proto::Udp:
      return 17;
  }
  return 0;
}

std::string describe(const Packet& p, bool ingress) {
  std::string what = protoName(p.proto);
  if (p.proto != Proto::Icmp)
    what += "/" + std::to_string(p.dport);
  return what + (ingress ? " from " + p.src_ip.str() : " to " + p.dst_ip.str());
}

bool matches(const plan::PortFilter& f, const plan::FilterRule& r, bool ingress, const Packet& p) {
  int proto = protocolNumber(p.proto);
  if (r.protocol && *r.protocol != proto)
    return false;
  if (r.protocol && (r.port_min || r.port_max)) {
    if (proto == 1) {
      // The walk's ICMP is an echo request (type 8, code 0).
      if (r.port_min && *r.port_min != 8)
        return false;
      if (r.port_max && *r.port_max != 0)
        return false;
    } else if (p.dport < r.port_min.value_or(1) || p.dport > r.port_max.value_or(65535)) {
      return false;
    }
  }
  Ipv4 remote = ingress ? p.src_ip : p.dst_ip;
  if (r.remote_prefix && !r.remote_prefix->contains(remote))
    return false;
  if (!r.remote_group.empty()) {
    auto it = f.remote_groups.find(r.remote_group);
    if (it == f.remote_groups.end())
      return false;
    bool member = false;
    for (const Cidr& c : it->second)
      member = member || c.contains(remote);
    if (!member)
      return false;
  }
  return true;
}

}  // namespace

FilterVerdict filterVerdict(const plan::PortFilter& f, const plan::FilteredPort& port, bool ingress,
                            const Packet& p, bool reply) {
  std::string at = "VM port " + port.dev + (ingress ? " (ingress)" : " (egress)");
  if (!ingress) {
    bool own = false;
    for (const auto& s : port.sources)
      own = own || (s.mac == p.src_mac && s.ip.contains(p.src_ip));
    if (!own)
      return {false, "security groups at " + at + ": source " + p.src_mac.str() + " " +
                         p.src_ip.str() + " is not the port's (anti-spoofing)"};
  }
  if (reply)
    return {true, "security groups at " + at +
                      ": ct state established (a reply of an allowed "
                      "connection)"};
  std::string groups;
  for (const std::string& g : port.groups) {
    const plan::FilterGroup* group = f.findGroup(g);
    if (!group)
      continue;
    groups += (groups.empty() ? "" : ", ") + group->name;
    for (const plan::FilterRule& r : ingress ? group->ingress : group->egress) {
      if (!matches(f, r, ingress, p))
        continue;
      std::string m = plan::ruleMatch(r, ingress);
      return {true, "security groups at " + at + ": accepted by rule " + r.id + " of group " +
                        group->name + " (" + (m.empty() ? "any" : m) + ")"};
    }
  }
  return {false, "security groups at " + at + ": no rule of " +
                     (groups.empty() ? std::string("its groups (none)") : groups) + " allows " +
                     describe(p, ingress)};
}

}  // namespace dvr::trace
