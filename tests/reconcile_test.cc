// The reconciler on a fake kernel (tests/fake_kernel.h), without root: full and
// incremental reconcile agree, refusals that mean "already done" are not changes, the
// steps come in their order, and a run refused half-way is completed by the next.
#include <gtest/gtest.h>

#include <random>

#include "fake_kernel.h"
#include "ipam/resolve.h"
#include "ipam/synthetic.h"
#include "kernel/object_kinds.h"
#include "kernel/reconciler.h"
#include "kernel/unique_fd.h"
#include "model/error.h"
#include "model/topology_yaml.h"
#include "plan/cloud_index.h"
#include "plan/planner.h"

namespace dvr {
namespace {

using test::FakeKernel;

model::Topology seedTopology() {
  return model::loadTopologyFile(std::string(DVR_SOURCE_DIR) + "/examples/seed.yaml");
}

plan::HostPlan planOf(const model::Topology& topo, const std::string& host) {
  model::Cloud cloud = ipam::resolve(topo, "test");
  plan::CloudIndex index(cloud);
  return plan::planHost(index, host);
}

// The hypervisor's part: a device for every adopted link of the plan (VM taps,
// uplinks), and none for those the plan no longer has (a VM unplugged).
void plug(FakeKernel& k, const plan::HostPlan& p, const plan::HostPlan* before = nullptr) {
  for (const auto& l : p.links) {
    if (l.kind == plan::LinkKind::Adopted && !k.hasLink(l.ns, l.name))
      k.addDevice(l.ns, l.name);
  }
  if (!before)
    return;
  for (const auto& l : before->links) {
    if (l.kind == plan::LinkKind::Adopted && !p.findLink(l.ns, l.name))
      k.removeDevice(l.ns, l.name);
  }
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines)
    out += l + "\n";
  return out;
}

// A kernel keeps every sysctl: one the plan no longer names keeps its last value, which
// is nobody's concern. Only the planned ones are compared.
std::vector<std::string> plannedSysctlsOnly(std::vector<std::string> dump,
                                            const plan::HostPlan& p) {
  std::set<std::string> planned;
  for (const auto& s : p.sysctls)
    planned.insert("sysctl " + s.ns + "|" + s.key + "=");
  std::erase_if(dump, [&](const std::string& line) {
    return line.rfind("sysctl ", 0) == 0 && !planned.count(line.substr(0, line.find('=') + 1));
  });
  return dump;
}

// A fresh kernel that got only a full reconcile of `p`.
std::vector<std::string> fullOnEmpty(const plan::HostPlan& p) {
  FakeKernel k;
  plug(k, p);
  kernel::Reconciler(k).apply(p);
  return k.dump();
}

TEST(ReconcileSeed, FullReconcileMakesExactlyThePlannedObjects) {
  auto topo = seedTopology();
  for (const std::string host : {"compute01", "compute02", "controller01"}) {
    plan::HostPlan p = planOf(topo, host);
    FakeKernel k;
    plug(k, p);
    kernel::Reconciler rec(k);
    auto first = rec.apply(p);
    EXPECT_GT(first.changes, 0) << host;
    EXPECT_EQ(joined(k.dump()), joined(test::expectedDump(p))) << host;
    auto again = rec.apply(p);
    EXPECT_EQ(again.changes, 0) << host << ":\n" << joined(again.log);
  }
}

// ---- random edits of a topology, each one a change an operator or Nova makes ----

class Editor {
 public:
  explicit Editor(uint64_t seed) : rng_(seed) {}

