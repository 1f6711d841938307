#include "fake_kernel.h"

#include <algorithm>
#include <sstream>

#include "kernel/nft_listing.h"
#include "kernel/object_kinds.h"
#include "kernel/unique_fd.h"
#include "plan/nft_tables.h"
#include "plan/render.h"

namespace dvr::test {

using kernel::KernelError;

namespace {

struct FakeLink {
  plan::Link link;  // peer/peer_ns set for veths; kind Adopted for devices dvr did not make
  bool up = false;
  int ifindex = 0;
};

std::string linkText(const std::string& ns, const plan::Link& l, bool up) {
  std::ostringstream o;
  o << "link " << ns << "|" << l.name;
  if (l.kind == plan::LinkKind::Adopted) {
    o << " device master=" << l.master << " up=" << up;
    return o.str();
  }
  o << " " << plan::linkKindName(l.kind) << " mac=" << (l.mac ? l.mac->str() : "-")
    << " mtu=" << l.mtu << " master=" << l.master;
  if (l.kind == plan::LinkKind::Veth)
    o << " peer=" << l.peer_ns << "|" << l.peer;
  if (l.kind == plan::LinkKind::Vxlan)
    o << " vni=" << l.vni << " local=" << l.local_ip.str();
  if (l.kind == plan::LinkKind::Bridge && l.nf_call_iptables)
    o << " nf_call_iptables=1";
  o << " up=" << up;
  return o.str();
}

std::string tableText(const std::string& ns, const kernel::ObservedNftTable& t,
                      std::vector<std::string>& out) {
  out.push_back("nft " + ns + "|" + t.family + " " + t.tag);
  for (const auto& [set, elements] : t.elements) {
    out.push_back("nft " + ns + "|" + t.family + " set " + set);
    for (const auto& e : elements)
      out.push_back("nft " + ns + "|" + t.family + " " + set + " " + e);
  }
  for (const auto& [chain, tag] : t.chain_tags) {
    if (!tag.empty()) {  // base chains are the table's structure
      auto n = t.chain_rules.find(chain);
      std::string rules;
      for (const auto& c : n == t.chain_rules.end() ? std::vector<std::string>{} : n->second)
        rules += (rules.empty() ? "" : ",") + c;
      out.push_back("nft " + ns + "|" + t.family + " chain " + chain + " " + tag +
                    " rules=" + rules);
    }
  }
  return "";
}

std::string errorWhere(const std::string& ns) {
  return " (" + plan::nsLabel(ns) + ")";
}

}  // namespace

struct FakeKernel::State {
  struct Ns {
    std::map<std::string, FakeLink> links;
    std::map<std::tuple<std::string, uint32_t, uint8_t>, plan::Address> addresses;
    std::map<std::tuple<uint32_t, uint32_t, uint8_t>, plan::Route> routes;
    std::map<std::string, plan::Rule> rules;  // by its ip rule line
    std::map<std::tuple<std::string, bool, uint32_t>, plan::Neighbour> neighbours;
    std::map<std::tuple<std::string, uint64_t, uint32_t>, plan::FdbEntry> fdb;
    std::map<std::string, std::string> sysctls;
    std::map<std::string, kernel::ObservedNftTable> tables;  // family -> the "dvr" table
    std::vector<std::pair<Ipv4, Ipv4>> flows;                // (src, dst)
  };
  std::map<std::string, Ns> namespaces;
  int next_ifindex = 2;

