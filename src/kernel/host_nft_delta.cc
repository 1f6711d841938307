#include "kernel/host_nft_delta.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "plan/port_filter.h"

namespace dvr::kernel {
namespace {

namespace el = plan::nft_element;
namespace fs = plan::filter_sets;

// Walks two sorted ranges together: removed(e) for each element only in `before`,
// added(e) for each only in `after`.
template <class C, class Removed, class Added, class Less = std::less<>>
void sortedDiff(const C& before, const C& after, Removed removed, Added added, Less less = {}) {
  auto b = before.begin(), a = after.begin();
  while (b != before.end() || a != after.end()) {
    if (a == after.end() || (b != before.end() && less(*b, *a)))
      removed(*b++);
    else if (b == before.end() || less(*a, *b))
      added(*a++);
    else
      ++a, ++b;
  }
}

// One table's two sides.
class Side {
 public:
  Side(ObservedNftTable& have, plan::NftTable& want) : have_(have), want_(want) {
    for (size_t i = 0; i < want_.sets.size(); ++i)
      index_[want_.sets[i].name] = i;
  }
  void removed(const std::string& set, std::string element) {
    have_.elements[set].insert(std::move(element));
  }
  void added(const std::string& set, std::string element) {
    want_.sets.at(index_.at(set)).elements.push_back(std::move(element));
  }
  // A dynamic set the kernel holds: present on the "have" side even when nothing of it
  // is deleted (else it would be made again, or not deleted when it goes).
  void held(const std::string& set) { have_.elements[set]; }
  void chainGone(const plan::NftChain& old) { have_.chain_tags[old.name] = old.tag(); }
  void chainNew(plan::NftChain now) { want_.tagged_chains.push_back(std::move(now)); }
  void chainChanged(const plan::NftChain& old, plan::NftChain now) {
    if (old.tag() == now.tag())
      return;
    chainGone(old);
    chainNew(std::move(now));
  }

 private:
  ObservedNftTable& have_;
  plan::NftTable& want_;
  std::map<std::string, size_t> index_;
};

bool sameDvrMac(const plan::DvrMacRewrite& a, const plan::DvrMacRewrite& b) {
  return a.host_mac == b.host_mac && a.tunnel_devs == b.tunnel_devs &&
         a.gateway_macs == b.gateway_macs && a.gateway_arp == b.gateway_arp &&
         a.remote_dvr_macs == b.remote_dvr_macs && a.gateway_mac_of_port == b.gateway_mac_of_port;
}

void dvrMacDelta(const plan::DvrMacRewrite& w, const plan::DvrMacRewrite& n, Side& bridge) {
  auto set = [&](const char* name, const auto& old_set, const auto& new_set, auto render) {
    sortedDiff(
        old_set, new_set, [&](const auto& e) { bridge.removed(name, render(e)); },
        [&](const auto& e) { bridge.added(name, render(e)); });
  };
  auto mac = [](Mac m) { return m.str(); };
  set("tunnel_devs", w.tunnel_devs, n.tunnel_devs, el::ifname);
  set("gateway_macs", w.gateway_macs, n.gateway_macs, mac);
  set("gateway_arp", w.gateway_arp, n.gateway_arp,
      [](const std::pair<std::string, Ipv4>& a) { return el::gatewayArp(a.first, a.second); });
  set("remote_dvr_macs", w.remote_dvr_macs, n.remote_dvr_macs, mac);
  set("gateway_mac_of_port", w.gateway_mac_of_port, n.gateway_mac_of_port,
      [](const std::pair<const Mac, Mac>& e) { return el::macToMac(e.first, e.second); });
}

// The combinations of groups a filter's ports are in: one pair of port chains each.
std::set<std::vector<std::string>> combinations(const plan::PortFilter& f) {
  std::set<std::vector<std::string>> out;
  for (const auto& p : f.ports)
    out.insert(plan::chainGroups(f, p));
  return out;
}

struct ByKey {
  bool operator()(const plan::AllowedSource& a, const plan::AllowedSource& b) const {
    return a.key() < b.key();
  }
};

class PortFilterDelta {
 public:
  PortFilterDelta(const plan::PortFilter& a, const plan::PortFilter& b, Side& bridge, Side& inet)
      : a_(a), b_(b), bridge_(bridge), inet_(inet) {}