  // One edit that still resolves; false if none of the tries did.
  bool edit(model::Topology& t) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      model::Topology next = t;
      if (!tryEdit(next))
        continue;
      try {
        ipam::resolve(next, "edit");
      } catch (const InputError&) {
        continue;  // e.g. a router interface its floating IPs need
      }
      t = std::move(next);
      return true;
    }
    return false;
  }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  std::vector<std::string> externalNetworks(const model::Topology& t) {
    std::vector<std::string> out;
    for (const auto& n : t.networks) {
      if (n.external)
        out.push_back(n.name);
    }
    return out;
  }

  bool tryEdit(model::Topology& t) {
    auto ext = externalNetworks(t);
    switch (pick(8)) {
      case 0: {  // a floating IP added to a VM
        if (t.vms.empty() || ext.empty())
          return false;
        model::FloatingIpSpec f;
        f.network = ext[pick(ext.size())];
        f.vm = t.vms[pick(t.vms.size())].name;
        t.floating_ips.push_back(f);
        return true;
      }
      case 1:  // a floating IP removed
        if (t.floating_ips.empty())
          return false;
        t.floating_ips.erase(t.floating_ips.begin() + long(pick(t.floating_ips.size())));
        return true;
      case 2: {  // a floating IP moved to another VM, perhaps on another host
        if (t.floating_ips.empty() || t.vms.empty())
          return false;
        t.floating_ips[pick(t.floating_ips.size())].vm = t.vms[pick(t.vms.size())].name;
        return true;
      }
      case 3: {  // a VM added on a network that has one
        if (t.vms.empty())
          return false;
        model::VmSpec vm = t.vms[pick(t.vms.size())];
        vm.name = "vm-added-" + std::to_string(counter_++);
        vm.port_id.reset();
        vm.ip.reset();
        vm.mac.reset();
        std::vector<std::string> hosts;
        for (const auto& h : t.hosts)
          hosts.push_back(h.name);
        vm.host = hosts[pick(hosts.size())];
        t.vms.push_back(vm);
        return true;
      }
      case 4: {  // a VM removed, with its floating IPs
        if (t.vms.size() < 2)
          return false;
        size_t i = pick(t.vms.size());
        std::string name = t.vms[i].name;
        t.vms.erase(t.vms.begin() + long(i));
        std::erase_if(t.floating_ips, [&](const auto& f) { return f.vm == name; });
        return true;
      }
      case 5: {  // a router interface removed, or one removed earlier added back
        if (!removed_.empty() && pick(2) == 0) {
          auto [router, iface] = removed_.back();
          removed_.pop_back();
          for (auto& r : t.routers) {
            if (r.name == router) {
              r.interfaces.push_back(iface);
              return true;
            }
          }
          return false;
        }
        if (t.routers.empty())
          return false;
        auto& r = t.routers[pick(t.routers.size())];
        if (r.interfaces.empty())
          return false;
        size_t i = pick(r.interfaces.size());
        removed_.emplace_back(r.name, r.interfaces[i]);
        r.interfaces.erase(r.interfaces.begin() + long(i));
        return true;
      }
      case 6: {  // a router's gateway cleared or set
        if (t.routers.empty() || ext.empty())
          return false;
        auto& r = t.routers[pick(t.routers.size())];
        r.gateway_port = {};
        if (r.gateway_network)
          r.gateway_network.reset();
        else
          r.gateway_network = ext[pick(ext.size())];
        return true;
      }
      default: {  // a network's MTU changed
        if (t.networks.empty())
          return false;
        auto& n = t.networks[pick(t.networks.size())];
        n.mtu = 1280 + int(pick(171));
        return true;
      }
    }
  }

  std::mt19937_64 rng_;
  int counter_ = 0;
  std::vector<std::pair<std::string, model::InterfaceSpec>> removed_;
};

// full(p0), then incremental p0 -> p1 -> … -> pN on one kernel, against full(pN) on an
// empty one.
void expectIncrementalEqualsFull(model::Topology topo, const std::string& host, uint64_t seed,
                                 int edits) {
  plan::HostPlan prev = planOf(topo, host);
  FakeKernel k;
  plug(k, prev);
  kernel::Reconciler rec(k);
  rec.apply(prev);
  Editor editor(seed);
  for (int i = 0; i < edits; ++i) {
    if (!editor.edit(topo))
      break;
    plan::HostPlan next = planOf(topo, host);
    plug(k, next, &prev);
    rec.apply(next, &prev);
    prev = std::move(next);
  }
  ASSERT_EQ(joined(plannedSysctlsOnly(k.dump(), prev)), joined(fullOnEmpty(prev)))
      << "seed " << seed << " host " << host;
  auto again = kernel::Reconciler(k).apply(prev);
  EXPECT_EQ(again.changes, 0) << "seed " << seed << ":\n" << joined(again.log);
}