  Ns& at(const std::string& name) {
    auto it = namespaces.find(name);
    if (it == namespaces.end())
      throw KernelError("open netns " + name, ENOENT);
    return it->second;
  }
  FakeLink& link(const std::string& ns, const std::string& name, const std::string& what) {
    Ns& n = at(ns);
    auto it = n.links.find(name);
    if (it == n.links.end())
      throw KernelError(what + errorWhere(ns), ENODEV);
    return it->second;
  }
  void requireMaster(const std::string& ns, const std::string& master, const std::string& what) {
    if (master.empty())
      return;
    Ns& n = at(ns);
    auto it = n.links.find(master);
    if (it == n.links.end() || it->second.link.kind != plan::LinkKind::Bridge)
      throw KernelError(what + errorWhere(ns) + ": master " + master, ENODEV);
  }
  // The device and what hangs on it go; so does a veth's peer, with what hangs on it.
  void removeLink(const std::string& ns, const std::string& name) {
    Ns& n = at(ns);
    auto it = n.links.find(name);
    if (it == n.links.end())
      return;
    plan::Link l = it->second.link;
    n.links.erase(it);
    std::erase_if(n.addresses, [&](const auto& e) { return e.second.dev == name; });
    std::erase_if(n.routes, [&](const auto& e) { return e.second.dev == name; });
    std::erase_if(n.neighbours, [&](const auto& e) { return e.second.dev == name; });
    std::erase_if(n.fdb, [&](const auto& e) { return e.second.dev == name; });
    std::erase_if(n.sysctls, [&](const auto& e) {
      return kernel::ObjectKind<plan::Sysctl>::device({ns, e.first, ""}) == name;
    });
    for (auto& [other, fl] : n.links) {
      if (fl.link.master == name)
        fl.link.master.clear();
    }
    if (l.kind == plan::LinkKind::Veth && namespaces.count(l.peer_ns))
      removeLink(l.peer_ns, l.peer);
  }
};

class FakeKernel::Namespace : public kernel::NamespaceOps,
                              public kernel::NetlinkOps,
                              public kernel::NftOps {
 public:
  Namespace(FakeKernel& k, std::string ns) : k_(k), ns_(std::move(ns)) {}
  kernel::NetlinkOps& netlink() override { return *this; }
  kernel::NftOps& nft() override { return *this; }

  std::vector<kernel::ObservedLink> links() override {
    std::vector<kernel::ObservedLink> out;
    for (const auto& [name, fl] : n().links) {
      kernel::ObservedLink o;
      o.link = fl.link;
      o.link.ns = ns_;
      o.link.peer.clear();  // the kernel names a peer by index only
      o.link.peer_ns.clear();
      o.link.up = true;
      o.up = fl.up;
      o.ifindex = fl.ifindex;
      o.kind = fl.link.kind == plan::LinkKind::Adopted ? "" : plan::linkKindName(fl.link.kind);
      out.push_back(std::move(o));
    }
    return out;
  }
  std::vector<plan::Address> addresses() override { return values(n().addresses); }
  std::vector<plan::Route> routes() override { return values(n().routes); }
  std::vector<plan::Rule> rules() override { return values(n().rules); }
  std::vector<plan::Neighbour> neighbours() override { return values(n().neighbours); }
  std::vector<plan::FdbEntry> fdb() override { return values(n().fdb); }

  void addBridge(const plan::Link& l, bool up) override { addLink(l, up, "bridge"); }
  void addVxlan(const plan::Link& l, bool up) override {
    for (const auto& [name, fl] : n().links) {
      if (fl.link.kind == plan::LinkKind::Vxlan && fl.link.vni == l.vni && name != l.name)
        throw KernelError("ip link add " + l.name + errorWhere(ns_) + ": VNI taken", EEXIST);
    }
    addLink(l, up, "vxlan");
  }
  void setLink(const std::string& name, const plan::Link& want, bool up) override {
    std::string what = "ip link set " + name;
    FakeLink& fl = k_.state_->link(ns_, name, what);
    k_.state_->requireMaster(ns_, want.master, what);
    k_.record("link set", ns_ + "|" + name);
    if (want.mac)
      fl.link.mac = want.mac;
    if (want.mtu)
      fl.link.mtu = want.mtu;
    if (!want.master.empty())
      fl.link.master = want.master;
    if (want.kind == plan::LinkKind::Bridge && fl.link.kind == plan::LinkKind::Bridge)
      fl.link.nf_call_iptables = want.nf_call_iptables;
    if (up)
      fl.up = true;
  }
  bool deleteLink(const std::string& name) override {
    if (!n().links.count(name))
      return false;
    k_.record("link del", ns_ + "|" + name);
    k_.state_->removeLink(ns_, name);
    return true;
  }
  void addAddress(const plan::Address& a) override {
    std::string what = "ip addr add " + plan::addressLine(a);
    k_.state_->link(ns_, a.dev, what);
    if (n().addresses.count({a.dev, a.cidr.addr.value(), a.cidr.len}))
      throw KernelError(what + errorWhere(ns_), EEXIST);
    k_.record("addr add", ns_ + "|" + plan::addressLine(a));
    n().addresses[{a.dev, a.cidr.addr.value(), a.cidr.len}] = a;
  }
  void deleteAddress(const plan::Address& a) override {
    std::string what = "ip addr del " + plan::addressLine(a);
    k_.state_->link(ns_, a.dev, what);
    if (!n().addresses.count({a.dev, a.cidr.addr.value(), a.cidr.len}))
      throw KernelError(what + errorWhere(ns_), EADDRNOTAVAIL);
    k_.record("addr del", ns_ + "|" + plan::addressLine(a));
    n().addresses.erase({a.dev, a.cidr.addr.value(), a.cidr.len});
    // As Linux (fib_disable_ip): a device left without an IPv4 address loses every route
    // through it.
    bool any = false;
    for (const auto& [key, x] : n().addresses)
      any = any || x.dev == a.dev;
    if (!any)
      std::erase_if(n().routes, [&](const auto& kv) { return kv.second.dev == a.dev; });
  }
  void replaceRoute(const plan::Route& r) override {
    k_.state_->link(ns_, r.dev, "ip route replace " + plan::routeLine(r));
    k_.record("route replace", ns_ + "|" + plan::routeLine(r));
    n().routes[{r.table, r.dst.addr.value(), r.dst.len}] = r;
  }
  void deleteRoute(const plan::Route& r) override {
    if (!n().routes.count({r.table, r.dst.addr.value(), r.dst.len}))
      throw KernelError("ip route del " + plan::routeLine(r) + errorWhere(ns_), ESRCH);
    k_.record("route del", ns_ + "|" + plan::routeLine(r));
    n().routes.erase({r.table, r.dst.addr.value(), r.dst.len});
  }
  void addRule(const plan::Rule& r) override {
    std::string key = plan::ruleLine(r);
    if (n().rules.count(key))
      throw KernelError("ip rule add " + key + errorWhere(ns_), EEXIST);
    k_.record("rule add", ns_ + "|" + key);
    n().rules[key] = r;
  }
  void deleteRule(const plan::Rule& r) override {
    std::string key = plan::ruleLine(r);
    if (!n().rules.count(key))
      throw KernelError("ip rule del " + key + errorWhere(ns_), ENOENT);
    k_.record("rule del", ns_ + "|" + key);
    n().rules.erase(key);
  }
  void replaceNeighbour(const plan::Neighbour& x) override {
    k_.state_->link(ns_, x.dev, "ip neigh replace " + plan::neighbourLine(x));
    k_.record("neigh replace", ns_ + "|" + plan::neighbourLine(x));
    n().neighbours[{x.dev, x.proxy, x.ip.value()}] = x;
  }
  void deleteNeighbour(const plan::Neighbour& x) override {
    std::string what = "ip neigh del " + plan::neighbourLine(x);
    k_.state_->link(ns_, x.dev, what);
    if (!n().neighbours.count({x.dev, x.proxy, x.ip.value()}))
      throw KernelError(what + errorWhere(ns_), ENOENT);
    k_.record("neigh del", ns_ + "|" + plan::neighbourLine(x));
    n().neighbours.erase({x.dev, x.proxy, x.ip.value()});
  }
  void appendFdb(const plan::FdbEntry& f) override {
    std::string what = "bridge fdb append " + plan::fdbLine(f);
    k_.state_->link(ns_, f.dev, what);
    if (n().fdb.count({f.dev, f.mac.value(), f.dst.value()}))
      throw KernelError(what + errorWhere(ns_), EEXIST);
    k_.record("fdb append", ns_ + "|" + plan::fdbLine(f));
    n().fdb[{f.dev, f.mac.value(), f.dst.value()}] = f;
  }
  void deleteFdb(const plan::FdbEntry& f) override {
    std::string what = "bridge fdb del " + plan::fdbLine(f);
    k_.state_->link(ns_, f.dev, what);
    if (!n().fdb.count({f.dev, f.mac.value(), f.dst.value()}))
      throw KernelError(what + errorWhere(ns_), ENOENT);
    k_.record("fdb del", ns_ + "|" + plan::fdbLine(f));
    n().fdb.erase({f.dev, f.mac.value(), f.dst.value()});
  }

  std::vector<std::string> readSysctls(const std::vector<const plan::Sysctl*>& keys) override {
    std::vector<std::string> out;
    for (const plan::Sysctl* s : keys) {
      auto it = n().sysctls.find(s->key);
      out.push_back(it == n().sysctls.end() ? "" : it->second);
    }
    return out;
  }
  void writeSysctls(const std::vector<const plan::Sysctl*>& values) override {
    for (const plan::Sysctl* s : values) {
      std::string dev = kernel::ObjectKind<plan::Sysctl>::device(*s);
      std::string what = "sysctl -w " + s->key + "=" + s->value + errorWhere(ns_);
      if (!dev.empty() && !n().links.count(dev))
        throw KernelError(what, ENOENT);
      k_.record("sysctl", ns_ + "|" + s->key + "=" + s->value);
      n().sysctls[s->key] = s->value;
    }
  }
  int flushConntrack(const std::vector<Ipv4>& to, const std::vector<Ipv4>& from) override {
    k_.record("conntrack flush", ns_);
    auto in = [](const std::vector<Ipv4>& v, Ipv4 ip) {
      return std::find(v.begin(), v.end(), ip) != v.end();
    };
    return int(std::erase_if(n().flows,
                             [&](const auto& f) { return in(to, f.second) || in(from, f.first); }));
  }

  void announce(const std::string& dev, Ipv4 ip) override {
    if (!n().links.count(dev))
      throw KernelError("arping -U " + ip.str() + " dev " + dev + errorWhere(ns_), ENODEV);
    k_.announced_.push_back(ns_ + "|" + dev + " " + ip.str());
  }

  void run(const std::string& script) override;
  std::map<std::string, kernel::ObservedNftTable> listTables(const std::string& name) override {
    ++k_.nft_listings_;
    if (name != plan::kNftTableName)
      return {};
    return n().tables;
  }

 private:
  State::Ns& n() { return k_.state_->at(ns_); }
  template <class M>
  static std::vector<typename M::mapped_type> values(const M& m) {
    std::vector<typename M::mapped_type> out;
    for (const auto& [key, v] : m)
      out.push_back(v);
    return out;
  }
  void addLink(const plan::Link& l, bool up, const char* type) {
    std::string what = "ip link add " + l.name + " type " + type;
    if (n().links.count(l.name))
      throw KernelError(what + errorWhere(ns_), EEXIST);
    k_.state_->requireMaster(ns_, l.master, what);
    k_.record("link add", ns_ + "|" + l.name + " master=" + l.master);
    FakeLink fl{l, up, k_.state_->next_ifindex++};
    fl.link.ns = ns_;
    fl.link.up = true;
    n().links[l.name] = fl;
  }

  FakeKernel& k_;
  std::string ns_;
};

// nft scripts as the reconciler writes them: whole tables ("table F N { … }"), "delete
// table F N", "add element F N SET { E }" and "delete element F N SET { KEY }". One
// transaction: the state changes only if every command succeeds.
void FakeKernel::Namespace::run(const std::string& script) {
  auto tables = n().tables;
  std::vector<std::string> commands;
  std::istringstream in(script);
  std::string line;
  int number = 0;
  auto fail = [&](int err, const std::string& why) {
    throw KernelError(
        "nft (" + plan::nsLabel(ns_) + ") line " + std::to_string(number) + ": " + why, err);
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.empty())
      continue;
    commands.push_back(ns_ + "|" + line);
    std::istringstream words(line);
    std::string verb, what, family, name;
    words >> verb;
    if (verb == "table") {
      words >> family >> name;
      std::string block = line + "\n";
      int depth = 1;
      while (depth > 0 && std::getline(in, line)) {
        ++number;
        block += line + "\n";
        depth += int(std::count(line.begin(), line.end(), '{')) -
                 int(std::count(line.begin(), line.end(), '}'));
      }
      if (name != plan::kNftTableName)
        fail(EINVAL, "not dvr's table " + name);
      kernel::ObservedNftTable t = kernel::parseNftListing(family, block);
      auto& have = tables[family];
      have.family = family;
      have.tag = t.tag;
      for (auto& [set, elements] : t.elements)
        have.elements[set].insert(elements.begin(), elements.end());
      for (auto& [chain, tag] : t.chain_tags)
        have.chain_tags[chain] = tag;
      for (auto& [chain, n] : t.chain_rules)
        have.chain_rules[chain] = n;
      continue;
    }
    words >> what >> family >> name;
    if (verb == "delete" && what == "table") {
      if (!tables.erase(family))
        fail(ENOENT, "no table " + family + " " + name);
      continue;
    }
    if (what == "set" || what == "map" || what == "chain" || what == "rule") {
      std::string object;
      words >> object;
      auto tb = tables.find(family);
      if (tb == tables.end())
        fail(ENOENT, "no table " + family + " " + name);
      auto& table = tb->second;
      bool is_chain = what != "set" && what != "map";
      bool exists =
          is_chain ? table.chain_tags.count(object) != 0 : table.elements.count(object) != 0;
      if (verb == "add" && what == "rule") {
        if (!exists)
          fail(ENOENT, "no chain " + object);
        std::string& tag = table.chain_tags[object];
        size_t c = line.find("comment \"dvr:");
        if (tag.empty() && c != std::string::npos && line.find(" counter ") != std::string::npos)
          tag = line.substr(c + 9, line.find('"', c + 9) - c - 9);
        else
          table.chain_rules[object].push_back(plan::ruleComment(line));
        // A jump names a chain that must exist.
        size_t j = line.find(" jump ");
        std::string target =
            j == std::string::npos ? "" : line.substr(j + 6, line.find(' ', j + 6) - j - 6);
        if (!target.empty() && !table.chain_tags.count(target))
          fail(ENOENT, "no chain " + target);
      } else if (verb == "add") {
        if (exists)
          continue;  // nft's add is idempotent for sets and chains
        if (is_chain)
          table.chain_tags[object];
        else
          table.elements[object];
      } else if (verb == "flush") {
        if (!exists)
          fail(ENOENT, "no chain " + object);
        table.chain_tags[object].clear();
        table.chain_rules[object].clear();
      } else if (verb == "delete") {
        if (!exists)
          fail(ENOENT, "no " + what + " " + object);
        if (is_chain) {
          if (!table.chain_tags[object].empty())
            fail(EBUSY, "chain " + object + " holds rules");
          for (const auto& [set, elements] : table.elements) {
            for (const auto& e : elements) {
              if (e.size() > object.size() + 6 &&
                  e.compare(e.size() - object.size() - 6, std::string::npos, " jump " + object) ==
                      0)
                fail(EBUSY, "chain " + object + " is jumped to from " + set);
            }
          }
          table.chain_tags.erase(object);
          table.chain_rules.erase(object);
        } else {
          table.elements.erase(object);
        }
      } else {
        fail(EINVAL, "unknown command " + line);
      }
      continue;
    }
    if (what != "element")
      fail(EINVAL, "unknown command " + line);
    std::string set, brace;
    words >> set >> brace;
    std::string element = line.substr(line.find('{') + 2);
    element = element.substr(0, element.rfind(" }"));
    auto t = tables.find(family);
    if (t == tables.end() || !t->second.elements.count(set))
      fail(ENOENT, "no set " + set + " in table " + family + " " + name);
    auto& elements = t->second.elements[set];
    auto key = [](const std::string& e) { return e.substr(0, e.find(" : ")); };
    auto same_key = std::find_if(elements.begin(), elements.end(),
                                 [&](const std::string& e) { return key(e) == key(element); });
    if (verb == "add") {
      if (same_key != elements.end() && *same_key != element)
        fail(EEXIST, "map key " + key(element) + " holds another value");
      elements.insert(element);
    } else if (verb == "delete") {
      if (same_key == elements.end())
        fail(ENOENT, "no element " + element + " in " + set);
      elements.erase(same_key);
    } else {
      fail(EINVAL, "unknown command " + line);
    }
  }
  k_.record("nft", ns_ + "|" + std::to_string(number) + " lines");
  n().tables = std::move(tables);
  k_.nft_commands_.insert(k_.nft_commands_.end(), commands.begin(), commands.end());
}

