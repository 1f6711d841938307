#include "kernel/reconciler.h"

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "kernel/conntrack.h"
#include "kernel/netns.h"
#include "kernel/sysctl.h"
#include "plan/nft_tables.h"
#include "plan/render.h"

namespace dvr::kernel {

bool isOwnedNamespace(const std::string& name) {
  return name.rfind("qrouter-", 0) == 0 || name.rfind("fip-", 0) == 0 ||
         name.rfind("snat-", 0) == 0;
}

namespace {

bool ownedHostLink(const std::string& name) {
  return name.rfind("brq", 0) == 0 || name.rfind("vxlan-", 0) == 0;
}

}  // namespace

std::string nsCommandPrefix(const std::string& ns) {
  return ns.empty() ? "" : "ip -n " + ns + " ";
}

std::vector<std::string> allNamespaces(const plan::HostPlan& p) {
  std::vector<std::string> all{""};
  all.insert(all.end(), p.namespaces.begin(), p.namespaces.end());
  return all;
}

Reconciler::Reconciler(std::function<void(const std::string&)> log) : log_(std::move(log)) {}
Reconciler::~Reconciler() = default;

Reconciler::Handles& Reconciler::handles(const std::string& ns) {
  auto it = handle_index_.find(ns);
  if (it != handle_index_.end()) {
    handles_.splice(handles_.begin(), handles_, it->second);
    return it->second->second;
  }
  Handles h;
  h.ns = ns;
  h.fd = openNetns(ns);
  handles_.emplace_front(ns, std::move(h));
  handle_index_[ns] = handles_.begin();
  if (handles_.size() > kMaxOpenNamespaces) {
    handle_index_.erase(handles_.back().first);
    handles_.pop_back();
  }
  return handles_.front().second;
}

void Reconciler::forget(const std::string& ns) {
  auto it = handle_index_.find(ns);
  if (it == handle_index_.end())
    return;
  handles_.erase(it->second);
  handle_index_.erase(it);
}

void Reconciler::change(ReconcileResult& r, std::string line) {
  ++r.changes;
  if (log_)
    log_(line);
  r.log.push_back(std::move(line));
}

ReconcileResult Reconciler::apply(const plan::HostPlan& p, const plan::HostPlan* previous) {
  if (previous)
    return applyDelta(p, *previous);
  ReconcileResult r;
  created_.clear();
  to_raise_.clear();
  auto t = std::chrono::steady_clock::now();
  auto step = [&](const char* name, auto&& run) {
    run();
    auto now = std::chrono::steady_clock::now();
    r.step_ms.emplace_back(name, std::chrono::duration<double, std::milli>(now - t).count());
    t = now;
  };
  step("namespaces", [&] { namespaces(p, r); });
  step("sysctls", [&] { sysctls(p, r, true); });
  step("links", [&] { links(p, r); });
  step("device sysctls", [&] { sysctls(p, r, false); });
  step("links up", [&] { raiseLinks(); });
  step("addresses", [&] { addresses(p, r); });
  step("neighbours", [&] { neighbours(p, r); });
  step("routes", [&] { routes(p, r); });
  step("fdb", [&] { fdb(p, r); });
  step("nftables", [&] { nftables(p, r); });
  step("rules", [&] { rules(p, r); });
  step("conntrack", [&] { flushMovedFlows(p, r); });
  return r;
}

void Reconciler::namespaces(const plan::HostPlan& p, ReconcileResult& r) {
  std::set<std::string> want(p.namespaces.begin(), p.namespaces.end());
  std::set<std::string> have;
  for (const auto& ns : listNetns()) {
    if (isOwnedNamespace(ns))
      have.insert(ns);
  }
  for (const auto& ns : have) {
    if (want.count(ns))
      continue;
    forget(ns);
    deleteNetns(ns);  // its links go with it, and so do the host-side ends of its veths
    change(r, "ip netns del " + ns);
  }
  std::vector<std::string> missing;
  for (const auto& ns : want) {
    if (!have.count(ns))
      missing.push_back(ns);
  }
  createNetnses(missing);  // with lo up
  for (const auto& ns : missing) {
    created_.insert(ns);
    change(r, "ip netns add " + ns);
  }
}

void Reconciler::links(const plan::HostPlan& p, ReconcileResult& r) {
  std::map<std::pair<std::string, std::string>, const plan::Link*> planned;
  for (const auto& l : p.links)
    planned[{l.ns, l.name}] = &l;
  auto find = [&](const std::string& ns, const std::string& name) -> const plan::Link* {
    auto it = planned.find({ns, name});
    return it == planned.end() ? nullptr : it->second;
  };
  std::map<std::pair<std::string, std::string>, ObservedLink> have;
  auto observeAll = [&] {
    have.clear();
    for (const auto& ns : allNamespaces(p)) {
      if (fresh(ns))
        continue;  // only lo, which no plan names
      for (auto& l : handles(ns).rtnl().links())
        have[{ns, l.link.name}] = std::move(l);
    }
  };
  observeAll();
  // Stale first: a name may be reused by a link of another kind.
  for (const auto& [key, l] : have) {
    const auto& [ns, name] = key;
    bool owned = ns.empty() ? ownedHostLink(name) : name != "lo";
    if (!owned)
      continue;
    const plan::Link* want = find(ns, name);
    bool wrong_kind = want && want->kind != l.link.kind;
    bool wrong_vxlan = want && want->kind == plan::LinkKind::Vxlan &&
                       (want->vni != l.link.vni || want->local_ip != l.link.local_ip);
    bool wrong_peer = want && want->kind == plan::LinkKind::Veth && !fresh(want->peer_ns) &&
                      !have.count({want->peer_ns, want->peer});
    if (!want || wrong_kind || wrong_vxlan || wrong_peer) {
      if (handles(ns).rtnl().deleteLink(name))
        change(r, nsCommandPrefix(ns) + "ip link del " + name);
    }
  }
  observeAll();
  // Created links carry their attributes. Bridges first: they are masters. Left for
  // raiseLinks: veth peers (the kernel neither brings them up nor sets their master) and
  // links in the host namespace (their per-device sysctls first).
  std::set<std::pair<std::string, std::string>> made;
  std::vector<const plan::Link*> to_make;
  for (const auto& l : p.links)
    to_make.push_back(&l);
  std::stable_partition(to_make.begin(), to_make.end(),
                        [](const plan::Link* l) { return l->kind == plan::LinkKind::Bridge; });
  for (const plan::Link* lp : to_make) {
    const plan::Link& l = *lp;
    if (have.count({l.ns, l.name}) || made.count({l.ns, l.name}))
      continue;
    const plan::Link* peer = nullptr;
    if (l.kind == plan::LinkKind::Veth) {
      peer = find(l.peer_ns, l.peer);
      if (!peer || have.count({l.peer_ns, l.peer}))
        continue;  // a stale peer was deleted above
    }
    if (l.kind == plan::LinkKind::Adopted) {
      r.waiting.push_back(l.name);
      continue;
    }
    createLink(l, peer);
    made.emplace(l.ns, l.name);
    if (peer)
      made.emplace(peer->ns, peer->name);
    change(r, nsCommandPrefix(l.ns) + "ip link add " + plan::linkLine(l));
  }
  // Attributes of links that were there already: MAC, MTU, master, up.
  for (const plan::Link* lp : to_make) {
    const plan::Link& l = *lp;
    auto it = have.find({l.ns, l.name});
    if (made.count({l.ns, l.name}) || it == have.end())
      continue;
    const ObservedLink& o = it->second;
    bool same = o.up && (!l.mac || o.link.mac == l.mac) && (!l.mtu || o.link.mtu == l.mtu) &&
                o.link.master == l.master;
    if (same)
      continue;
    handles(l.ns).rtnl().setLink(l.name, l, true);
    change(r, nsCommandPrefix(l.ns) + "ip link set " + l.name +
                  (l.mac ? " address " + l.mac->str() : "") +
                  (l.mtu ? " mtu " + std::to_string(l.mtu) : "") +
                  (l.master.empty() ? "" : " master " + l.master) + " up");
  }
}

void Reconciler::createLink(const plan::Link& l, const plan::Link* peer) {
  // Up at once, except in the host namespace, where per-device sysctls come first.
  auto up = [](const plan::Link& x) { return !x.ns.empty(); };
  const plan::Link* first = &l;
  switch (l.kind) {
    case plan::LinkKind::Bridge:
      handles(l.ns).rtnl().addBridge(l, up(l));
      break;
    case plan::LinkKind::Vxlan:
      handles(l.ns).rtnl().addVxlan(l, up(l));
      break;
    case plan::LinkKind::Veth: {
      // The end that can come up at once is made first; the kernel leaves the other down.
      if (!up(l) && up(*peer))
        first = peer;
      const plan::Link* second = first == &l ? peer : &l;
      handles(first->ns).rtnl().addVethPair(*first, up(*first), *second,
                                            handles(second->ns).fd.get());
      to_raise_.push_back(second);
      break;
    }
    case plan::LinkKind::Adopted:
      return;  // the hypervisor's or the operator's
  }
  if (!up(*first))
    to_raise_.push_back(first);
}

void Reconciler::raiseLinks() {
  for (const plan::Link* l : to_raise_)
    handles(l->ns).rtnl().setLink(l->name, *l, true);
  to_raise_.clear();
}

namespace {

// A plan's objects of one kind, grouped by namespace in one pass.
template <class T>
std::map<std::string, std::vector<const T*>> byNamespace(const std::vector<T>& items) {
  std::map<std::string, std::vector<const T*>> out;
  for (const auto& i : items)
    out[i.ns].push_back(&i);
  return out;
}

}  // namespace

void Reconciler::addresses(const plan::HostPlan& p, ReconcileResult& r) {
  auto planned = byNamespace(p.addresses);
  for (const auto& ns : p.namespaces) {
    using Key = std::tuple<std::string, uint32_t, uint8_t>;
    std::set<Key> want, have;
    for (const auto* a : planned[ns])
      want.emplace(a->dev, a->cidr.addr.value(), a->cidr.len);
    if (!fresh(ns)) {
      for (const auto& a : handles(ns).rtnl().addresses()) {
        if (a.dev == "lo")
          continue;
        have.emplace(a.dev, a.cidr.addr.value(), a.cidr.len);
        if (!want.count({a.dev, a.cidr.addr.value(), a.cidr.len})) {
          handles(ns).rtnl().deleteAddress(a);
          change(r, nsCommandPrefix(ns) + "ip addr del " + plan::addressLine(a));
        }
      }
    }
    for (const auto* a : planned[ns]) {
      if (have.count({a->dev, a->cidr.addr.value(), a->cidr.len}))
        continue;
      handles(ns).rtnl().addAddress(*a);
      change(r, nsCommandPrefix(ns) + "ip addr add " + plan::addressLine(*a));
    }
  }
}

bool isNamespaceWideSysctl(const std::string& key) {
  bool per_device =
      key.find(".conf.") != std::string::npos || key.find(".neigh.") != std::string::npos;
  return !per_device || key.find(".all.") != std::string::npos ||
         key.find(".default.") != std::string::npos;
}

void Reconciler::writeSysctlOf(const plan::Sysctl& s, ReconcileResult& r) {
  writeSysctl(handles(s.ns).fd.get(), s.key, s.value);
  change(r, nsCommandPrefix(s.ns) + "sysctl -w " + s.key + "=" + s.value);
}

void Reconciler::sysctls(const plan::HostPlan& p, ReconcileResult& r, bool namespace_wide) {
  std::map<std::string, std::vector<const plan::Sysctl*>> by_ns;
  for (const auto& s : p.sysctls) {
    if (isNamespaceWideSysctl(s.key) == namespace_wide)
      by_ns[s.ns].push_back(&s);
  }
  for (const auto& [ns, want] : by_ns) {
    for (const plan::Sysctl* s : syncSysctls(handles(ns).fd.get(), want, !fresh(ns)))
      change(r, nsCommandPrefix(ns) + "sysctl -w " + s->key + "=" + s->value);
  }
}

void Reconciler::neighbours(const plan::HostPlan& p, ReconcileResult& r) {
  auto planned = byNamespace(p.neighbours);
  for (const auto& ns : p.namespaces) {
    using Key = std::tuple<std::string, bool, uint32_t>;
    std::map<Key, Mac> have;
    std::set<Key> want;
    for (const auto* n : planned[ns])
      want.emplace(n->dev, n->proxy, n->ip.value());
    if (!fresh(ns)) {
      Rtnl& rt = handles(ns).rtnl();
      for (const auto& n : rt.neighbours()) {
        Key key{n.dev, n.proxy, n.ip.value()};
        if (want.count(key)) {
          have[key] = n.mac;
          continue;
        }
        rt.deleteNeighbour(n);
        change(r, nsCommandPrefix(ns) + "ip neigh del " + plan::neighbourLine(n));
      }
    }
    for (const auto* n : planned[ns]) {
      auto it = have.find({n->dev, n->proxy, n->ip.value()});
      if (it != have.end() && (n->proxy || it->second == n->mac))
        continue;
      handles(ns).rtnl().replaceNeighbour(*n);
      change(r, nsCommandPrefix(ns) + "ip neigh replace " + plan::neighbourLine(*n));
    }
  }
}

void Reconciler::routes(const plan::HostPlan& p, ReconcileResult& r) {
  auto planned_routes = byNamespace(p.routes);
  for (const auto& ns : p.namespaces) {
    Rtnl& rt = handles(ns).rtnl();
    using RouteKey = std::tuple<uint32_t, uint32_t, uint8_t>;
    auto routeKey = [](const plan::Route& x) {
      return RouteKey(x.table, x.dst.addr.value(), x.dst.len);
    };
    std::map<RouteKey, plan::Route> have;
    if (!fresh(ns)) {
      for (auto& x : rt.routes())
        have[routeKey(x)] = x;
    }
    std::set<RouteKey> want;
    for (const auto* x : planned_routes[ns]) {
      want.insert(routeKey(*x));
      auto it = have.find(routeKey(*x));
      if (it != have.end() && it->second.via == x->via && it->second.dev == x->dev)
        continue;
      rt.replaceRoute(*x);
      change(r, nsCommandPrefix(ns) + "ip route replace " + plan::routeLine(*x));
    }
    for (const auto& [key, x] : have) {
      if (want.count(key))
        continue;
      rt.deleteRoute(x);
      change(r, nsCommandPrefix(ns) + "ip route del " + plan::routeLine(x));
    }
  }
}

void Reconciler::rules(const plan::HostPlan& p, ReconcileResult& r) {
  auto planned_rules = byNamespace(p.rules);
  auto ruleKey = [](const plan::Rule& x) {
    return std::make_tuple(x.priority, x.table, x.iif, x.from ? x.from->addr.value() : 0u,
                           x.from ? int(x.from->len) : -1);
  };
  for (const auto& ns : p.namespaces) {
    Rtnl& rt = handles(ns).rtnl();
    std::set<decltype(ruleKey(plan::Rule{}))> wanted_rules, present_rules;
    for (const auto* x : planned_rules[ns])
      wanted_rules.insert(ruleKey(*x));
    if (!fresh(ns)) {
      for (const auto& x : rt.rules()) {
        present_rules.insert(ruleKey(x));
        if (wanted_rules.count(ruleKey(x)))
          continue;
        rt.deleteRule(x);
        change(r, nsCommandPrefix(ns) + "ip rule del " + plan::ruleLine(x));
      }
    }
    for (const auto* x : planned_rules[ns]) {
      if (present_rules.count(ruleKey(*x)))
        continue;
      rt.addRule(*x);
      change(r, nsCommandPrefix(ns) + "ip rule add " + plan::ruleLine(*x));
    }
  }
}

void Reconciler::fdb(const plan::HostPlan& p, ReconcileResult& r) {
  Rtnl& rt = handles("").rtnl();
  auto key = [](const plan::FdbEntry& f) {
    return std::make_tuple(f.dev, f.mac.value(), f.dst.value());
  };
  std::set<std::tuple<std::string, uint64_t, uint32_t>> want, have;
  for (const auto& f : p.fdb)
    want.insert(key(f));
  for (const auto& f : rt.fdb()) {
    if (f.dev.rfind("vxlan-", 0) != 0)
      continue;
    have.insert(key(f));
    if (!want.count(key(f))) {
      rt.deleteFdb(f);
      change(r, "bridge fdb del " + plan::fdbLine(f));
    }
  }
  for (const auto& f : p.fdb) {
    if (have.count(key(f)))
      continue;
    rt.appendFdb(f);
    change(r, "bridge fdb append " + plan::fdbLine(f));
  }
}

void Reconciler::nftables(const plan::HostPlan& p, ReconcileResult& r) {
  std::map<std::string, std::vector<plan::NftTable>> want;
  for (auto& t : plan::nftTables(p))
    want[t.ns].push_back(std::move(t));
  for (const auto& ns : allNamespaces(p)) {
    Handles& h = handles(ns);
    auto have = fresh(ns) ? std::map<std::string, ObservedNftTable>{}
                          : h.nft().listTables(plan::kNftTableName);
    std::string script;
    std::vector<std::string> lines;
    std::vector<Ipv4> dropped_fips, new_fixed;
    for (const auto& t : want[ns]) {
      auto it = have.find(t.family);
      if (it == have.end() || it->second.tag != t.structureTag()) {
        for (const auto& f : p.floating_nat) {
          bool had = it != have.end() &&
                     it->second.elements["fip_snat"].count(plan::nft_element::fipSnat(f));
          if (f.ns == ns && !had)
            new_fixed.push_back(f.fixed);
        }
        if (it != have.end())
          script += "delete table " + t.family + " " + t.name + "\n";
        script += t.text();
        lines.push_back("nft -f (table " + t.family + " " + t.name + ", " +
                        std::to_string(t.sets.size()) + " sets)");
        if (it != have.end()) {
          for (const auto& e : it->second.elements["fip_dnat"])
            dropped_fips.push_back(*Ipv4::parse(e.substr(0, e.find(' '))));
        }
        continue;
      }
      for (const auto& set : t.sets) {
        const auto& actual = it->second.elements[set.name];
        std::set<std::string> desired(set.elements.begin(), set.elements.end());
        for (const auto& e : desired) {
          if (actual.count(e))
            continue;
          script += "add element " + t.family + " " + t.name + " " + set.name + " { " + e + " }\n";
          if (set.name == "fip_snat")
            new_fixed.push_back(*Ipv4::parse(e.substr(0, e.find(' '))));
          lines.push_back("nft add element " + t.family + " " + t.name + " " + set.name + " { " +
                          e + " }");
        }
        for (const auto& e : actual) {
          if (desired.count(e))
            continue;
          std::string key = set.is_map ? e.substr(0, e.find(" : ")) : e;
          script +=
              "delete element " + t.family + " " + t.name + " " + set.name + " { " + key + " }\n";
          lines.push_back("nft delete element " + t.family + " " + t.name + " " + set.name + " { " +
                          key + " }");
          if (set.name == "fip_dnat")
            dropped_fips.push_back(*Ipv4::parse(key));
        }
      }
    }
    for (const auto& [family, t] : have) {
      bool wanted = std::any_of(want[ns].begin(), want[ns].end(),
                                [&](const plan::NftTable& w) { return w.family == family; });
      if (wanted)
        continue;
      script += "delete table " + family + " " + plan::kNftTableName + "\n";
      lines.push_back("nft delete table " + family + " " + plan::kNftTableName);
      for (const auto& e :
           t.elements.count("fip_dnat") ? t.elements.at("fip_dnat") : std::set<std::string>{}) {
        dropped_fips.push_back(*Ipv4::parse(e.substr(0, e.find(' '))));
      }
    }
    if (script.empty())
      continue;
    h.nft().run(script);
    for (auto& l : lines)
      change(r, nsCommandPrefix(ns) + l);
    std::vector<Ipv4> gone;
    for (Ipv4 fip : dropped_fips) {
      bool still = std::any_of(
          p.floating_nat.begin(), p.floating_nat.end(),
          [&](const plan::FloatingIpNat& f) { return f.ns == ns && f.floating == fip; });
      if (!still)
        gone.push_back(fip);
    }
    if (!fresh(ns))  // a new namespace tracks nothing yet
      noteMovedFlows(ns, gone, new_fixed);
  }
}

void Reconciler::noteMovedFlows(const std::string& ns, const std::vector<Ipv4>& removed_fips,
                                const std::vector<Ipv4>& new_fixed_ips) {
  // Added to what a run that failed before its flush left: the flows it moved are
  // flushed by the next run, which finds the tables already right.
  MovedFlows& m = to_flush_[ns];
  m.removed_fips.insert(m.removed_fips.end(), removed_fips.begin(), removed_fips.end());
  m.new_fixed_ips.insert(m.new_fixed_ips.end(), new_fixed_ips.begin(), new_fixed_ips.end());
}

void Reconciler::flushMovedFlows(const plan::HostPlan& p, ReconcileResult& r) {
  std::set<std::string> planned(p.namespaces.begin(), p.namespaces.end());
  while (!to_flush_.empty()) {
    auto it = to_flush_.begin();
    if (planned.count(it->first))  // else gone since, and its flows with it
      flushConntrackOf(it->first, it->second.removed_fips, it->second.new_fixed_ips, r);
    to_flush_.erase(it);  // only once done: a failure leaves it for the next run
  }
}

void Reconciler::flushConntrackOf(const std::string& ns, const std::vector<Ipv4>& removed_fips,
                                  const std::vector<Ipv4>& new_fixed_ips, ReconcileResult& r) {
  if (removed_fips.empty() && new_fixed_ips.empty())
    return;
  int n = flushConntrack(handles(ns).fd.get(), removed_fips, new_fixed_ips);
  if (n == 0)
    return;
  std::string what;
  for (Ipv4 ip : removed_fips)
    what += " -d " + ip.str();
  for (Ipv4 ip : new_fixed_ips)
    what += " -s " + ip.str();
  change(r, nsCommandPrefix(ns) + "conntrack -D" + what + " (" + std::to_string(n) + " flows)");
}

}  // namespace dvr::kernel