TEST(ReconcileIncremental, EqualsFullOverRandomEditsOfTheSeed) {
  auto topo = seedTopology();
  const std::vector<std::string> hosts{"compute01", "compute02", "controller01"};
  for (uint64_t seed = 1; seed <= 120; ++seed)
    expectIncrementalEqualsFull(topo, hosts[seed % hosts.size()], seed, 8);
}

TEST(ReconcileIncremental, EqualsFullOverRandomEditsOfGeneratedClouds) {
  for (uint64_t seed = 1; seed <= 80; ++seed) {
    model::Topology topo = ipam::syntheticTopology(
        {.hosts = 4, .routers = 5, .vms = 24, .floating_ips = 6, .seed = seed});
    std::string host = topo.hosts[seed % topo.hosts.size()].name;
    expectIncrementalEqualsFull(topo, host, seed * 7919, 10);
  }
}

TEST(ReconcileIncremental, ALinkMadeAgainGetsBackWhatHungOnIt) {
  // vxlan-1001 keeps its name but not its VNI: it is deleted and made again, and its FDB
  // entries, its sysctl and its bridge port go with the old device and must come back.
  plan::HostPlan p0 = planOf(seedTopology(), "compute01");
  plan::HostPlan p1 = p0;
  for (auto& l : p1.links) {
    if (l.name == "vxlan-1001")
      l.vni = 4001;
  }
  ASSERT_TRUE(std::any_of(p1.fdb.begin(), p1.fdb.end(),
                          [](const auto& f) { return f.dev == "vxlan-1001"; }));
  FakeKernel k;
  plug(k, p0);
  kernel::Reconciler rec(k);
  rec.apply(p0);
  auto r = rec.apply(p1, &p0);
  EXPECT_NE(joined(r.log).find("ip link del vxlan-1001"), std::string::npos) << joined(r.log);
  EXPECT_EQ(joined(k.dump()), joined(fullOnEmpty(p1))) << joined(r.log);
  EXPECT_EQ(kernel::Reconciler(k).apply(p1).changes, 0);
}

TEST(ReconcileIncremental, AVethWhosePeerChangesNamespaceIsMadeAgain) {
  plan::Link a{.ns = "",
               .name = "tap1",
               .kind = plan::LinkKind::Veth,
               .mtu = 1450,
               .peer = "qr-1",
               .peer_ns = "qrouter-a"};
  plan::Link b{.ns = "qrouter-a",
               .name = "qr-1",
               .kind = plan::LinkKind::Veth,
               .mtu = 1450,
               .peer = "tap1",
               .peer_ns = ""};
  plan::Link moved = b;
  moved.ns = "qrouter-b";
  plan::Link a2 = a;
  a2.peer_ns = "qrouter-b";
  EXPECT_TRUE(kernel::ObjectKind<plan::Link>::needsRecreate(a, a2));
  plan::HostPlan p0, p1;
  p0.namespaces = {"qrouter-a", "qrouter-b"};
  p1.namespaces = p0.namespaces;
  p0.links = {a, b};
  p1.links = {a2, moved};
  FakeKernel k;
  kernel::Reconciler rec(k);
  rec.apply(p0);
  rec.apply(p1, &p0);
  EXPECT_EQ(joined(k.dump()), joined(fullOnEmpty(p1)));
}

// ---- tolerance ----

// compute01's plan with and without vm2's floating IP (a veth pair, rules, routes,
// neighbours, nftables elements) and a VM on compute02 (FDB entries).
struct WithAndWithout {
  plan::HostPlan with, without;
};
WithAndWithout seedWithAndWithout() {
  auto topo = seedTopology();
  WithAndWithout out;
  out.with = planOf(topo, "compute01");
  std::erase_if(topo.floating_ips, [](const auto& f) { return f.vm == "vm2"; });
  std::erase_if(topo.vms, [](const auto& v) { return v.host == "compute02"; });
  out.without = planOf(topo, "compute01");
  return out;
}