  void run() {
    ports();
    portChains();
    groups();
    remoteGroups();
    marksAndZones();
  }

 private:
  void ports() {
    std::map<std::string, const plan::FilteredPort*> was, is;
    for (const auto& p : a_.ports)
      was[p.port_id] = &p;
    for (const auto& p : b_.ports)
      is[p.port_id] = &p;
    // A group that appears or goes may change the chains of ports that did not change.
    bool group_set_changed = a_.groups.size() != b_.groups.size();
    for (size_t i = 0; !group_set_changed && i < a_.groups.size(); ++i)
      group_set_changed = a_.groups[i].id != b_.groups[i].id;
    for (const auto& [id, p] : was) {
      if (!is.count(id))
        portGone(*p);
    }
    for (const auto& [id, p] : is) {
      auto it = was.find(id);
      if (it == was.end())
        portNew(*p);
      else if (!(*it->second == *p) || group_set_changed)
        portChanged(*it->second, *p);
    }
  }

  void portGone(const plan::FilteredPort& p) {
    bridge_.removed(fs::kFilteredPorts, el::ifname(p.dev));
    for (const auto& s : p.sources)
      bridge_.removed(fs::sourceSet(s), el::portSource(p.dev, s));
    for (bool ingress : {false, true})
      inet_.removed(ingress ? fs::kIngressPorts : fs::kEgressPorts,
                    el::portVerdict(a_, p, ingress));
  }

  void portNew(const plan::FilteredPort& p) {
    bridge_.added(fs::kFilteredPorts, el::ifname(p.dev));
    for (const auto& s : p.sources)
      bridge_.added(fs::sourceSet(s), el::portSource(p.dev, s));
    for (bool ingress : {false, true})
      inet_.added(ingress ? fs::kIngressPorts : fs::kEgressPorts, el::portVerdict(b_, p, ingress));
  }

  void portChanged(const plan::FilteredPort& o, const plan::FilteredPort& n) {
    if (o.dev != n.dev) {  // a tap is named after its port: never, but say what it means
      portGone(o);
      portNew(n);
      return;
    }
    std::vector<plan::AllowedSource> os = o.sources, ns = n.sources;
    std::sort(os.begin(), os.end(), ByKey());
    std::sort(ns.begin(), ns.end(), ByKey());
    sortedDiff(
        os, ns, [&](const auto& s) { bridge_.removed(fs::sourceSet(s), el::portSource(o.dev, s)); },
        [&](const auto& s) { bridge_.added(fs::sourceSet(s), el::portSource(n.dev, s)); }, ByKey());
    // Its verdicts name its mark and its combination's chains.
    if (o.mark == n.mark && plan::chainGroups(a_, o) == plan::chainGroups(b_, n))
      return;
    for (bool ingress : {false, true}) {
      const char* map = ingress ? fs::kIngressPorts : fs::kEgressPorts;
      inet_.removed(map, el::portVerdict(a_, o, ingress));
      inet_.added(map, el::portVerdict(b_, n, ingress));
    }
  }

  // A combination's chains are named by its groups and hold only their jumps: one that
  // stays is unchanged; the first port of a combination makes its chains, the last takes
  // them.
  void portChains() {
    sortedDiff(
        combinations(a_), combinations(b_),
        [&](const auto& groups) {
          for (bool ingress : {false, true})
            inet_.chainGone(plan::portChain(groups, ingress));
        },
        [&](const auto& groups) {
          for (bool ingress : {false, true})
            inet_.chainNew(plan::portChain(groups, ingress));
        });
  }