FakeKernel::FakeKernel() : state_(std::make_unique<State>()) {
  state_->namespaces[""];
}

void FakeKernel::record(const std::string& op, const std::string& what) {
  if (refuse_at_ > 0 && --refuse_at_ == 0)
    throw KernelError(op + " " + what + " (refused by the test)", refuse_err_);
  ops_.push_back(op + " " + what);
}

std::vector<std::string> FakeKernel::listNamespaces() {
  std::vector<std::string> out;
  for (const auto& [name, ns] : state_->namespaces) {
    if (!name.empty())
      out.push_back(name);
  }
  return out;
}

void FakeKernel::createNamespaces(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    if (state_->namespaces.count(name))
      throw KernelError("ip netns add " + name, EEXIST);
    record("netns add", name);
    state_->namespaces[name].links["lo"] =
        FakeLink{{.ns = name, .name = "lo", .kind = plan::LinkKind::Adopted}, true, 1};
  }
}

void FakeKernel::deleteNamespace(const std::string& name) {
  if (!state_->namespaces.count(name))
    throw KernelError("ip netns del " + name, ENOENT);
  record("netns del", name);
  std::vector<std::string> names;
  for (const auto& [link, fl] : state_->namespaces[name].links)
    names.push_back(link);
  for (const auto& link : names)
    state_->removeLink(name, link);
  state_->namespaces.erase(name);
  handles_.erase(name);
}