TEST(ReconcileTolerance, WhatIsAlreadyThereIsNeitherAnErrorNorAChange) {
  auto [with, without] = seedWithAndWithout();
  FakeKernel k;
  plug(k, with);
  kernel::Reconciler rec(k);
  rec.apply(with);
  // The reconciler believes `without` is applied; the kernel already holds `with`.
  auto r = rec.apply(with, &without);
  for (const char* made : {"link add", "rule add", "fdb append", "addr add"})
    EXPECT_EQ(joined(r.log).find(made), std::string::npos) << made << " in:\n" << joined(r.log);
  EXPECT_EQ(joined(k.dump()), joined(test::expectedDump(with)));
}

TEST(ReconcileTolerance, WhatIsAlreadyGoneIsNeitherAnErrorNorAChange) {
  auto [with, without] = seedWithAndWithout();
  FakeKernel k;
  plug(k, without);
  kernel::Reconciler rec(k);
  rec.apply(without);
  // The reconciler believes `with` is applied; the kernel holds `without` only.
  auto r = rec.apply(without, &with);
  EXPECT_EQ(r.changes, 0) << joined(r.log);
  EXPECT_EQ(joined(k.dump()), joined(test::expectedDump(without)));
}

TEST(ReconcileTolerance, AnyOtherRefusalThrowsNamingOperationObjectAndNamespace) {
  auto [with, without] = seedWithAndWithout();
  FakeKernel k;
  plug(k, without);
  kernel::Reconciler rec(k);
  rec.apply(without);
  k.clearOps();
  rec.apply(with, &without);
  // The same change again, refused at its first route.
  auto ops = k.ops();
  auto route = std::find_if(ops.begin(), ops.end(),
                            [](const std::string& o) { return o.rfind("route replace", 0) == 0; });
  ASSERT_NE(route, ops.end());
  FakeKernel k2;
  plug(k2, without);
  kernel::Reconciler rec2(k2);
  rec2.apply(without);
  k2.refuseChange(int(route - ops.begin()) + 1, EPERM);
  try {
    rec2.apply(with, &without);
    FAIL() << "the refusal was swallowed";
  } catch (const kernel::KernelError& e) {
    EXPECT_EQ(e.err(), EPERM);
    EXPECT_NE(std::string(e.what()).find(*route), std::string::npos) << e.what();
  }
}

// ---- ordering ----

size_t firstIndex(const std::vector<std::string>& ops, const std::string& prefix) {
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].rfind(prefix, 0) == 0)
      return i;
  }
  return ops.size();
}
size_t lastIndex(const std::vector<std::string>& ops, const std::string& prefix) {
  size_t last = ops.size();
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].rfind(prefix, 0) == 0)
      last = i;
  }
  return last;
}

