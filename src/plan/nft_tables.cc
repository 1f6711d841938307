#include "plan/nft_tables.h"

#include <cstdio>

#include "ipam/ids.h"

namespace dvr::plan {

std::string NftTable::structure() const {
  std::string out = "table " + family + " " + name + " {\n";
  for (const auto& s : sets) {
    out += "  " + std::string(s.is_map ? "map " : "set ") + s.name + " {\n    type " + s.type +
           "\n  }\n";
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
    out +=
        "  " + std::string(s.is_map ? "map " : "set ") + s.name + " {\n    type " + s.type + "\n";
    if (!s.elements.empty()) {
      out += "    elements = {\n";
      for (size_t i = 0; i < s.elements.size(); ++i) {
        out += "      " + s.elements[i] + (i + 1 < s.elements.size() ? ",\n" : "\n");
      }
      out += "    }\n";
    }
    out += "  }\n";
  }
  for (const auto& c : chains)
    out += c;
  return out + "}\n";
}

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
}  // namespace nft_element

namespace {

std::string quote(const std::string& s) {
  return "\"" + s + "\"";
}

NftTable& tableFor(std::map<std::string, NftTable>& tables, const std::string& ns,
                   const std::string& family) {
  auto [it, fresh] = tables.try_emplace(ns);
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

void floatingIpTables(const HostPlan& plan, std::map<std::string, NftTable>& tables,
                      bool with_elements, const std::set<std::string>* only) {
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

void dvrMacTable(const HostPlan& plan, std::map<std::string, NftTable>& tables,
                 bool with_elements) {
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

std::vector<NftTable> render(const HostPlan& plan, bool with_elements,
                             const std::set<std::string>* only) {
  std::map<std::string, NftTable> tables;
  if (wanted(only, ""))
    dvrMacTable(plan, tables, with_elements);
  floatingIpTables(plan, tables, with_elements, only);
  for (const auto& s : plan.source_nat) {
    if (!wanted(only, s.ns))
      continue;
    tableFor(tables, s.ns, "ip")
        .chains.push_back(
            "  chain snat_postrouting {\n    type nat hook postrouting priority srcnat; policy "
            "accept;\n"
            "    oifname " +
            quote(s.out_dev) + " snat to " + s.to_source.str() + "\n  }\n");
  }
  std::vector<NftTable> out;
  for (auto& [ns, t] : tables)
    out.push_back(std::move(t));
  return out;
}

}  // namespace

std::vector<NftTable> nftTables(const HostPlan& plan, bool with_elements) {
  return render(plan, with_elements, nullptr);
}

std::vector<NftTable> nftTables(const HostPlan& plan, const std::set<std::string>& namespaces,
                                bool with_elements) {
  return render(plan, with_elements, &namespaces);
}

}  // namespace dvr::plan