kernel::DaemonOps& FakeKernel::daemons(const std::string& host) {
  Daemons& d = daemons_by_host[host];
  d.k = this;
  return d;
}

std::vector<std::string> FakeKernel::Daemons::list() {
  std::vector<std::string> out;
  for (const auto& [name, d] : running)
    out.push_back(name);
  return out;
}

std::string FakeKernel::Daemons::ensure(const plan::Daemon& d) {
  auto it = running.find(d.name);
  if (it != running.end() && it->second == d)
    return "";
  std::string did = it == running.end() ? "start" : "reload";
  k->record("daemon " + did, d.ns + "|" + d.name);
  running[d.name] = d;
  return did;
}

void FakeKernel::Daemons::stop(const std::string& name) {
  k->record("daemon stop", name);
  running.erase(name);
}

kernel::NamespaceOps& FakeKernel::ns(const std::string& name) {
  state_->at(name);
  auto& h = handles_[name];
  if (!h)
    h = std::make_unique<Namespace>(*this, name);
  return *h;
}

void FakeKernel::addVethPair(const plan::Link& first, bool up, const plan::Link& second) {
  std::string what = "ip link add " + first.name + " type veth peer " + second.name;
  auto& a = state_->at(first.ns);
  auto& b = state_->at(second.ns);
  if (a.links.count(first.name))
    throw KernelError(what + errorWhere(first.ns), EEXIST);
  if (b.links.count(second.name))
    throw KernelError(what + errorWhere(second.ns) + ": peer", EEXIST);
  state_->requireMaster(first.ns, first.master, what);
  record("link add", first.ns + "|" + first.name + " master=" + first.master);
  plan::Link l = first, p = second;
  l.peer = second.name;
  l.peer_ns = second.ns;
  p.peer = first.name;
  p.peer_ns = first.ns;
  p.master.clear();  // the kernel sets neither for a peer
  l.up = p.up = true;
  a.links[first.name] = FakeLink{l, up, state_->next_ifindex++};
  b.links[second.name] = FakeLink{p, false, state_->next_ifindex++};
}