TEST(ReconcileOrdering, StepsComeInTheirOrder) {
  plan::HostPlan p = planOf(seedTopology(), "compute01");
  FakeKernel k;
  plug(k, p);
  kernel::Reconciler(k).apply(p);
  const auto& ops = k.ops();
  ASSERT_LT(firstIndex(ops, "link add"), ops.size());
  EXPECT_LT(lastIndex(ops, "netns add"), firstIndex(ops, "link add"));
  // "<op> <ns>|<object>": the index of the link add of (ns, name).
  auto made = [&](const std::string& ns, const std::string& name) {
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].rfind("link add " + ns + "|" + name + " ", 0) == 0)
        return i;
    }
    // A veth's second end is made with its first: find the pair through the plan.
    const plan::Link* l = p.findLink(ns, name);
    if (l && l->kind == plan::LinkKind::Veth) {
      for (size_t i = 0; i < ops.size(); ++i) {
        if (ops[i].rfind("link add " + l->peer_ns + "|" + l->peer + " ", 0) == 0)
          return i;
      }
    }
    return ops.size();
  };
  for (size_t i = 0; i < ops.size(); ++i) {
    const std::string& op = ops[i];
    size_t bar = op.find('|');
    if (bar == std::string::npos)
      continue;  // "nft <ns>|…" and the like carry one; "netns add NAME" does not
    size_t space = op.rfind(' ', bar);
    std::string ns = op.substr(space + 1, bar - space - 1);
    std::string object = op.substr(bar + 1);
    if (op.rfind("sysctl ", 0) == 0) {
      plan::Sysctl s{ns, object.substr(0, object.find('=')), ""};
      std::string dev = kernel::ObjectKind<plan::Sysctl>::device(s);
      if (dev.empty())
        EXPECT_LT(i, firstIndex(ops, "link add")) << op << ": namespace-wide, before links";
      else
        EXPECT_GT(i, made(ns, dev)) << op << ": after its device";
    }
    auto master = op.find(" master=");
    if (op.rfind("link add ", 0) == 0 && master != std::string::npos && master + 8 < op.size()) {
      EXPECT_GT(i, made(ns, op.substr(master + 8))) << op << ": after its bridge";
    }
    for (const char* hanging : {"addr add ", "route replace ", "neigh replace ", "fdb append "}) {
      if (op.rfind(hanging, 0) != 0)
        continue;
      std::string dev = object.substr(object.find(" dev ") + 5);
      dev = dev.substr(0, dev.find(' '));
      EXPECT_GT(i, made(ns, dev)) << op << ": after its device";
    }
  }
  EXPECT_GT(firstIndex(ops, "nft"), lastIndex(ops, "route replace"));
  EXPECT_GT(firstIndex(ops, "rule add"), lastIndex(ops, "nft"));
}

TEST(ReconcileOrdering, ProgressIsReportedStepByStepInOrder) {
  plan::HostPlan p = planOf(seedTopology(), "compute01");
  FakeKernel k;
  plug(k, p);
  kernel::Reconciler rec(k);
  std::vector<std::string> steps;
  rec.onStep([&](const std::string& step, double) { steps.push_back(step); });
  auto r = rec.apply(p);
  ASSERT_EQ(steps.size(), r.step_ms.size());
  for (size_t i = 0; i < steps.size(); ++i)
    EXPECT_EQ(steps[i], r.step_ms[i].first);
  EXPECT_EQ(steps.front(), "namespaces");
  EXPECT_EQ(steps.back(), "announce");
}

// An external pool change moves the routers' qg- addresses: the kernel drops the routes
// through a device that loses its last address, and the reconciler puts them back.
TEST(ReconcileIncremental, ARenumberedExternalPortKeepsItsRoutes) {
  model::Topology topo = seedTopology();
  plan::HostPlan p = planOf(topo, "controller01");
  FakeKernel k;
  plug(k, p);
  kernel::Reconciler(k).apply(p);
  for (auto& s : topo.subnets) {
    if (s.name == "ext-subnet")
      s.pools = {{Ipv4(0xc0a84a96), Ipv4(0xc0a84ac8)}};  // 192.168.74.150-200
  }
  plan::HostPlan moved = planOf(topo, "controller01");
  ASSERT_NE(joined(test::expectedDump(moved)), joined(test::expectedDump(p)));
  kernel::Reconciler(k).apply(moved, &p);
  EXPECT_EQ(joined(plannedSysctlsOnly(k.dump(), moved)), joined(test::expectedDump(moved)));
}

