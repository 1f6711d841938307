#include "plan/nft_tables.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "ipam/ids.h"
#include "plan/port_filter.h"

namespace dvr::plan {

std::string NftSet::declaration() const {
  std::string out = type.rfind("typeof ", 0) == 0 ? type : "type " + type;
  if (!flags.empty())
    out += "\n    flags " + flags;
  return out;
}

std::string NftChain::tag() const {
  char buf[24];
  std::snprintf(buf, sizeof buf, "dvr:%016llx",
                static_cast<unsigned long long>(ipam::hash64(rules)));
  return buf;
}

std::vector<std::string> NftChain::ruleComments() const {
  std::vector<std::string> out;
  for (size_t start = 0; start < rules.size();) {
    size_t end = rules.find('\n', start);
    if (end == std::string::npos)
      end = rules.size();
    out.push_back(ruleComment(rules.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

std::string ruleComment(const std::string& rule) {
  size_t at = rule.rfind("comment \"");
  if (at == std::string::npos)
    return "";
  at += 9;
  return rule.substr(at, rule.find('"', at) - at);
}

std::string NftChain::text() const {
  return "  chain " + name + " {\n    " + tagRule() + "\n" + rules + "  }\n";
}

// A chain's comment cannot change while the chain lives (and a chain that is jumped to
// cannot be deleted), so the tag rides on its first rule: a counter of the packets that
// enter the chain, which an operator reads too.
std::string NftChain::tagRule() const {
  return "counter comment \"" + tag() + "\"";
}

std::string NftTable::structure() const {
  std::string out = "table " + family + " " + name + " {\n";
  for (const auto& s : sets) {
    if (!s.dynamic)
      out += "  " + std::string(s.is_map ? "map " : "set ") + s.name + " {\n    " +
             s.declaration() + "\n  }\n";
  }
  for (const auto& c : chains)
    out += c;
  return out + "}\n";
}

std::string NftTable::structureTag() const {
  char buf[24];
  std::snprintf(buf, sizeof buf, "dvr:%016llx",
                static_cast<unsigned long long>(ipam::hash64(structure())));
  return buf;
}

std::string NftTable::text() const {
  std::string out = "table " + family + " " + name + " {\n  comment \"" + structureTag() + "\"\n";
  for (const auto& s : sets) {
    out += "  " + std::string(s.is_map ? "map " : "set ") + s.name + " {\n    " + s.declaration() +
           "\n";
    if (!s.elements.empty()) {
      out += "    elements = {\n";
      for (size_t i = 0; i < s.elements.size(); ++i) {
        out += "      " + s.elements[i] + (i + 1 < s.elements.size() ? ",\n" : "\n");
      }
      out += "    }\n";
    }
    out += "  }\n";
  }
  for (const auto& c : tagged_chains)
    out += c.text();
  for (const auto& c : chains)
    out += c;
  return out + "}\n";
}

namespace filter_sets {
const char* sourceSet(const AllowedSource& s) {
  return s.ip.len == 32 ? kPortSources : kPortSourceNets;
}
}  // namespace filter_sets

namespace nft_element {
std::string fipDnat(const FloatingIpNat& f) {
  return f.floating.str() + " : " + f.fixed.str();
}
std::string fipSnat(const FloatingIpNat& f) {
  return f.fixed.str() + " : " + f.floating.str();
}
std::string ifname(const std::string& dev) {
  return "\"" + dev + "\"";
}
std::string gatewayArp(const std::string& dev, Ipv4 ip) {
  return ifname(dev) + " . " + ip.str();
}
std::string macToMac(Mac from, Mac to) {
  return from.str() + " : " + to.str();
}
std::string address(Cidr c) {
  Ipv4 net(c.len == 0 ? 0 : c.addr.value() & (0xffffffffu << (32 - c.len)));
  return c.len == 32 ? net.str() : net.str() + "/" + std::to_string(c.len);
}
std::string portSource(const std::string& dev, const AllowedSource& s) {
  return ifname(dev) + " . " + s.mac.str() + " . " + address(s.ip);
}
std::string mark(uint32_t m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", m);
  return buf;
}
std::string portMark(const std::string& dev, uint32_t m) {
  return ifname(dev) + " : " + mark(m);
}
std::string zone(uint32_t m, uint16_t zone) {
  return mark(m) + " : " + std::to_string(zone);
}
std::string portVerdict(const PortFilter& f, const FilteredPort& p, bool ingress) {
  return mark(p.mark) + " : jump " + filter_names::portChain(chainGroups(f, p), ingress);
}
}  // namespace nft_element

namespace {
// "    <rule> comment "#<hash of rule>"\n": a rule of a port's chain, named by its content.
std::string portRule(const std::string& rule) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%08x", static_cast<unsigned>(ipam::hash64(rule)));
  return "    " + rule + " comment \"" + buf + "\"\n";
}
}  // namespace

NftChain portChain(const std::vector<std::string>& groups, bool ingress) {
  // No DHCP server answers from a VM; replies of allowed connections pass; the
  // groups' chains accept what a rule allows; nothing else passes.
  std::string rules = ingress ? "" : portRule("udp sport 67 udp dport 68 drop");
  rules += portRule("ct state established,related accept") + portRule("ct state invalid drop");
  for (const std::string& g : groups)
    rules += portRule("jump " + filter_names::groupChain(g, ingress));
  rules += portRule("counter drop");
  return {filter_names::portChain(groups, ingress), rules};
}

NftChain groupChain(const FilterGroup& g, bool ingress) {
  std::string rules;
  for (const FilterRule& r : ingress ? g.ingress : g.egress) {
    std::string m = ruleMatch(r, ingress);
    rules += "    " + (m.empty() ? "" : m + " ") + "accept comment \"" + r.id + "\"\n";
  }
  return {filter_names::groupChain(g.id, ingress), rules};
}

namespace {

std::string quote(const std::string& s) {
  return "\"" + s + "\"";
}

using Tables = std::map<std::pair<std::string, std::string>, NftTable>;  // (ns, family)

// Whole: elements and tagged chains; NoElements: sets left empty; Structure: neither.
enum class Mode { Whole, NoElements, Structure };

NftTable& tableFor(Tables& tables, const std::string& ns, const std::string& family) {
  auto [it, fresh] = tables.try_emplace({ns, family});
  if (fresh) {
    it->second.ns = ns;
    it->second.family = family;
  }
  return it->second;
}

// Every namespace, or only those in `only`.
bool wanted(const std::set<std::string>* only, const std::string& ns) {
  return !only || only->count(ns) != 0;
}

void floatingIpTables(const HostPlan& plan, Tables& tables, bool with_elements,
                      const std::set<std::string>* only) {
  // floating_nat is sorted by namespace: one pass, one table per qrouter-.
  for (size_t i = 0; i < plan.floating_nat.size();) {
    const std::string& ns = plan.floating_nat[i].ns;
    const std::string& rfp = plan.floating_nat[i].rfp_dev;
    if (!wanted(only, ns)) {
      while (i < plan.floating_nat.size() && plan.floating_nat[i].ns == ns)
        ++i;
      continue;
    }
    NftTable& t = tableFor(tables, ns, "ip");
    NftSet dnat{"fip_dnat", "ipv4_addr : ipv4_addr", true, {}};
    NftSet snat{"fip_snat", "ipv4_addr : ipv4_addr", true, {}};
    for (; i < plan.floating_nat.size() && plan.floating_nat[i].ns == ns; ++i) {
      if (with_elements) {
        dnat.elements.push_back(nft_element::fipDnat(plan.floating_nat[i]));
        snat.elements.push_back(nft_element::fipSnat(plan.floating_nat[i]));
      }
    }
    t.sets.push_back(std::move(dnat));
    t.sets.push_back(std::move(snat));
    t.chains.push_back(
        "  chain fip_prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
        "    iifname " +
        quote(rfp) + " dnat to ip daddr map @fip_dnat\n  }\n");
    t.chains.push_back(
        "  chain fip_postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
        "    oifname " +
        quote(rfp) + " snat to ip saddr map @fip_snat\n  }\n");
  }
}

void dvrMacTable(const HostPlan& plan, Tables& tables, bool with_elements) {
  const DvrMacRewrite& d = plan.dvr_mac;
  if (d.empty())
    return;
  NftTable& t = tableFor(tables, "", "bridge");
  t.sets = {{"tunnel_devs", "ifname", false, {}},
            {"gateway_macs", "ether_addr", false, {}},
            {"gateway_arp", "ifname . ipv4_addr", false, {}},
            {"remote_dvr_macs", "ether_addr", false, {}},
            {"gateway_mac_of_port", "ether_addr : ether_addr", true, {}}};
  if (with_elements) {
    for (const auto& dev : d.tunnel_devs)
      t.sets[0].elements.push_back(nft_element::ifname(dev));
    for (const auto& m : d.gateway_macs)
      t.sets[1].elements.push_back(m.str());
    for (const auto& [dev, ip] : d.gateway_arp)
      t.sets[2].elements.push_back(nft_element::gatewayArp(dev, ip));
    for (const auto& m : d.remote_dvr_macs)
      t.sets[3].elements.push_back(m.str());
    for (const auto& [port, gw] : d.gateway_mac_of_port)
      t.sets[4].elements.push_back(nft_element::macToMac(port, gw));
  }
  // Neutron's br-tun DVR_PROCESS / br-int DVR_TO_SRC_MAC, as bridge rules on the tunnel ports.
  t.chains.push_back(
      "  chain dvr_forward {\n    type filter hook forward priority 0; policy accept;\n"
      // Frames that neither enter nor leave a tunnel port are not the DVR rules' business.
      "    iifname != @tunnel_devs oifname != @tunnel_devs accept\n"
      "    oifname @tunnel_devs ether daddr @gateway_macs drop\n"
      "    oifname . arp daddr ip @gateway_arp drop\n"
      "    oifname @tunnel_devs ether saddr @gateway_macs ether saddr set " +
      d.host_mac.str() +
      "\n"
      "    iifname @tunnel_devs ether saddr @remote_dvr_macs ether saddr set ether daddr map "
      "@gateway_mac_of_port\n"
      "  }\n");
}

// Security groups (plan/port_filter.h has the design): the bridge-family part joins
// `bridge dvr` (anti-spoofing, the output port's mark), the stateful part is `inet dvr`.
void portFilterTables(const PortFilter& f, Tables& tables, Mode mode) {
  const bool with_elements = mode == Mode::Whole;
  if (f.empty())
    return;
  NftTable& bridge = tableFor(tables, "", "bridge");
  size_t first = bridge.sets.size();
  bridge.sets.push_back({filter_sets::kFilteredPorts, "ifname", false, {}});
  bridge.sets.push_back({filter_sets::kPortSources, "ifname . ether_addr . ipv4_addr", false, {}});
  bridge.sets.push_back(
      {filter_sets::kPortSourceNets, "ifname . ether_addr . ipv4_addr", false, {}, "interval"});
  bridge.sets.push_back({filter_sets::kPortMarks, "ifname : mark", true, {}});
  if (with_elements) {
    for (const FilteredPort& p : f.ports) {
      bridge.sets[first].elements.push_back(nft_element::ifname(p.dev));
      for (const AllowedSource& s : p.sources) {
        size_t at = first + (filter_sets::sourceSet(s) == filter_sets::kPortSources ? 1 : 2);
        bridge.sets[at].elements.push_back(nft_element::portSource(p.dev, s));
      }
    }
    for (const auto& [dev, mark] : f.marks)
      bridge.sets[first + 3].elements.push_back(nft_element::portMark(dev, mark));
  }
  // br_netfilter (priority 0) shows the inet family only the bridge as the device: each
  // frame carries the port it came in by as its mark.
  bridge.chains.push_back(
      "  chain port_in {\n    type filter hook prerouting priority -250; policy accept;\n"
      "    meta mark set iifname map @port_marks\n  }\n");
  // A filtered port sends IPv4 and ARP from its own addresses only (Neutron's
  // anti-spoofing): no other source, no IPv6 and so no router advertisements. Single
  // addresses first (every packet a VM sends takes that lookup). An ARP frame's Ethernet
  // and ARP senders are looked up in the same set: one whose two MACs differ and fall in
  // different sets is dropped (a VM's own ARP has one MAC).
  bridge.chains.push_back(
      "  chain port_spoof {\n    type filter hook prerouting priority -200; policy accept;\n"
      "    iifname != @filtered_ports accept\n"
      "    ether type ip iifname . ether saddr . ip saddr @port_sources accept\n"
      "    ether type arp iifname . ether saddr . arp saddr ip @port_sources iifname . arp "
      "saddr ether . arp saddr ip @port_sources accept\n"
      "    ether type ip iifname . ether saddr . ip saddr @port_source_nets accept\n"
      "    ether type arp iifname . ether saddr . arp saddr ip @port_source_nets iifname . arp "
      "saddr ether . arp saddr ip @port_source_nets accept\n"
      "    counter drop\n  }\n");
  // Then, before br_netfilter's forward (priority -1), the port it goes out by: a
  // filtered one, or none. IPv6 is not filtered, so it never reaches a filtered port.
  bridge.chains.push_back(
      "  chain port_out {\n    type filter hook forward priority -300; policy accept;\n"
      "    oifname @filtered_ports ether type ip6 drop\n"
      "    meta mark set 0\n"
      "    oifname @filtered_ports meta mark set oifname map @port_marks\n  }\n");

  NftTable& t = tableFor(tables, "", "inet");
  t.sets.push_back({filter_sets::kZones, "typeof meta mark : ct zone", true, {}});
  t.sets.push_back({filter_sets::kEgressPorts, "mark : verdict", true, {}});
  t.sets.push_back({filter_sets::kIngressPorts, "mark : verdict", true, {}});
  for (const auto& [group, members] : f.remote_groups) {
    NftSet s{filter_names::remoteGroupSet(group), "ipv4_addr", false, {}, "interval", true};
    if (with_elements) {
      for (const Cidr& m : members)
        s.elements.push_back(nft_element::address(m));
    }
    t.sets.push_back(std::move(s));
  }
  if (with_elements) {
    for (const auto& [dev, zone] : f.zones)
      t.sets[0].elements.push_back(nft_element::zone(f.marks.at(dev), zone));
    for (const FilteredPort& p : f.ports) {
      t.sets[1].elements.push_back(nft_element::portVerdict(f, p, false));
      t.sets[2].elements.push_back(nft_element::portVerdict(f, p, true));
    }
  }
  t.chains.push_back(
      "  chain zone {\n    type filter hook prerouting priority raw; policy accept;\n"
      "    ct zone set meta mark map @zones\n  }\n");
  // Most packets belong to a connection already allowed: they are accepted here, before
  // the lookup and the jumps (a port's chain would accept them by its first rules, and
  // these base chains' policy is accept for every other port). Egress only TCP: a
  // port's chain drops DHCP server replies (UDP) before it accepts established ones.
  t.chains.push_back(
      "  chain egress {\n    type filter hook prerouting priority filter; policy accept;\n"
      "    ct state established,related meta l4proto tcp accept\n"
      "    meta mark vmap @egress_ports\n  }\n");
  t.chains.push_back(
      "  chain ingress {\n    type filter hook forward priority filter; policy accept;\n"
      "    ct state established,related accept\n"
      "    meta mark vmap @ingress_ports\n  }\n");
  if (mode == Mode::Structure)
    return;  // the tagged chains are the caller's
  std::set<std::vector<std::string>> combinations;
  for (const FilteredPort& p : f.ports)
    combinations.insert(chainGroups(f, p));
  for (const auto& groups : combinations) {
    t.tagged_chains.push_back(portChain(groups, false));
    t.tagged_chains.push_back(portChain(groups, true));
  }
  for (const FilterGroup& g : f.groups) {
    for (bool ingress : {true, false})
      t.tagged_chains.push_back(groupChain(g, ingress));
  }
}

std::vector<NftTable> render(const HostPlan& plan, Mode mode, const std::set<std::string>* only) {
  Tables tables;
  const bool with_elements = mode == Mode::Whole;
  if (wanted(only, "")) {
    dvrMacTable(plan, tables, with_elements);
    portFilterTables(plan.port_filter, tables, mode);
  }
  floatingIpTables(plan, tables, with_elements, only);
  // floating_nat is sorted by namespace: a lookup, not a set of them all (an incremental
  // pass renders one namespace's tables among a thousand).
  auto hasFloatingIps = [&](const std::string& ns) {
    auto it =
        std::lower_bound(plan.floating_nat.begin(), plan.floating_nat.end(), ns,
                         [](const FloatingIpNat& f, const std::string& n) { return f.ns < n; });
    return it != plan.floating_nat.end() && it->ns == ns;
  };
  for (const auto& s : plan.source_nat) {
    if (!wanted(only, s.ns))
      continue;
    // With floating IPs in the same namespace (a centralized router's qrouter-), SNAT runs
    // after their chain: the first NAT chain to bind a connection wins, and a floating
    // IP's port must leave as its floating IP.
    std::string priority = hasFloatingIps(s.ns) ? "srcnat + 1" : "srcnat";
    tableFor(tables, s.ns, "ip")
        .chains.push_back("  chain snat_postrouting {\n    type nat hook postrouting priority " +
                          priority +
                          "; policy "
                          "accept;\n"
                          "    oifname " +
                          quote(s.out_dev) + " snat to " + s.to_source.str() + "\n  }\n");
  }
  std::vector<NftTable> out;
  for (auto& [key, t] : tables)
    out.push_back(std::move(t));
  return out;
}

}  // namespace

std::vector<NftTable> nftTables(const HostPlan& plan, bool with_elements) {
  return render(plan, with_elements ? Mode::Whole : Mode::NoElements, nullptr);
}

std::vector<NftTable> nftTables(const HostPlan& plan, const std::set<std::string>& namespaces,
                                bool with_elements) {
  return render(plan, with_elements ? Mode::Whole : Mode::NoElements, &namespaces);
}

std::vector<NftTable> nftStructures(const HostPlan& plan, const std::set<std::string>& namespaces) {
  return render(plan, Mode::Structure, &namespaces);
}

}  // namespace dvr::plan
