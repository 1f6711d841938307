#include "kernel/object_kinds.h"

#include "plan/render.h"

namespace dvr::kernel {

std::string ipCommand(const std::string& ns) {
  return ns.empty() ? "ip " : "ip -n " + ns + " ";
}

std::string inNamespace(const std::string& ns) {
  return ns.empty() ? "" : "ip netns exec " + ns + " ";
}

namespace {

std::string prefixText(const Cidr& c) {
  return c.len == 32 ? c.addr.str() : c.str();
}

// MAC, MTU and master as `ip link add/set` takes them.
std::string linkAttributes(const plan::Link& l) {
  std::string out;
  if (l.mac)
    out += " address " + l.mac->str();
  if (l.mtu)
    out += " mtu " + std::to_string(l.mtu);
  if (!l.master.empty())
    out += " master " + l.master;
  return out;
}

}  // namespace

uint64_t ObjectKind<plan::Link>::content(const plan::Link& l) {
  return (FieldHash() << l.ns << l.name << uint64_t(l.kind) << (l.mac ? l.mac->value() : 1ULL << 60)
                      << uint64_t(l.mtu) << l.master << l.peer << l.peer_ns << l.vni
                      << l.local_ip.value() << uint64_t(l.up) << uint64_t(l.nf_call_iptables))
      .h;
}

std::string ObjectKind<plan::Link>::addLine(const plan::Link& l) {
  std::string out = ipCommand(l.ns) + "link add " + l.name + linkAttributes(l);
  switch (l.kind) {
    case plan::LinkKind::Bridge:
      return out + " type bridge" + (l.nf_call_iptables ? " nf_call_iptables 1" : "");
    case plan::LinkKind::Vxlan:
      return out + " type vxlan id " + std::to_string(l.vni) + " local " + l.local_ip.str() +
             " dstport " + std::to_string(plan::kVxlanPort) + " nolearning";
    case plan::LinkKind::Veth:
      return out + " type veth peer name " + l.peer +
             (l.peer_ns.empty() ? "" : " netns " + l.peer_ns);
    case plan::LinkKind::Adopted:
      break;
  }
  return out;
}

std::string ObjectKind<plan::Link>::setLine(const plan::Link& l) {
  std::string out = ipCommand(l.ns) + "link set " + l.name + linkAttributes(l) + " up";
  if (l.kind == plan::LinkKind::Bridge)
    out += " type bridge nf_call_iptables " + std::string(l.nf_call_iptables ? "1" : "0");
  return out;
}

std::string ObjectKind<plan::Link>::removeLine(const std::string& ns, const std::string& name) {
  return ipCommand(ns) + "link del " + name;
}

std::string ObjectKind<plan::Address>::addLine(const plan::Address& a) {
  return ipCommand(a.ns) + "addr add " + a.cidr.str() + " dev " + a.dev;
}
std::string ObjectKind<plan::Address>::removeLine(const plan::Address& a) {
  return ipCommand(a.ns) + "addr del " + a.cidr.str() + " dev " + a.dev;
}

namespace {
std::string neighbourArgs(const plan::Neighbour& n) {
  if (n.proxy)
    return "proxy " + n.ip.str() + " dev " + n.dev;
  return n.ip.str() + " dev " + n.dev + " lladdr " + n.mac.str() + " nud permanent";
}
}  // namespace

std::string ObjectKind<plan::Neighbour>::addLine(const plan::Neighbour& n) {
  return ipCommand(n.ns) + "neigh replace " + neighbourArgs(n);
}
std::string ObjectKind<plan::Neighbour>::removeLine(const plan::Neighbour& n) {
  return ipCommand(n.ns) + "neigh del " +
         (n.proxy ? neighbourArgs(n) : n.ip.str() + " dev " + n.dev);
}

std::string ObjectKind<plan::Route>::addLine(const plan::Route& r) {
  return ipCommand(r.ns) + "route replace " + plan::routeLine(r);
}
std::string ObjectKind<plan::Route>::removeLine(const plan::Route& r) {
  return ipCommand(r.ns) + "route del " + plan::routeLine(r);
}

namespace {
std::string ruleArgs(const plan::Rule& r) {
  std::string out =
      "priority " + std::to_string(r.priority) + " from " + (r.from ? prefixText(*r.from) : "all");
  if (!r.iif.empty())
    out += " iif " + r.iif;
  return out + " lookup " + std::to_string(r.table) + " proto dvr";
}
}  // namespace

std::string ObjectKind<plan::Rule>::addLine(const plan::Rule& r) {
  return ipCommand(r.ns) + "rule add " + ruleArgs(r);
}
std::string ObjectKind<plan::Rule>::removeLine(const plan::Rule& r) {
  return ipCommand(r.ns) + "rule del " + ruleArgs(r);
}

std::string ObjectKind<plan::FdbEntry>::addLine(const plan::FdbEntry& f) {
  return "bridge fdb append " + plan::fdbLine(f);
}
std::string ObjectKind<plan::FdbEntry>::removeLine(const plan::FdbEntry& f) {
  return "bridge fdb del " + plan::fdbLine(f);
}

bool ObjectKind<plan::Sysctl>::namespaceWide(const std::string& key) {
  bool per_device =
      key.find(".conf.") != std::string::npos || key.find(".neigh.") != std::string::npos;
  return !per_device || key.find(".all.") != std::string::npos ||
         key.find(".default.") != std::string::npos;
}

std::string ObjectKind<plan::Sysctl>::device(const plan::Sysctl& s) {
  if (namespaceWide(s.key))
    return "";
  // net.ipv4.conf.DEV.key: the fourth dot-separated part (device names hold no dots).
  size_t start = 0;
  for (int dots = 0; dots < 3; ++dots) {
    start = s.key.find('.', start);
    if (start == std::string::npos)
      return "";
    ++start;
  }
  size_t end = s.key.find('.', start);
  return s.key.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string ObjectKind<plan::Sysctl>::addLine(const plan::Sysctl& s) {
  return inNamespace(s.ns) + "sysctl -w " + s.key + "=" + s.value;
}

}  // namespace dvr::kernel
