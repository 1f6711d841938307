#include "kernel/state_before.h"

#include <optional>

#include "kernel/host_nft_delta.h"
#include "kernel/object_kinds.h"
#include "kernel/reconciler.h"
#include "plan/nft_tables.h"

namespace dvr::kernel {
namespace {

using LinkKey = std::pair<std::string, std::string>;  // (ns, name)

bool ownedHostLink(const std::string& name) {
  return name.rfind("brq", 0) == 0 || name.rfind("vxlan-", 0) == 0;
}

// Objects of namespace `ns` in a plan, by pointer.
template <class T>
std::map<std::string, std::vector<const T*>> byNamespace(const std::vector<T>& items) {
  std::map<std::string, std::vector<const T*>> out;
  for (const auto& i : items)
    out[i.ns].push_back(&i);
  return out;
}

class ObservedState : public StateBefore {
 public:
  ObservedState(KernelOps& kernel, const plan::HostPlan& want) : k_(kernel), p_(want) {}

  std::vector<std::string> namespaces() override {
    std::vector<std::string> out;
    for (auto& ns : k_.listNamespaces()) {
      if (isOwnedNamespace(ns))
        out.push_back(std::move(ns));
    }
    return out;
  }

  // The planned keys' values; a key of a device not there reads "" without asking
  // /proc (on a cold start that is every device's key: the links come next).
  const std::vector<plan::Sysctl>& sysctls() override {
    const auto& present = devices();
    for (const auto& [ns, keys] : byNamespace(p_.sysctls)) {
      if (fresh(ns))
        continue;
      std::vector<const plan::Sysctl*> there;
      for (const plan::Sysctl* s : keys) {
        std::string dev = ObjectKind<plan::Sysctl>::device(*s);
        if (dev.empty() || present.count({ns, dev}))
          there.push_back(s);
        else
          sysctls_.push_back({ns, s->key, ""});
      }
      auto values = k_.ns(ns).readSysctls(there);
      for (size_t i = 0; i < there.size(); ++i)
        sysctls_.push_back({ns, there[i]->key, values[i]});
    }
    return sysctls_;
  }

  const std::vector<plan::Link>& links() override {
    std::map<LinkKey, const plan::Link*> planned;
    for (const auto& l : p_.links)
      planned[{l.ns, l.name}] = &l;
    const auto& seen = observedLinks();
    for (const auto& [key, o] : seen) {
      auto it = planned.find(key);
      const plan::Link* want = it == planned.end() ? nullptr : it->second;
      bool owned = key.first.empty() ? ownedHostLink(key.second) || want : key.second != "lo";
      if (!owned)
        continue;  // foreign: never compared, never touched
      plan::Link have = o.link;
      have.up = o.up;
      if (want) {
        if (!want->mac)
          have.mac.reset();
        if (!want->mtu)
          have.mtu = 0;
        if (want->kind == plan::LinkKind::Adopted)
          have.kind = plan::LinkKind::Adopted;  // any kind of device will do
        if (want->kind == plan::LinkKind::Veth && have.kind == plan::LinkKind::Veth &&
            seen.count({want->peer_ns, want->peer})) {
          have.peer = want->peer;  // the kernel names a peer by index; its planned one is there
          have.peer_ns = want->peer_ns;
        }
      }
      links_.push_back(std::move(have));
    }
    return links_;
  }

  const std::vector<plan::Address>& addresses() override {
    // An HA router's virtual addresses are keepalived's on the active host: not compared.
    std::set<std::tuple<std::string, std::string, Cidr>> vips;
    for (const auto& v : p_.vrrp) {
      for (const auto& a : v.vips)
        vips.insert(a.key());
    }
    return perNamespace(
        addresses_, [](NetlinkOps& nl) { return nl.addresses(); },
        [&](const plan::Address& a) { return a.dev != "lo" && !vips.count(a.key()); });
  }
  const std::vector<plan::Neighbour>& neighbours() override {
    return perNamespace(neighbours_, [](NetlinkOps& nl) { return nl.neighbours(); });
  }
  const std::vector<plan::Route>& routes() override {
    return perNamespace(routes_, [](NetlinkOps& nl) { return nl.routes(); });
  }
  const std::vector<plan::Rule>& rules() override {
    return perNamespace(rules_, [](NetlinkOps& nl) { return nl.rules(); });
  }
  const std::vector<plan::FdbEntry>& fdb() override {
    for (auto& f : k_.ns("").netlink().fdb()) {
      if (f.dev.rfind("vxlan-", 0) == 0)
        fdb_.push_back(std::move(f));
    }
    return fdb_;
  }

  std::map<std::string, NftTables> nftTables() override {
    std::map<std::string, NftTables> out;
    for (const auto& ns : allNamespaces(p_)) {
      if (!fresh(ns))
        out[ns].have = k_.ns(ns).nft().listTables(plan::kNftTableName);
    }
    for (auto& t : plan::nftTables(p_))
      out[t.ns].want.push_back(std::move(t));
    return out;
  }

