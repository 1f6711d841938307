// Incremental reconcile: apply the difference between the last applied plan and the new
// one, object by object, without reading the kernel. See Reconciler::apply.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <unordered_set>

#include "kernel/netns.h"
#include "kernel/reconciler.h"
#include "kernel/sysctl.h"
#include "plan/nft_tables.h"
#include "plan/render.h"

namespace dvr::kernel {
namespace {

// Field hashing without building strings: a plan diff must cost far less than the
// kernel work it saves (tens of thousands of objects per host).
struct Hash {
  uint64_t h = 0xcbf29ce484222325ULL;
  Hash& operator<<(std::string_view s) { return *this << std::hash<std::string_view>()(s); }
  Hash& operator<<(uint64_t v) {
    h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    return *this;
  }
};

// Identity (what the kernel keys the object by) and content (everything) of each kind.
uint64_t id(const plan::Link& l) {
  return (Hash() << l.ns << l.name).h;
}
uint64_t content(const plan::Link& l) {
  return (Hash() << l.ns << l.name << uint64_t(l.kind) << (l.mac ? l.mac->value() : 1ULL << 60)
                 << uint64_t(l.mtu) << l.master << l.peer << l.peer_ns << l.vni
                 << l.local_ip.value())
      .h;
}
uint64_t id(const plan::Address& a) {
  return (Hash() << a.ns << a.dev << a.cidr.addr.value() << a.cidr.len).h;
}
uint64_t content(const plan::Address& a) {
  return id(a);
}
uint64_t id(const plan::Sysctl& s) {
  return (Hash() << s.ns << s.key).h;
}
uint64_t content(const plan::Sysctl& s) {
  return (Hash() << s.ns << s.key << s.value).h;
}
uint64_t id(const plan::Neighbour& n) {
  return (Hash() << n.ns << n.dev << n.proxy << n.ip.value()).h;
}
uint64_t content(const plan::Neighbour& n) {
  return (Hash() << id(n) << n.mac.value()).h;
}
uint64_t id(const plan::Route& r) {
  return (Hash() << r.ns << r.table << r.dst.addr.value() << r.dst.len).h;
}
uint64_t content(const plan::Route& r) {
  return (Hash() << id(r) << (r.via ? r.via->value() : 1ULL << 40) << r.dev).h;
}
uint64_t id(const plan::Rule& r) {
  return (Hash() << r.ns << r.priority << r.table << r.iif
                 << (r.from ? r.from->addr.value() : 1ULL << 40) << (r.from ? r.from->len : 99))
      .h;
}
uint64_t content(const plan::Rule& r) {
  return id(r);
}
uint64_t id(const plan::FdbEntry& f) {
  return (Hash() << f.dev << f.mac.value() << f.dst.value()).h;
}
uint64_t content(const plan::FdbEntry& f) {
  return id(f);
}
uint64_t id(const plan::FloatingIpNat& f) {
  return (Hash() << f.ns << f.floating.value()).h;
}
uint64_t content(const plan::FloatingIpNat& f) {
  return (Hash() << id(f) << f.fixed.value() << f.rfp_dev).h;
}

// remove(old, still_wanted_under_same_identity) for each object whose content is gone;
// add(new) for each whose content is new.
template <class T, class Remove, class Add>
void diff(const std::vector<T>& before_all, const std::vector<T>& after_all, Remove remove,
          Add add) {
  // Plans keep the cloud's order, so a change is a small window between a long common
  // prefix and suffix: compare those element by element, hash only the window.
  size_t pre = 0, nb = before_all.size(), na = after_all.size();
  while (pre < nb && pre < na && before_all[pre] == after_all[pre])
    ++pre;
  size_t suf = 0;
  while (suf < nb - pre && suf < na - pre && before_all[nb - 1 - suf] == after_all[na - 1 - suf])
    ++suf;
  if (pre + suf == nb && pre + suf == na)
    return;
  std::span<const T> before(before_all.data() + pre, nb - pre - suf),
      after(after_all.data() + pre, na - pre - suf);
  auto hashes = [](std::span<const T> items) {
    std::vector<uint64_t> out;
    out.reserve(items.size());
    for (const auto& i : items)
      out.push_back(content(i));
    return out;
  };
  std::vector<uint64_t> old_h = hashes(before), new_h = hashes(after);
  std::vector<uint64_t> old_sorted = old_h, new_sorted = new_h;
  std::sort(old_sorted.begin(), old_sorted.end());
  std::sort(new_sorted.begin(), new_sorted.end());
  if (old_sorted == new_sorted)
    return;  // reordered only
  std::vector<size_t> removed;
  for (size_t i = 0; i < before.size(); ++i) {
    if (!std::binary_search(new_sorted.begin(), new_sorted.end(), old_h[i]))
      removed.push_back(i);
  }
  if (!removed.empty()) {
    // "Still wanted" looks at the whole new plan: an object may have moved out of the window.
    std::unordered_set<uint64_t> new_ids;
    for (const auto& n : after_all)
      new_ids.insert(id(n));
    for (size_t i : removed)
      remove(before[i], new_ids.count(id(before[i])) != 0);
  }
  for (size_t i = 0; i < after.size(); ++i) {
    if (!std::binary_search(old_sorted.begin(), old_sorted.end(), new_h[i]))
      add(after[i]);
  }
}

// What decides the nftables tables' structure: per namespace, the rfp- of its floating IP
// maps (floating_nat is sorted by namespace), its SNAT rules, and the host's DVR MAC in
// the bridge table. Compared without building strings: this runs on every change.
bool sameTableStructure(const plan::HostPlan& a, const plan::HostPlan& b) {
  auto fipTables = [](const plan::HostPlan& p) {
    std::vector<std::pair<std::string_view, std::string_view>> out;  // (ns, rfp-)
    for (const auto& f : p.floating_nat) {
      if (out.empty() || out.back().first != f.ns)
        out.emplace_back(f.ns, f.rfp_dev);
    }
    return out;
  };
  return a.dvr_mac.empty() == b.dvr_mac.empty() && a.dvr_mac.host_mac == b.dvr_mac.host_mac &&
         a.source_nat == b.source_nat && fipTables(a) == fipTables(b);
}

// Walks two sorted containers together: removed(e) for each element only in `before`,
// then added(e) for each only in `after` (deletions first: nftables refuses to add a
// map key that still holds another value).
template <class C, class Removed, class Added>
void sortedDiff(const C& before, const C& after, Removed removed, Added added) {
  std::vector<const typename C::value_type*> gone, came;
  auto b = before.begin(), a = after.begin();
  while (b != before.end() || a != after.end()) {
    if (a == after.end() || (b != before.end() && *b < *a)) {
      gone.push_back(&*b++);
    } else if (b == before.end() || *a < *b) {
      came.push_back(&*a++);
    } else {
      ++a, ++b;
    }
  }
  for (const auto* e : gone)
    removed(*e);
  for (const auto* e : came)
    added(*e);
}

// Kernel refusals that mean "already done / already gone": the kernel matches anyway.
template <class F>
bool tolerant(F f) {
  try {
    f();
    return true;
  } catch (const std::exception& e) {
    std::string what = e.what();
    for (const char* fine : {"Object not found", "No such", "Object exists", "File exists"}) {
      if (what.find(fine) != std::string::npos)
        return false;
    }
    throw;
  }
}

}  // namespace

ReconcileResult Reconciler::applyDelta(const plan::HostPlan& p, const plan::HostPlan& prev) {
  ReconcileResult r;
  to_raise_.clear();
  std::set<std::string> now_ns(p.namespaces.begin(), p.namespaces.end());
  std::set<std::string> old_ns(prev.namespaces.begin(), prev.namespaces.end());
  auto gone = [&](const std::string& ns) { return !ns.empty() && !now_ns.count(ns); };
  auto fresh = [&](const std::string& ns) { return !ns.empty() && !old_ns.count(ns); };

  // Removals first (objects in a namespace that goes away go with it).
  for (const auto& ns : old_ns) {
    if (now_ns.count(ns))
      continue;
    forget(ns);
    deleteNetns(ns);
    change(r, "ip netns del " + ns);
  }
  for (const auto& ns : now_ns) {
    if (old_ns.count(ns))
      continue;
    createNetns(ns);  // with lo up
    change(r, "ip netns add " + ns);
  }

  // Sysctls: namespace-wide ones before links, so new devices inherit them; per-device
  // ones once their devices exist.
  std::vector<const plan::Sysctl*> device_sysctls;
  diff(
      prev.sysctls, p.sysctls, [](const plan::Sysctl&, bool) {},
      [&](const plan::Sysctl& s) {
        if (isNamespaceWideSysctl(s.key))
          writeSysctlOf(s, r);
        else
          device_sysctls.push_back(&s);
      });

  // Links: one diff, then removals, then creations (bridges first: they are masters).
  std::vector<const plan::Link*> removed_links, added_links;
  diff(
      prev.links, p.links, [&](const plan::Link& l, bool) { removed_links.push_back(&l); },
      [&](const plan::Link& l) { added_links.push_back(&l); });
  for (const plan::Link* l : removed_links) {
    const plan::Link* now = p.findLink(l->ns, l->name);
    // `ip link set` can change MAC, MTU and master; anything else means a new link.
    bool settable = now && now->kind == l->kind && now->peer == l->peer &&
                    now->peer_ns == l->peer_ns && now->vni == l->vni &&
                    now->local_ip == l->local_ip;
    if (gone(l->ns) || settable || l->kind == plan::LinkKind::Adopted)
      continue;
    if (tolerant([&] { handles(l->ns).rtnl().deleteLink(l->name); })) {
      change(r, nsCommandPrefix(l->ns) + "ip link del " + l->name);
    }
  }
  std::stable_partition(added_links.begin(), added_links.end(),
                        [](const plan::Link* l) { return l->kind == plan::LinkKind::Bridge; });
  std::set<std::pair<std::string, std::string>> made;
  for (const plan::Link* l : added_links) {
    const plan::Link* old = prev.findLink(l->ns, l->name);
    bool exists = l->kind == plan::LinkKind::Adopted ||
                  (old && !fresh(l->ns) && old->kind == l->kind && old->peer == l->peer &&
                   old->vni == l->vni && old->local_ip == l->local_ip);
    if (made.count({l->ns, l->name}))
      continue;
    if (!exists) {
      const plan::Link* peer =
          l->kind == plan::LinkKind::Veth ? p.findLink(l->peer_ns, l->peer) : nullptr;
      createLink(*l, peer);
      if (peer)
        made.emplace(peer->ns, peer->name);
      made.emplace(l->ns, l->name);
      change(r, nsCommandPrefix(l->ns) + "ip link add " + plan::linkLine(*l));
      continue;
    }
    if (tolerant([&] { handles(l->ns).rtnl().setLink(l->name, *l, true); })) {
      if (l->kind != plan::LinkKind::Adopted)
        change(r, nsCommandPrefix(l->ns) + "ip link set " + plan::linkLine(*l));
    } else {
      r.waiting.push_back(l->name);
    }
  }

  for (const plan::Sysctl* s : device_sysctls)
    writeSysctlOf(*s, r);
  raiseLinks();

  diff(
      prev.addresses, p.addresses,
      [&](const plan::Address& a, bool) {
        if (!gone(a.ns) && tolerant([&] { handles(a.ns).rtnl().deleteAddress(a); }))
          change(r, nsCommandPrefix(a.ns) + "ip addr del " + plan::addressLine(a));
      },
      [&](const plan::Address& a) {
        if (tolerant([&] { handles(a.ns).rtnl().addAddress(a); }))
          change(r, nsCommandPrefix(a.ns) + "ip addr add " + plan::addressLine(a));
      });
  diff(
      prev.neighbours, p.neighbours,
      [&](const plan::Neighbour& n, bool still) {
        if (!gone(n.ns) && !still && tolerant([&] { handles(n.ns).rtnl().deleteNeighbour(n); }))
          change(r, nsCommandPrefix(n.ns) + "ip neigh del " + plan::neighbourLine(n));
      },
      [&](const plan::Neighbour& n) {
        handles(n.ns).rtnl().replaceNeighbour(n);
        change(r, nsCommandPrefix(n.ns) + "ip neigh replace " + plan::neighbourLine(n));
      });
  diff(
      prev.routes, p.routes,
      [&](const plan::Route& x, bool still) {
        if (!gone(x.ns) && !still && tolerant([&] { handles(x.ns).rtnl().deleteRoute(x); }))
          change(r, nsCommandPrefix(x.ns) + "ip route del " + plan::routeLine(x));
      },
      [&](const plan::Route& x) {
        handles(x.ns).rtnl().replaceRoute(x);
        change(r, nsCommandPrefix(x.ns) + "ip route replace " + plan::routeLine(x));
      });
  diff(
      prev.fdb, p.fdb,
      [&](const plan::FdbEntry& f, bool) {
        if (tolerant([&] { handles("").rtnl().deleteFdb(f); }))
          change(r, "bridge fdb del " + plan::fdbLine(f));
      },
      [&](const plan::FdbEntry& f) {
        if (tolerant([&] { handles("").rtnl().appendFdb(f); }))
          change(r, "bridge fdb append " + plan::fdbLine(f));
      });

  // nftables: element changes in place, derived from the typed plan objects; a table
  // whose structure (chains, set declarations) changed is replaced whole.
  std::map<std::string, plan::NftTable> old_tables, new_tables;
  bool same_structure = sameTableStructure(prev, p);
  if (!same_structure) {
    for (auto& t : plan::nftTables(prev, false))
      old_tables[t.ns + "/" + t.family] = std::move(t);
    for (auto& t : plan::nftTables(p, false))
      new_tables[t.ns + "/" + t.family] = std::move(t);
  }
  // With an unchanged structure (the common case: one floating IP more or less) the new
  // plan has a table wherever the old one had: the bridge table if any DVR rewrite, an ip
  // table in each namespace with floating IPs.
  auto has_table = [&](const std::string& ns, const std::string& family) {
    if (!same_structure)
      return new_tables.count(ns + "/" + family) != 0;
    if (family == "bridge")
      return !p.dvr_mac.empty();
    auto it = std::lower_bound(
        p.floating_nat.begin(), p.floating_nat.end(), ns,
        [](const plan::FloatingIpNat& f, const std::string& n) { return f.ns < n; });
    return it != p.floating_nat.end() && it->ns == ns;
  };
  std::map<std::string, std::string> scripts;  // ns -> one transaction
  std::map<std::string, std::vector<std::string>> lines;
  std::map<std::string, std::vector<Ipv4>> removed_fips, new_fixed;
  std::set<std::string> replaced;  // "ns/family" written whole
  for (const auto& [key, t] : old_tables) {
    if (new_tables.count(key) || gone(t.ns))
      continue;
    scripts[t.ns] += "delete table " + t.family + " " + t.name + "\n";
    lines[t.ns].push_back("nft delete table " + t.family + " " + t.name);
  }
  std::optional<std::vector<plan::NftTable>> full;  // rendered with elements only when needed
  for (const auto& [key, t] : new_tables) {
    auto it = old_tables.find(key);
    if (it != old_tables.end() && !fresh(t.ns) && it->second.structureTag() == t.structureTag())
      continue;
    if (it != old_tables.end() && !fresh(t.ns))
      scripts[t.ns] += "delete table " + t.family + " " + t.name + "\n";
    if (!full)
      full = plan::nftTables(p);
    for (const auto& ft : *full) {
      if (ft.ns == t.ns && ft.family == t.family)
        scripts[t.ns] += ft.text();
    }
    lines[t.ns].push_back("nft -f (table " + t.family + " " + t.name + ")");
    replaced.insert(key);
  }
  auto element = [&](const std::string& ns, const std::string& family, const std::string& set,
                     bool add, const std::string& e) {
    if (replaced.count(ns + "/" + family) || !has_table(ns, family) || gone(ns))
      return;
    std::string cmd = std::string(add ? "add" : "delete") + " element " + family + " " +
                      plan::kNftTableName + " " + set + " { " + e + " }";
    scripts[ns] += cmd + "\n";
    lines[ns].push_back("nft " + cmd);
  };
  diff(
      prev.floating_nat, p.floating_nat,
      [&](const plan::FloatingIpNat& f, bool) {
        element(f.ns, "ip", "fip_dnat", false, f.floating.str());
        element(f.ns, "ip", "fip_snat", false, f.fixed.str());
        if (!gone(f.ns))
          removed_fips[f.ns].push_back(f.floating);
      },
      [&](const plan::FloatingIpNat& f) {
        element(f.ns, "ip", "fip_dnat", true, plan::nft_element::fipDnat(f));
        element(f.ns, "ip", "fip_snat", true, plan::nft_element::fipSnat(f));
        new_fixed[f.ns].push_back(f.fixed);
      });
  auto set_diff = [&](const auto& before, const auto& after, const char* set, auto added_text,
                      auto removed_text) {
    sortedDiff(
        before, after, [&](const auto& e) { element("", "bridge", set, false, removed_text(e)); },
        [&](const auto& e) { element("", "bridge", set, true, added_text(e)); });
  };
  const plan::DvrMacRewrite &was = prev.dvr_mac, &is = p.dvr_mac;
  auto mac = [](Mac m) { return m.str(); };
  auto arp = [](const std::pair<std::string, Ipv4>& a) {
    return plan::nft_element::gatewayArp(a.first, a.second);
  };
  set_diff(was.tunnel_devs, is.tunnel_devs, "tunnel_devs", plan::nft_element::ifname,
           plan::nft_element::ifname);
  set_diff(was.gateway_macs, is.gateway_macs, "gateway_macs", mac, mac);
  set_diff(was.gateway_arp, is.gateway_arp, "gateway_arp", arp, arp);
  set_diff(was.remote_dvr_macs, is.remote_dvr_macs, "remote_dvr_macs", mac, mac);
  set_diff(
      was.gateway_mac_of_port, is.gateway_mac_of_port, "gateway_mac_of_port",
      [](const auto& e) { return plan::nft_element::macToMac(e.first, e.second); },
      [](const auto& e) { return e.first.str(); });
  for (const auto& [ns, script] : scripts) {
    handles(ns).nft().run(script);
    for (auto& l : lines[ns])
      change(r, nsCommandPrefix(ns) + l);
  }
  for (const auto& [ns, ips] : removed_fips) {
    if (!fresh(ns) && !gone(ns))  // a new namespace tracks nothing yet
      noteMovedFlows(ns, ips, {});
  }
  for (const auto& [ns, ips] : new_fixed) {
    if (!fresh(ns) && !gone(ns))
      noteMovedFlows(ns, {}, ips);
  }
  // Policy rules last, just before the conntrack flush: a new rule is what moves a VM's
  // traffic onto (or off) its floating IP's path, and the flows tracked on the old path
  // keep their old NAT until they are flushed, so the two stay as close as they can.
  diff(
      prev.rules, p.rules,
      [&](const plan::Rule& x, bool) {
        if (!gone(x.ns) && tolerant([&] { handles(x.ns).rtnl().deleteRule(x); }))
          change(r, nsCommandPrefix(x.ns) + "ip rule del " + plan::ruleLine(x));
      },
      [&](const plan::Rule& x) {
        if (tolerant([&] { handles(x.ns).rtnl().addRule(x); }))
          change(r, nsCommandPrefix(x.ns) + "ip rule add " + plan::ruleLine(x));
      });
  flushMovedFlows(p, r);
  return r;
}

}  // namespace dvr::kernel