// The upstream router learns where an external address went from gratuitous ARPs, sent
// when the address is put in place: a new floating IP, the fg-/qg- ports' own addresses.
TEST(ReconcileAnnounce, ExternalAddressesAreAnnouncedWhenTheyAppearAndOnlyThen) {
  model::Topology topo = seedTopology();
  plan::HostPlan p = planOf(topo, "compute01");
  FakeKernel k;
  plug(k, p);
  kernel::Reconciler(k).apply(p);
  const std::string fip_ns = "fip-5a1e2b3c-4d5e-4f60-8a71-92b3c4d5e6f7|fg-6e12764c-ba ";
  std::vector<std::string> cold = k.announced();
  std::sort(cold.begin(), cold.end());
  EXPECT_EQ(cold, (std::vector<std::string>{fip_ns + "192.168.74.102", fip_ns + "192.168.74.103",
                                            fip_ns + "192.168.74.104"}));
  // Already in place: nothing to announce, whether the plan or the kernel is the "before".
  k.clearOps();
  kernel::Reconciler(k).apply(p);
  kernel::Reconciler(k).apply(p, &p);
  EXPECT_EQ(k.announced(), std::vector<std::string>{});
  // One more floating IP: that one only.
  topo.floating_ips.push_back({.network = "ext-net", .address = Ipv4(0xc0a84a96), .vm = "vm1"});
  plan::HostPlan more = planOf(topo, "compute01");
  kernel::Reconciler(k).apply(more, &p);
  EXPECT_EQ(k.announced(), std::vector<std::string>{fip_ns + "192.168.74.150"});
  // On the network node, the routers' qg- addresses.
  plan::HostPlan ctl = planOf(topo, "controller01");
  FakeKernel k2;
  plug(k2, ctl);
  kernel::Reconciler(k2).apply(ctl);
  ASSERT_EQ(k2.announced().size(), 3u);
  for (const auto& a : k2.announced())
    EXPECT_NE(a.find("|qg-"), std::string::npos) << a;
}

TEST(ReconcileOrdering, RulesComeAfterNftablesAndTheFlushAfterTheRules) {
  auto [with, without] = seedWithAndWithout();
  FakeKernel k;
  plug(k, without);
  kernel::Reconciler rec(k);
  rec.apply(without);
  // vm2 talks to the internet un-NATed until its floating IP comes.
  const plan::FloatingIpNat* fip = nullptr;
  for (const auto& f : with.floating_nat) {
    if (std::none_of(without.floating_nat.begin(), without.floating_nat.end(),
                     [&](const auto& w) { return w == f; }))
      fip = &f;
  }
  ASSERT_NE(fip, nullptr);
  // Incremental, then the same change again through a full reconcile.
  for (bool full : {false, true}) {
    if (full)
      rec.apply(without, &with);
    k.addFlow(fip->ns, fip->fixed, *Ipv4::parse("8.8.8.8"));
    k.clearOps();
    auto r = full ? rec.apply(with) : rec.apply(with, &without);
    const auto& ops = k.ops();
    size_t nft = lastIndex(ops, "nft"), rule = firstIndex(ops, "rule add"),
           last_rule = lastIndex(ops, "rule add"), flush = firstIndex(ops, "conntrack flush");
    ASSERT_LT(rule, ops.size()) << joined(ops);
    ASSERT_LT(flush, ops.size()) << joined(ops);
    EXPECT_LT(nft, rule) << joined(ops);
    EXPECT_LT(last_rule, flush) << joined(ops);
    EXPECT_EQ(flush, ops.size() - 1) << joined(ops);
    EXPECT_EQ(k.flows(fip->ns), 0u);
    EXPECT_NE(joined(r.log).find("conntrack -D -s " + fip->fixed.str()), std::string::npos)
        << joined(r.log);
  }
}

// ---- refusal half-way ----

TEST(ReconcileRefusal, ARunRefusedAtAnyStepIsCompletedByTheNext) {
  plan::HostPlan p = planOf(seedTopology(), "compute01");
  size_t steps = 0;
  {
    FakeKernel k;
    plug(k, p);
    kernel::Reconciler(k).apply(p);
    steps = k.ops().size();
  }
  ASSERT_GT(steps, 20u);
  const auto want = test::expectedDump(p);
  for (size_t n = 1; n <= steps; ++n) {
    FakeKernel k;
    plug(k, p);
    kernel::Reconciler rec(k);
    k.refuseChange(int(n), EIO);
    EXPECT_THROW(rec.apply(p), kernel::KernelError) << "change " << n;
    rec.apply(p);
    ASSERT_EQ(joined(k.dump()), joined(want))
        << "refused at change " << n << " (" << steps << " in all)";
    EXPECT_EQ(rec.apply(p).changes, 0) << "refused at change " << n;
  }
}

}  // namespace
}  // namespace dvr