 private:
  // Every link of the host's namespaces, read once (the sysctls' step needs to know which
  // devices exist, the links' step compares them).
  const std::map<LinkKey, ObservedLink>& observedLinks() {
    if (!seen_) {
      seen_.emplace();
      for (const auto& ns : allNamespaces(p_)) {
        if (fresh(ns))
          continue;  // only lo, which no plan names
        for (auto& l : k_.ns(ns).netlink().links())
          (*seen_)[{ns, l.link.name}] = std::move(l);
      }
    }
    return *seen_;
  }
  std::set<LinkKey> devices() {
    std::set<LinkKey> out;
    for (const auto& [key, l] : observedLinks())
      out.insert(key);
    return out;
  }

  // Addresses, neighbours, routes and rules are dvr's in its own namespaces only.
  template <class T, class Read, class Keep>
  const std::vector<T>& perNamespace(std::vector<T>& out, Read read, Keep keep) {
    for (const auto& ns : p_.namespaces) {
      if (fresh(ns))
        continue;
      for (auto& x : read(k_.ns(ns).netlink())) {
        if (keep(x))
          out.push_back(std::move(x));
      }
    }
    return out;
  }
  template <class T, class Read>
  const std::vector<T>& perNamespace(std::vector<T>& out, Read read) {
    return perNamespace(out, read, [](const T&) { return true; });
  }

  KernelOps& k_;
  const plan::HostPlan& p_;
  std::optional<std::map<LinkKey, ObservedLink>> seen_;
  std::vector<plan::Sysctl> sysctls_;
  std::vector<plan::Link> links_;
  std::vector<plan::Address> addresses_;
  std::vector<plan::Neighbour> neighbours_;
  std::vector<plan::Route> routes_;
  std::vector<plan::Rule> rules_;
  std::vector<plan::FdbEntry> fdb_;
};

class PreviousPlanState : public StateBefore {
 public:
  PreviousPlanState(const plan::HostPlan& previous, const plan::HostPlan& want)
      : prev_(previous), p_(want) {}

  std::vector<std::string> namespaces() override { return prev_.namespaces; }
  const std::vector<plan::Sysctl>& sysctls() override { return prev_.sysctls; }
  const std::vector<plan::Link>& links() override { return prev_.links; }
  const std::vector<plan::Address>& addresses() override {
    return withoutMade(prev_.addresses, addresses_,
                       [](const plan::Address& a) { return LinkKey(a.ns, a.dev); });
  }
  const std::vector<plan::Neighbour>& neighbours() override {
    return withoutMade(prev_.neighbours, neighbours_,
                       [](const plan::Neighbour& n) { return LinkKey(n.ns, n.dev); });
  }
  const std::vector<plan::Route>& routes() override {
    return withoutMade(prev_.routes, routes_,
                       [](const plan::Route& r) { return LinkKey(r.ns, r.dev); });
  }
  const std::vector<plan::FdbEntry>& fdb() override {
    return withoutMade(prev_.fdb, fdb_, [](const plan::FdbEntry& f) { return LinkKey("", f.dev); });
  }
  const std::vector<plan::Rule>& rules() override {
    return withoutMade(prev_.rules, rules_,
                       [](const plan::Rule& r) { return LinkKey(r.ns, r.iif); });
  }

  // Only where the typed nftables intent changed: one more floating IP renders one
  // qrouter- table; in the host namespace, one more port or rule only the elements and
  // tagged chains that changed (kernel/host_nft_delta.h), from the typed plans.
  std::map<std::string, NftTables> nftTables() override {
    std::set<std::string> touched;
    auto note = [&](const auto& x, auto&&...) { touched.insert(x.ns); };
    diff(prev_.floating_nat, p_.floating_nat, note, note);
    diff(prev_.source_nat, p_.source_nat, note, note);
    std::map<std::string, NftTables> out;
    if (auto d = hostNftDelta(prev_, p_))
      out[""] = {std::move(d->have), std::move(d->want)};
    else
      touched.insert("");  // a table's structure changed: render it whole
    for (auto& t : plan::nftTables(prev_, touched)) {
      plan::NftTable* table = &t;
      out[t.ns].have.merge(asListed({table}));
    }
    for (auto& t : plan::nftTables(p_, touched))
      out[t.ns].want.push_back(std::move(t));
    for (const auto& ns : touched)
      out[ns];
    return out;
  }

 private:
  // A link made this run is new: what the previous plan had on a link of its name is gone.
  template <class T, class Key>
  const std::vector<T>& withoutMade(const std::vector<T>& all, std::vector<T>& kept, Key key) {
    if (!made_ || made_->empty())
      return all;
    for (const auto& x : all) {
      if (!made_->count(key(x)))
        kept.push_back(x);
    }
    return kept;
  }

  const plan::HostPlan& prev_;
  const plan::HostPlan& p_;
  std::vector<plan::Address> addresses_;
  std::vector<plan::Neighbour> neighbours_;
  std::vector<plan::Route> routes_;
  std::vector<plan::FdbEntry> fdb_;
  std::vector<plan::Rule> rules_;
};

}  // namespace

std::unique_ptr<StateBefore> observedState(KernelOps& kernel, const plan::HostPlan& want) {
  return std::make_unique<ObservedState>(kernel, want);
}

std::unique_ptr<StateBefore> previousPlanState(const plan::HostPlan& previous,
                                               const plan::HostPlan& want) {
  return std::make_unique<PreviousPlanState>(previous, want);
}

}  // namespace dvr::kernel