  void groups() {
    std::map<std::string, const plan::FilterGroup*> was, is;
    for (const auto& g : a_.groups)
      was[g.id] = &g;
    for (const auto& g : b_.groups)
      is[g.id] = &g;
    for (const auto& [id, g] : was) {
      if (!is.count(id)) {
        for (bool ingress : {false, true})
          inet_.chainGone(plan::groupChain(*g, ingress));
      }
    }
    for (const auto& [id, g] : is) {
      auto it = was.find(id);
      for (bool ingress : {false, true}) {
        if (it == was.end())
          inet_.chainNew(plan::groupChain(*g, ingress));
        else if ((ingress ? it->second->ingress : it->second->egress) !=
                 (ingress ? g->ingress : g->egress))
          inet_.chainChanged(plan::groupChain(*it->second, ingress), plan::groupChain(*g, ingress));
      }
    }
  }

  // One member more is one element more, in its group's set.
  void remoteGroups() {
    static const std::set<Cidr> kNone;
    for (const auto& [id, members] : a_.remote_groups)
      inet_.held(plan::filter_names::remoteGroupSet(id));
    for (const auto& [id, members] : b_.remote_groups) {
      auto it = a_.remote_groups.find(id);
      const std::string set = plan::filter_names::remoteGroupSet(id);
      sortedDiff(
          it == a_.remote_groups.end() ? kNone : it->second, members,
          [&](const Cidr& c) { inet_.removed(set, el::address(c)); },
          [&](const Cidr& c) { inet_.added(set, el::address(c)); });
    }
  }

  void marksAndZones() {
    sortedDiff(
        a_.marks, b_.marks,
        [&](const auto& m) { bridge_.removed(fs::kPortMarks, el::portMark(m.first, m.second)); },
        [&](const auto& m) { bridge_.added(fs::kPortMarks, el::portMark(m.first, m.second)); });
    // A zone's element is keyed by its port's mark.
    auto zones = [](const plan::PortFilter& f) {
      std::vector<std::tuple<std::string, uint32_t, uint16_t>> out;
      out.reserve(f.zones.size());
      for (const auto& [dev, zone] : f.zones)
        out.emplace_back(dev, f.marks.at(dev), zone);
      return out;
    };
    sortedDiff(
        zones(a_), zones(b_),
        [&](const auto& z) { inet_.removed(fs::kZones, el::zone(std::get<1>(z), std::get<2>(z))); },
        [&](const auto& z) { inet_.added(fs::kZones, el::zone(std::get<1>(z), std::get<2>(z))); });
  }

  const plan::PortFilter &a_, &b_;
  Side &bridge_, &inet_;
};

plan::NftTable* family(std::vector<plan::NftTable>& ts, const std::string& f) {
  for (auto& t : ts) {
    if (t.family == f)
      return &t;
  }
  return nullptr;
}

}  // namespace

std::optional<NftDelta> hostNftDelta(const plan::HostPlan& before, const plan::HostPlan& after) {
  const std::set<std::string> host{""};
  std::vector<plan::NftTable> was = plan::nftStructures(before, host);
  NftDelta d;
  d.want = plan::nftStructures(after, host);
  if (was.size() != d.want.size())
    return std::nullopt;
  for (const auto& t : was) {
    const plan::NftTable* now = family(d.want, t.family);
    if (!now || now->structureTag() != t.structureTag())
      return std::nullopt;
    ObservedNftTable& have = d.have[t.family];
    have.family = t.family;
    have.tag = t.structureTag();
  }
  // Both tables are the port filter's, the bridge one also the DVR MACs' (either, both
  // or none exist, alike on both sides).
  plan::NftTable* bridge_want = family(d.want, "bridge");
  if (!bridge_want)
    return d;
  Side bridge(d.have["bridge"], *bridge_want);
  if (!sameDvrMac(before.dvr_mac, after.dvr_mac))
    dvrMacDelta(before.dvr_mac, after.dvr_mac, bridge);
  plan::NftTable* inet_want = family(d.want, "inet");
  if (inet_want && !(before.port_filter == after.port_filter)) {
    Side inet(d.have["inet"], *inet_want);
    PortFilterDelta(before.port_filter, after.port_filter, bridge, inet).run();
  }
  return d;
}

}  // namespace dvr::kernel
