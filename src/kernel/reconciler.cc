#include "kernel/reconciler.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <unordered_map>

#include "kernel/garp.h"
#include "kernel/object_kinds.h"
#include "kernel/state_before.h"
#include "kernel/system_kernel.h"
#include "plan/nft_tables.h"

namespace dvr::kernel {

bool isOwnedNamespace(const std::string& name) {
  return name.rfind("qrouter-", 0) == 0 || name.rfind("fip-", 0) == 0 ||
         name.rfind("snat-", 0) == 0 || name.rfind("qdhcp-", 0) == 0;
}

std::vector<std::string> allNamespaces(const plan::HostPlan& p) {
  std::vector<std::string> all{""};
  all.insert(all.end(), p.namespaces.begin(), p.namespaces.end());
  return all;
}

Reconciler::Reconciler(std::function<void(const std::string&)> log)
    : owned_kernel_(std::make_unique<SystemKernel>()),
      kernel_(*owned_kernel_),
      log_(std::move(log)) {}

Reconciler::Reconciler(KernelOps& kernel, std::function<void(const std::string&)> log)
    : kernel_(kernel), log_(std::move(log)) {}

Reconciler::~Reconciler() = default;

void Reconciler::change(ReconcileResult& r, std::string line) {
  ++r.changes;
  if (log_)
    log_(line);
  r.log.push_back(std::move(line));
}

ReconcileResult Reconciler::apply(const plan::HostPlan& p, const plan::HostPlan* previous) {
  ReconcileResult r;
  created_ns_.clear();
  removed_ns_.clear();
  created_links_.clear();
  recreated_links_.clear();
  to_raise_.clear();
  device_sysctls_.clear();
  incremental_ = previous != nullptr;
  // Security groups filter in br_netfilter's hooks: without the module a bridge's
  // nf_call_iptables is accepted and does nothing, and every port would be open.
  if (!p.port_filter.empty() && !incremental_) {
    plan::Sysctl probe{"", "net.bridge.bridge-nf-call-iptables", ""};
    if (kernel_.ns("").readSysctls({&probe}).at(0).empty())
      throw KernelError(
          "security groups need br_netfilter, which is not loaded in this kernel (modprobe "
          "br_netfilter); nothing was changed",
          ENOENT);
  }
  std::unique_ptr<StateBefore> before =
      previous ? previousPlanState(*previous, p) : observedState(kernel_, p);
  auto t = std::chrono::steady_clock::now();
  auto step = [&](const char* name, auto&& run) {
    run();
    auto now = std::chrono::steady_clock::now();
    r.step_ms.emplace_back(name, std::chrono::duration<double, std::milli>(now - t).count());
    t = now;
    if (progress_)
      progress_(name, r.step_ms.back().second);
  };
  // The order carries knowledge:
  // - namespaces first: everything else lives in one;
  // - namespace-wide sysctls before links, so new devices inherit them (no IPv6 setup
  //   on devices that never use it);
  // - links (bridges before their ports: a port names its master), then each device's
  //   own sysctls, then the links creation left down are raised;
  // - what hangs on a device (addresses, neighbours, routes, FDB entries) once it exists;
  // - nftables, then policy rules last: a rule is what moves a VM's traffic onto (or off)
  //   its floating IP's path, so it comes once that path's NAT is in place;
  // - then the conntrack flush, right after the rules: flows tracked on the old path
  //   keep their old NAT until flushed, so the two stay as close as they can;
  // - the fast path once the namespace path it falls back to is complete (its entries
  //   are a shortcut over that path); it deletes a removed floating IP's entries first.
  step("namespaces", [&] { namespaces(*before, p, r); });
  step("sysctls", [&] { sysctls(*before, p, r); });
  step("links", [&] { links(*before, p, r); });
  step("device sysctls", [&] { writeDeviceSysctls(p, r); });
  step("links up", [&] { raiseLinks(); });
  before->linksRecreated(recreated_links_);
  step("addresses", [&] {
    lost_address_.clear();
    objects(before->addresses(), p.addresses, r);
    keepDevicesLeftWithoutAddress(before->addresses(), p.addresses);
  });
  step("neighbours", [&] { objects(before->neighbours(), p.neighbours, r); });
  step("routes", [&] {
    objects(before->routes(), p.routes, r);
    routesOfRenumberedDevices(p, r);
  });
  step("fdb", [&] { objects(before->fdb(), p.fdb, r); });
  // Both sides of the nftables change apart from applying it: a full reconcile lists the
  // kernel's tables here, an incremental one diffs the two plans.
  std::map<std::string, StateBefore::NftTables> nft_sides;
  step("nft sides", [&] { nft_sides = before->nftTables(); });
  step("nftables", [&] { nftables(nft_sides, p, r); });
  step("rules", [&] { objects(before->rules(), p.rules, r); });
  step("daemons", [&] { startDaemons(p, r); });
  step("fast path", [&] { fastPath(p, previous, r); });
  step("conntrack", [&] { flushMovedFlows(p, r); });
  step("announce", [&] { announce(p, r); });
  return r;
}

void Reconciler::namespaces(StateBefore& before, const plan::HostPlan& p, ReconcileResult& r) {
  // Daemons the plan dropped go first: one running in a namespace about to go would keep
  // it alive, unnamed.
  stopDaemons(p, r);
  std::set<std::string> want(p.namespaces.begin(), p.namespaces.end());
  auto had = before.namespaces();
  std::set<std::string> have(had.begin(), had.end());
  for (const auto& ns : have) {
    if (want.count(ns))
      continue;
    // Its links go with it, and the other ends of its veths.
    bool deleted = changed([&] { kernel_.deleteNamespace(ns); }, isGone);
    removed_ns_.insert(ns);
    if (deleted)
      change(r, "ip netns del " + ns);
  }
  std::vector<std::string> missing;
  for (const auto& ns : want) {
    if (!have.count(ns))
      missing.push_back(ns);
  }
  try {
    kernel_.createNamespaces(missing);  // with lo up, on helper threads
  } catch (const KernelError& e) {
    if (!isExists(e.err()))
      throw;
    // One was there already (the previous plan was not the kernel's last word): the
    // rest one by one, the ones there kept as they are.
    std::vector<std::string> made;
    for (const auto& ns : missing) {
      if (changed([&] { kernel_.createNamespaces({ns}); }, isExists))
        made.push_back(ns);
    }
    missing = std::move(made);
  }
  for (const auto& ns : missing) {
    created_ns_.insert(ns);
    change(r, "ip netns add " + ns);
  }
  before.namespacesMade(created_ns_);
}

void Reconciler::sysctls(StateBefore& before, const plan::HostPlan& p, ReconcileResult& r) {
  using K = ObjectKind<plan::Sysctl>;
  std::map<std::string, std::vector<const plan::Sysctl*>> wide;
  diff(
      before.sysctls(), p.sysctls, [](const plan::Sysctl&, bool) {},  // never removed
      [&](const plan::Sysctl& s) {
        (K::namespaceWide(s.key) ? wide : device_sysctls_)[s.ns].push_back(&s);
      });
  for (const auto& [ns, values] : wide) {
    kernel_.ns(ns).writeSysctls(values);
    for (const plan::Sysctl* s : values)
      change(r, K::addLine(*s));
  }
}

void Reconciler::links(StateBefore& before, const plan::HostPlan& p, ReconcileResult& r) {
  using K = ObjectKind<plan::Link>;
  using Key = std::pair<std::string, std::string>;
  std::vector<const plan::Link*> removed, added;
  diff(
      before.links(), p.links, [&](const plan::Link& l, bool) { removed.push_back(&l); },
      [&](const plan::Link& l) { added.push_back(&l); });
  // A changed link is in both lists: its old content removed, its new one added.
  std::map<Key, const plan::Link*> old;
  for (const plan::Link* l : removed)
    old[{l->ns, l->name}] = l;
  // The plan's links by name, indexed only when many are looked up (a cold start).
  std::map<Key, const plan::Link*> index;
  if (removed.size() + added.size() > 32) {
    for (const auto& l : p.links)
      index[{l.ns, l.name}] = &l;
  }
  auto planned = [&](const std::string& ns, const std::string& name) -> const plan::Link* {
    if (index.empty())
      return p.findLink(ns, name);
    auto it = index.find({ns, name});
    return it == index.end() ? nullptr : it->second;
  };
  // Stale first: a name may be reused by a link of another kind.
  for (const plan::Link* l : removed) {
    const plan::Link* want = planned(l->ns, l->name);
    bool settable = want && !K::needsRecreate(*l, *want);
    if (gone(l->ns) || settable || l->kind == plan::LinkKind::Adopted)
      continue;
    bool deleted = false;
    if (changed([&] { deleted = kernel_.ns(l->ns).netlink().deleteLink(l->name); }, isGone) &&
        deleted)
      change(r, K::removeLine(l->ns, l->name));
  }
  std::stable_partition(added.begin(), added.end(),
                        [](const plan::Link* l) { return l->kind == plan::LinkKind::Bridge; });
  for (const plan::Link* l : added) {
    if (created_links_.count({l->ns, l->name}))
      continue;  // made with its veth peer
    auto it = old.find({l->ns, l->name});
    bool exists = l->kind == plan::LinkKind::Adopted ||
                  (it != old.end() && !K::needsRecreate(*it->second, *l));
    if (!exists) {
      const plan::Link* peer = nullptr;
      if (l->kind == plan::LinkKind::Veth) {
        peer = planned(l->peer_ns, l->peer);
        if (!peer)
          throw std::invalid_argument("plan: veth " + l->name + " has no peer " + l->peer);
      }
      createLink(*l, peer, r);
      continue;
    }
    if (changed([&] { kernel_.ns(l->ns).netlink().setLink(l->name, *l, true); }, isGone))
      change(r, K::setLine(*l));
    else
      r.waiting.push_back(l->name);  // an adopted device not there (yet)
  }
  // Made again under a name "before" had: what hung on the old device went with it.
  if (old.empty())
    return;
  for (const auto& key : created_links_) {
    const plan::Link* l = planned(key.first, key.second);
    bool peer_was_there = l && l->kind == plan::LinkKind::Veth && old.count({l->peer_ns, l->peer});
    if (old.count(key) || peer_was_there)
      recreated_links_.insert(key);
  }
}

bool Reconciler::alreadyMade(const plan::Link& l, const plan::Link* peer) {
  auto has = [&](const plan::Link& want) {
    for (const auto& o : kernel_.ns(want.ns).netlink().links()) {
      if (o.link.name == want.name)
        return o.link.kind == want.kind && o.link.vni == want.vni &&
               o.link.local_ip == want.local_ip;
    }
    return false;
  };
  return has(l) && (!peer || has(*peer));
}

void Reconciler::createLink(const plan::Link& l, const plan::Link* peer, ReconcileResult& r) {
  try {
    makeLink(l, peer, r);
  } catch (const KernelError& e) {
    // "Exists" is "already done" only if the link of that name is the one planned (a
    // vxlan device is refused with EEXIST too when another device holds its VNI).
    if (!isExists(e.err()) || !alreadyMade(l, peer))
      throw;
    for (const plan::Link* end : {&l, peer}) {
      if (end)
        to_raise_.push_back(end);
    }
  }
}

void Reconciler::makeLink(const plan::Link& l, const plan::Link* peer, ReconcileResult& r) {
  // Up at once, except in the host namespace, where per-device sysctls come first.
  auto up = [](const plan::Link& x) { return !x.ns.empty(); };
  const plan::Link* first = &l;
  const plan::Link* second = nullptr;
  NetlinkOps& nl = kernel_.ns(l.ns).netlink();
  switch (l.kind) {
    case plan::LinkKind::Bridge:
      nl.addBridge(l, up(l));
      break;
    case plan::LinkKind::Vxlan:
      nl.addVxlan(l, up(l));
      break;
    case plan::LinkKind::Veth:
      // The end that can come up at once is made first; the kernel leaves the other down.
      if (!up(l) && up(*peer))
        first = peer;
      second = first == &l ? peer : &l;
      kernel_.addVethPair(*first, up(*first), *second);
      to_raise_.push_back(second);
      created_links_.emplace(second->ns, second->name);
      break;
    case plan::LinkKind::Adopted:
      return;  // the hypervisor's or the operator's
  }
  if (!up(*first))
    to_raise_.push_back(first);
  created_links_.emplace(first->ns, first->name);
  change(r, ObjectKind<plan::Link>::addLine(*first));
}

void Reconciler::raiseLinks() {
  for (const plan::Link* l : to_raise_)
    kernel_.ns(l->ns).netlink().setLink(l->name, *l, true);
  to_raise_.clear();
}

void Reconciler::writeDeviceSysctls(const plan::HostPlan& p, ReconcileResult& r) {
  using K = ObjectKind<plan::Sysctl>;
  if (!recreated_links_.empty()) {
    // A device made again starts from the namespace's defaults, whatever was before.
    std::set<const plan::Sysctl*> queued;
    for (const auto& [ns, values] : device_sysctls_)
      queued.insert(values.begin(), values.end());
    for (const auto& s : p.sysctls) {
      if (!K::namespaceWide(s.key) && !queued.count(&s) &&
          recreated_links_.count({s.ns, K::device(s)}))
        device_sysctls_[s.ns].push_back(&s);
    }
  }
  for (const auto& [ns, values] : device_sysctls_) {
    kernel_.ns(ns).writeSysctls(values);
    for (const plan::Sysctl* s : values)
      change(r, K::addLine(*s));
  }
  device_sysctls_.clear();
}

template <class T>
void Reconciler::objects(const std::vector<T>& before, const std::vector<T>& want,
                         ReconcileResult& r) {
  using K = ObjectKind<T>;
  auto nsOf = [](const T& x) -> std::string {
    if constexpr (requires { x.ns; })
      return x.ns;
    else
      return "";  // FDB entries live in the host namespace
  };
  diff(
      before, want,
      [&](const T& x, bool still_wanted) {
        // One whose identity stays is replaced by its add; one in a namespace that went
        // went with it.
        if (still_wanted || gone(nsOf(x)))
          return;
        if (changed([&] { K::remove(kernel_.ns(nsOf(x)).netlink(), x); }, isGone)) {
          change(r, K::removeLine(x));
          if constexpr (std::is_same_v<T, plan::Address>)
            lost_address_.emplace(x.ns, x.dev);
        }
      },
      [&](const T& x) {
        if (changed([&] { K::add(kernel_.ns(nsOf(x)).netlink(), x); }, K::addedAlready)) {
          change(r, K::addLine(x));
          if constexpr (std::is_same_v<T, plan::Address>)
            appeared_.emplace(x.ns, x.dev, x.cidr.addr);
          if constexpr (std::is_same_v<T, plan::Neighbour>) {
            if (x.proxy)
              appeared_.emplace(x.ns, x.dev, x.ip);
          }
        }
      });
}

void Reconciler::nftables(const std::map<std::string, StateBefore::NftTables>& sides,
                          const plan::HostPlan& p, ReconcileResult& r) {
  for (const auto& [ns, tables] : sides) {
    if (gone(ns))
      continue;
    std::vector<const plan::NftTable*> want;
    for (const auto& t : tables.want)
      want.push_back(&t);
    NftChange c = nftChange(tables.have, want);
    if (c.script.empty())
      continue;
    try {
      kernel_.ns(ns).nft().run(c.script);
    } catch (const std::exception&) {
      if (!incremental_)
        throw;
      // The previous plan was not what the kernel holds (an element already gone, a
      // table made behind our back): read this namespace's tables, and try once more
      // against the plan's whole tables.
      r.nft_relisted.push_back(ns);
      auto whole = plan::nftTables(p, std::set<std::string>{ns});
      want.clear();
      for (const auto& t : whole)
        want.push_back(&t);
      c = nftChange(kernel_.ns(ns).nft().listTables(plan::kNftTableName), want);
      if (c.script.empty())
        continue;
      kernel_.ns(ns).nft().run(c.script);
    }
    for (auto& line : c.lines)
      change(r, inNamespace(ns) + line);
    if (fresh(ns))
      continue;  // a new namespace tracks nothing yet
    // Added to what a run that failed before its flush left: the flows it moved are
    // flushed by this run, which may find the tables already right.
    MovedFlows& m = to_flush_[ns];
    m.removed_fips.insert(m.removed_fips.end(), c.removed_fips.begin(), c.removed_fips.end());
    m.new_fixed_ips.insert(m.new_fixed_ips.end(), c.new_fixed_ips.begin(), c.new_fixed_ips.end());
  }
}

void Reconciler::fastPath(const plan::HostPlan& p, const plan::HostPlan* previous,
                          ReconcileResult& r) {
  FastPathResult f =
      kernel_.fastPath().apply(p.fast_path, previous ? &previous->fast_path : nullptr);
  for (auto& line : f.lines)
    change(r, std::move(line));
  r.waiting.insert(r.waiting.end(), f.waiting.begin(), f.waiting.end());
  r.unresolved = std::move(f.unresolved);
}

void Reconciler::flushMovedFlows(const plan::HostPlan& p, ReconcileResult& r) {
  std::set<std::string> planned(p.namespaces.begin(), p.namespaces.end());
  while (!to_flush_.empty()) {
    auto it = to_flush_.begin();
    const auto& [ns, m] = *it;
    if (planned.count(ns) && (!m.removed_fips.empty() || !m.new_fixed_ips.empty())) {
      // else gone since, and its flows with it
      int n = kernel_.ns(ns).flushConntrack(m.removed_fips, m.new_fixed_ips);
      if (n > 0) {
        std::string what;
        for (Ipv4 ip : m.removed_fips)
          what += " -d " + ip.str();
        for (Ipv4 ip : m.new_fixed_ips)
          what += " -s " + ip.str();
        change(r, inNamespace(ns) + "conntrack -D" + what + " (" + std::to_string(n) + " flows)");
      }
    }
    to_flush_.erase(it);  // only once done: a failure leaves it for the next run
  }
}

void Reconciler::keepDevicesLeftWithoutAddress(const std::vector<plan::Address>& before,
                                               const std::vector<plan::Address>& wanted) {
  // A device that kept one of its addresses kept its routes too: only the last address
  // going takes them (a floating IP's /32 leaving rfp- does not). Only the devices that
  // lost one are looked at: one more floating IP among 10,000 costs no set of them all.
  if (lost_address_.empty())
    return;
  auto lost = [&](const plan::Address& a) { return lost_address_.count({a.ns, a.dev}) != 0; };
  std::set<std::tuple<std::string, std::string, Cidr>> planned;
  for (const auto& a : wanted) {
    if (lost(a))
      planned.insert(a.key());
  }
  for (const auto& a : before) {
    if (lost(a) && planned.count(a.key()))
      lost_address_.erase({a.ns, a.dev});
  }
}

void Reconciler::routesOfRenumberedDevices(const plan::HostPlan& p, ReconcileResult& r) {
  // The kernel drops every route through a device that loses its last address (an
  // external port renumbered: old address out, new one in), which "before" still lists.
  if (lost_address_.empty())
    return;
  using K = ObjectKind<plan::Route>;
  for (const auto& rt : p.routes) {
    if (!lost_address_.count({rt.ns, rt.dev}) || gone(rt.ns))
      continue;
    kernel_.ns(rt.ns).netlink().replaceRoute(rt);
    change(r, K::addLine(rt));
  }
  lost_address_.clear();
}

void Reconciler::stopDaemons(const plan::HostPlan& p, ReconcileResult& r) {
  DaemonOps& d = kernel_.daemons(p.host);
  std::set<std::string> planned;
  for (const auto& x : p.daemons)
    planned.insert(x.name);
  for (const auto& name : d.list()) {
    if (planned.count(name))
      continue;
    d.stop(name);
    change(r, "stop " + name);
  }
}

void Reconciler::startDaemons(const plan::HostPlan& p, ReconcileResult& r) {
  DaemonOps& d = kernel_.daemons(p.host);
  for (const auto& x : p.daemons) {
    std::string did = d.ensure(x);
    if (!did.empty())
      change(r, inNamespace(x.ns) + did + " " + x.name);
  }
}

void Reconciler::announce(const plan::HostPlan& p, ReconcileResult& r) {
  if (appeared_.empty())
    return;
  // The plan announces every external address; only those that appeared this run are
  // sent, found by their address before any name is compared.
  std::set<Ipv4> ips;
  for (const auto& [ns, dev, ip] : appeared_)
    ips.insert(ip);
  for (const auto& a : p.announcements) {
    if (!ips.count(a.ip) || !appeared_.count({a.ns, a.dev, a.ip}))
      continue;
    try {
      kernel_.ns(a.ns).announce(a.dev, a.ip);
      // Logged, not counted: the kernel's state is what the address's own line changed.
      std::string line = inNamespace(a.ns) + "arping -U -c " + std::to_string(kGarpCount) + " -I " +
                         a.dev + " " + a.ip.str();
      if (log_)
        log_(line);
      r.log.push_back(std::move(line));
    } catch (const KernelError& e) {
      // The address is in place and works; only its announcement is late (the upstream
      // router learns it when its entry expires). Not a reason to fail the run.
      if (log_)
        log_(std::string("warning: ") + e.what());
    }
  }
  appeared_.clear();  // the rest are not external, or no longer planned
}

}  // namespace dvr::kernel