void FakeKernel::addDevice(const std::string& ns, const std::string& name) {
  state_->at(ns).links[name] = FakeLink{
      {.ns = ns, .name = name, .kind = plan::LinkKind::Adopted}, false, state_->next_ifindex++};
}

void FakeKernel::removeDevice(const std::string& ns, const std::string& name) {
  state_->removeLink(ns, name);
}

// Attachments and map entries by their plan keys; a device must exist for either.
class FakeKernel::FastPath : public kernel::FastPathOps {
 public:
  explicit FastPath(FakeKernel& k) : k_(k) {}
  kernel::FastPathResult apply(const plan::FastPath& want, const plan::FastPath*) override {
    kernel::FastPathResult r;
    std::map<Ipv4, std::string> entries;
    for (const auto& e : want.fips) {
      if (!k_.hasLink("", e.vm_dev) || !k_.hasLink("", e.ext_dev)) {
        r.waiting.push_back(k_.hasLink("", e.vm_dev) ? e.ext_dev : e.vm_dev);
        continue;
      }
      if (k_.unresolved_.count(e.next_hop)) {
        r.unresolved.push_back(e.next_hop.str() + " in " + e.fip_ns);
        continue;
      }
      entries[e.floating] = e.floating.str() + " " + e.fixed.str() + " " + e.vm_dev + " " +
                            e.ext_dev + " mtu " + std::to_string(e.out_mtu) + "/" +
                            std::to_string(e.in_mtu);
    }
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (entries.count(it->first)) {
        ++it;
        continue;
      }
      k_.record("fastpath fip del", it->second);
      r.lines.push_back("bpftool map delete fip " + it->second);
      it = entries_.erase(it);
    }
    for (const auto& [fip, text] : entries) {
      auto it = entries_.find(fip);
      if (it != entries_.end() && it->second == text)
        continue;
      k_.record("fastpath fip add", text);
      r.lines.push_back("bpftool map update fip " + text);
      entries_[fip] = text;
    }
    std::set<std::pair<std::string, std::string>> attach;
    for (const auto& a : want.attach)
      attach.emplace(a.dev, a.program);
    for (auto it = attached_.begin(); it != attached_.end();) {
      if (attach.count(*it)) {
        ++it;
        continue;
      }
      k_.record("fastpath detach", it->first + "|" + it->second);
      r.lines.push_back("tc filter del dev " + it->first + " ingress " + it->second);
      it = attached_.erase(it);
    }
    for (const auto& a : attach) {
      if (attached_.count(a))
        continue;
      if (!k_.hasLink("", a.first)) {
        r.waiting.push_back(a.first);
        continue;
      }
      if (k_.foreign_filters_.count(a.first))
        throw KernelError("tc filter dev " + a.first + ": held by a program not dvr's", EEXIST);
      k_.record("fastpath attach", a.first + "|" + a.second);
      r.lines.push_back("tc filter add dev " + a.first + " ingress " + a.second);
      attached_.insert(a);
    }
    return r;
  }
  std::vector<std::string> dump() const {
    std::vector<std::string> out;
    for (const auto& [dev, prog] : attached_)
      out.push_back("bpf attach " + dev + "|" + prog);
    for (const auto& [fip, text] : entries_)
      out.push_back("bpf fip " + text);
    return out;
  }
  std::map<Ipv4, std::string> entries_;

 private:
  FakeKernel& k_;
  std::set<std::pair<std::string, std::string>> attached_;
};

FakeKernel::~FakeKernel() = default;

kernel::FastPathOps& FakeKernel::fastPath() {
  if (!fast_path_)
    fast_path_ = std::make_unique<FastPath>(*this);
  return *fast_path_;
}

std::vector<std::string> FakeKernel::fastPathEntries() const {
  std::vector<std::string> out;
  if (fast_path_) {
    for (const auto& [fip, text] : fast_path_->entries_)
      out.push_back("fip " + text);
  }
  return out;
}

bool FakeKernel::hasLink(const std::string& ns, const std::string& name) const {
  auto it = state_->namespaces.find(ns);
  return it != state_->namespaces.end() && it->second.links.count(name);
}

void FakeKernel::addFlow(const std::string& ns, Ipv4 src, Ipv4 dst) {
  state_->at(ns).flows.emplace_back(src, dst);
}

size_t FakeKernel::flows(const std::string& ns) const {
  return state_->namespaces.at(ns).flows.size();
}

std::vector<std::string> FakeKernel::dump() const {
  std::vector<std::string> out;
  for (const auto& [name, n] : state_->namespaces) {
    if (!name.empty())
      out.push_back("netns " + name);
    for (const auto& [link, fl] : n.links) {
      if (link != "lo")
        out.push_back(linkText(name, fl.link, fl.up));
    }
    for (const auto& [k, a] : n.addresses)
      out.push_back("addr " + name + "|" + plan::addressLine(a));
    for (const auto& [k, r] : n.routes)
      out.push_back("route " + name + "|" + plan::routeLine(r));
    for (const auto& [k, r] : n.rules)
      out.push_back("rule " + name + "|" + k);
    for (const auto& [k, x] : n.neighbours)
      out.push_back("neigh " + name + "|" + plan::neighbourLine(x));
    for (const auto& [k, f] : n.fdb)
      out.push_back("fdb " + name + "|" + plan::fdbLine(f));
    for (const auto& [key, value] : n.sysctls)
      out.push_back("sysctl " + name + "|" + key + "=" + value);
    for (const auto& [family, t] : n.tables)
      tableText(name, t, out);
  }
  if (fast_path_) {
    auto fp = fast_path_->dump();
    out.insert(out.end(), fp.begin(), fp.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> expectedDump(const plan::HostPlan& p) {
  std::vector<std::string> out;
  for (const auto& ns : p.namespaces)
    out.push_back("netns " + ns);
  for (const auto& l : p.links)
    out.push_back(linkText(l.ns, l, true));
  for (const auto& a : p.addresses)
    out.push_back("addr " + a.ns + "|" + plan::addressLine(a));
  for (const auto& r : p.routes)
    out.push_back("route " + r.ns + "|" + plan::routeLine(r));
  for (const auto& r : p.rules)
    out.push_back("rule " + r.ns + "|" + plan::ruleLine(r));
  for (const auto& x : p.neighbours)
    out.push_back("neigh " + x.ns + "|" + plan::neighbourLine(x));
  for (const auto& f : p.fdb)
    out.push_back("fdb |" + plan::fdbLine(f));
  for (const auto& s : p.sysctls)
    out.push_back("sysctl " + s.ns + "|" + s.key + "=" + s.value);
  for (const auto& t : plan::nftTables(p)) {
    kernel::ObservedNftTable o;
    o.family = t.family;
    o.tag = t.structureTag();
    for (const auto& s : t.sets)
      o.elements[s.name].insert(s.elements.begin(), s.elements.end());
    for (const auto& c : t.tagged_chains) {
      o.chain_tags[c.name] = c.tag();
      o.chain_rules[c.name] = c.ruleComments();
    }
    tableText(t.ns, o, out);
  }
  for (const auto& a : p.fast_path.attach)
    out.push_back("bpf attach " + a.dev + "|" + a.program);
  for (const auto& e : p.fast_path.fips)
    out.push_back("bpf fip " + e.floating.str() + " " + e.fixed.str() + " " + e.vm_dev + " " +
                  e.ext_dev + " mtu " + std::to_string(e.out_mtu) + "/" + std::to_string(e.in_mtu));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace dvr::test
