// The floating-IP fast path without root: what the planner asks for (programs on the
// right devices, map entries that say what the namespace path does: the same addresses,
// MACs and MTUs as the plan's qrouter- and fip- objects), what it leaves to the namespace
// path and why, how `dvr plan` shows it, and the reconciler applying it on the fake kernel
// (only differences, a removed floating IP's entries gone at once, foreign programs left
// alone, an unresolved next hop waiting without holding the rest).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "fake_kernel.h"
#include "ipam/resolve.h"
#include "kernel/reconciler.h"
#include "kernel/unique_fd.h"
#include "model/topology_yaml.h"
#include "plan/cloud_index.h"
#include "plan/fast_path.h"
#include "plan/names.h"
#include "plan/planner.h"
#include "plan/render.h"
#include "trace/fast_path_note.h"
#include "trace/tracer.h"

namespace dvr {
namespace {

using test::FakeKernel;

std::string source(const std::string& rel) {
  return std::string(DVR_SOURCE_DIR) + "/" + rel;
}

plan::HostPlan fastPlan(const model::Cloud& cloud, const std::string& host) {
  plan::CloudIndex index(cloud);
  plan::HostPlan p = plan::planHost(index, host);
  plan::addFastPath(index, p);
  return p;
}

model::Cloud seedWith(const std::string& from, const std::string& to) {
  std::string text;
  {
    std::ifstream in(source("examples/seed.yaml"));
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto at = text.find(from);
  if (at == std::string::npos)
    throw std::runtime_error("the seed has no '" + from + "'");
  text.replace(at, from.size(), to);
  return ipam::resolve(model::parseTopology(text, "seed-edited.yaml"), "test");
}

const plan::FipFastPath* entry(const plan::HostPlan& p, const std::string& floating) {
  for (const auto& e : p.fast_path.fips) {
    if (e.floating.str() == floating)
      return &e;
  }
  return nullptr;
}

const plan::Link* linkNamed(const plan::HostPlan& p, const std::string& prefix) {
  for (const auto& l : p.links) {
    if (l.name.rfind(prefix, 0) == 0)
      return &l;
  }
  return nullptr;
}

TEST(FastPathPlan, OffUnlessAsked) {
  model::Cloud cloud = ipam::loadCloudFile(source("examples/seed.yaml"));
  plan::CloudIndex index(cloud);
  EXPECT_TRUE(plan::planHost(index, "compute01").fast_path.empty());
  EXPECT_EQ(plan::renderText(plan::planHost(index, "compute01")).find("dvr_fip"),
            std::string::npos);
}

TEST(FastPathPlan, TheSeedsFloatingIpGetsTheNamespacePathsRewrites) {
  model::Cloud cloud = ipam::loadCloudFile(source("examples/seed.yaml"));
  plan::HostPlan p = fastPlan(cloud, "compute01");
  const plan::FipFastPath* e = entry(p, "192.168.74.104");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->fixed.str(), "192.168.111.5");
  // The MACs the namespace path uses: the qr- the VM addresses, the fg- the frame leaves
  // by, both as the plan makes them; the VM's own.
  const plan::Link* fg = linkNamed(p, "fg-");
  ASSERT_NE(fg, nullptr);
  EXPECT_EQ(e->fg_mac, *fg->mac);
  EXPECT_EQ(e->fg_dev, fg->name);
  EXPECT_EQ(e->fip_ns, fg->ns);
  bool qr_found = false;
  for (const auto& l : p.links) {
    if (l.name.rfind("qr-", 0) == 0 && l.mac == e->qr_mac) {
      qr_found = true;
      EXPECT_EQ(e->in_mtu, l.mtu) << "the qr- port's MTU bounds what goes in";
    }
  }
  EXPECT_TRUE(qr_found) << "the entry's qr- MAC is a planned qr- port's";
  EXPECT_EQ(e->out_mtu, fg->mtu);
  EXPECT_EQ(e->vm_mac.str(), "fa:16:3e:a7:06:9e");  // vm2's, as the seed lists it
  EXPECT_EQ(e->next_hop.str(), "192.168.74.1");
  EXPECT_EQ(e->ext_dev, "eth1");
  // The namespace path keeps the router's subnet, the external subnet, link-local.
  std::vector<std::string> local;
  for (const auto& c : e->keep_local)
    local.push_back(c.str());
  EXPECT_EQ(local,
            (std::vector<std::string>{"169.254.0.0/16", "192.168.74.0/24", "192.168.111.0/24"}));
}

TEST(FastPathPlan, ProgramsGoOnTheTapsOfFloatingIpVmsAndTheExternalDevice) {
  model::Cloud cloud = ipam::loadCloudFile(source("examples/seed.yaml"));
  plan::HostPlan p = fastPlan(cloud, "compute01");
  std::vector<std::string> got;
  for (const auto& a : p.fast_path.attach) {
    if (a.program != plan::kEastWestProgram && a.program != plan::kSnatProgram)  // their tests'

      got.push_back(a.dev + " " + a.program);
  }
  std::vector<std::string> want;
  for (const auto& e : p.fast_path.fips)
    want.push_back(e.vm_dev + " dvr_fip_out");
  want.push_back("eth1 dvr_fip_in");
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(p.fast_path.fips.size(), 2u);  // vm2's and vm3's
  // compute02 and the controller hold no floating IP: nothing there (compute02's vm4 is
  // router1's: east-west only).
  EXPECT_TRUE(fastPlan(cloud, "compute02").fast_path.fips.empty());
  EXPECT_TRUE(fastPlan(cloud, "controller01").fast_path.empty());
}

TEST(FastPathPlan, AFilteredPortStaysOnTheNamespacePathAndThePlanSaysWhy) {
  model::Cloud cloud = ipam::loadCloudFile(source("examples/security-groups.yaml"));
  plan::HostPlan p = fastPlan(cloud, "compute01");
  for (const auto& e : p.fast_path.fips)
    EXPECT_EQ(p.port_filter.findByDev(e.vm_dev), nullptr) << e.vm_dev << " is filtered";
  ASSERT_FALSE(p.fast_path.left_out.empty());
  EXPECT_EQ(p.fast_path.left_out[0].second, "filtered by security groups");
  std::string text = plan::renderText(p);
  EXPECT_NE(text.find("namespace path only (filtered by security groups)"), std::string::npos)
      << text;
}

TEST(FastPathPlan, DvrPlanShowsFiltersAndMapEntries) {
  model::Cloud cloud = ipam::loadCloudFile(source("examples/seed.yaml"));
  std::string text = plan::renderText(fastPlan(cloud, "compute01"));
  EXPECT_NE(text.find("filter dev eth1 ingress bpf direct-action dvr_fip_in"), std::string::npos)
      << text;
  EXPECT_NE(text.find("key: eth1 192.168.74.104  value: dnat 192.168.111.5"), std::string::npos)
      << text;
  EXPECT_NE(text.find("value: snat 192.168.74.104 dev eth1"), std::string::npos) << text;
}

TEST(FastPathPlan, ARemovedFloatingIpHasNoEntry) {
  model::Cloud cloud = seedWith("  - {network: ext-net, address: 192.168.74.102, vm: vm3}\n", "");
  plan::HostPlan p = fastPlan(cloud, "compute01");
  EXPECT_EQ(entry(p, "192.168.74.102"), nullptr);
  EXPECT_NE(entry(p, "192.168.74.104"), nullptr);
  EXPECT_EQ(std::count_if(p.fast_path.attach.begin(), p.fast_path.attach.end(),
                          [](const auto& a) {
                            return a.program == plan::kFipOutProgram ||
                                   a.program == plan::kFipInProgram;
                          }),
            2);  // vm2's tap and eth1
}

// ---- the reconciler on the fake kernel ----

void plug(FakeKernel& k, const plan::HostPlan& p) {
  for (const auto& l : p.links) {
    if (l.kind == plan::LinkKind::Adopted && !k.hasLink(l.ns, l.name))
      k.addDevice(l.ns, l.name);
  }
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines)
    out += l + "\n";
  return out;
}

size_t countPrefix(const std::vector<std::string>& ops, const std::string& prefix) {
  size_t n = 0;
  for (const auto& o : ops)
    n += o.rfind(prefix, 0) == 0;
  return n;
}

TEST(FastPathReconcile, MakesExactlyThePlannedEntriesAndThenNothing) {
  model::Cloud cloud = ipam::loadCloudFile(source("examples/seed.yaml"));
  plan::HostPlan p = fastPlan(cloud, "compute01");
  FakeKernel k;
  plug(k, p);
  kernel::Reconciler rec(k);
  rec.apply(p);
  EXPECT_EQ(joined(k.dump()), joined(test::expectedDump(p)));
  EXPECT_EQ(k.fastPathEntries().size(), 2u);
  auto again = rec.apply(p);
  EXPECT_EQ(again.changes, 0) << joined(again.log);
  auto incremental = rec.apply(p, &p);
  EXPECT_EQ(incremental.changes, 0) << joined(incremental.log);
}

TEST(FastPathReconcile, EntriesComeOnceTheNamespacePathIsComplete) {
  model::Cloud cloud = ipam::loadCloudFile(source("examples/seed.yaml"));
  plan::HostPlan p = fastPlan(cloud, "compute01");
  FakeKernel k;
  plug(k, p);
  kernel::Reconciler(k).apply(p);
  const auto& ops = k.ops();
  size_t first_fast = ops.size(), last_rule = 0, last_nft = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].rfind("fastpath", 0) == 0 && first_fast == ops.size())
      first_fast = i;
    if (ops[i].rfind("rule add", 0) == 0)
      last_rule = i;
    if (ops[i].rfind("nft", 0) == 0)
      last_nft = i;
  }
  ASSERT_LT(first_fast, ops.size());
  EXPECT_GT(first_fast, last_rule);
  EXPECT_GT(first_fast, last_nft);
}

TEST(FastPathReconcile, ARemovedFloatingIpLosesItsEntryAndItsTapsProgramAtOnce) {
  model::Cloud before_cloud = ipam::loadCloudFile(source("examples/seed.yaml"));
  plan::HostPlan before = fastPlan(before_cloud, "compute01");
  model::Cloud after_cloud =
      seedWith("  - {network: ext-net, address: 192.168.74.102, vm: vm3}\n", "");
  plan::HostPlan after = fastPlan(after_cloud, "compute01");
  const plan::FipFastPath* gone = entry(before, "192.168.74.102");
  ASSERT_NE(gone, nullptr);
  for (bool incremental : {true, false}) {
    FakeKernel k;
    plug(k, before);
    kernel::Reconciler rec(k);
    rec.apply(before);
    k.clearOps();
    auto r = incremental ? rec.apply(after, &before) : rec.apply(after);
    EXPECT_EQ(countPrefix(k.ops(), "fastpath fip del 192.168.74.102 "), 1u) << joined(k.ops());
    EXPECT_EQ(countPrefix(k.ops(), "fastpath detach " + gone->vm_dev + "|dvr_fip_out"), 1u)
        << joined(k.ops());
    EXPECT_EQ(countPrefix(k.ops(), "fastpath fip add"), 0u) << "the other entry is untouched";
    EXPECT_EQ(joined(k.dump()), joined(test::expectedDump(after)));
  }
}

TEST(FastPathReconcile, TurnedOffRemovesEverythingItMade) {
  model::Cloud cloud = ipam::loadCloudFile(source("examples/seed.yaml"));
  plan::HostPlan on = fastPlan(cloud, "compute01");
  plan::CloudIndex index(cloud);
  plan::HostPlan off = plan::planHost(index, "compute01");
  FakeKernel k;
  plug(k, on);
  kernel::Reconciler rec(k);
  rec.apply(on);
  rec.apply(off);
  EXPECT_TRUE(k.fastPathEntries().empty());
  EXPECT_EQ(joined(k.dump()), joined(test::expectedDump(off)));
}

TEST(FastPathReconcile, AnUnresolvedNextHopWaitsWithoutHoldingTheRest) {
  model::Cloud cloud = ipam::loadCloudFile(source("examples/seed.yaml"));
  plan::HostPlan p = fastPlan(cloud, "compute01");
  FakeKernel k;
  plug(k, p);
  k.unresolveNextHop(*Ipv4::parse("192.168.74.1"));
  kernel::Reconciler rec(k);
  auto r = rec.apply(p);
  EXPECT_TRUE(k.fastPathEntries().empty()) << "no half entry: neither direction";
  EXPECT_TRUE(r.waiting.empty()) << joined(r.waiting);
  ASSERT_EQ(r.unresolved.size(), 2u);
  EXPECT_EQ(r.unresolved[0].rfind("192.168.74.1 in fip-", 0), 0u) << r.unresolved[0];
  k.resolveNextHop(*Ipv4::parse("192.168.74.1"));
  r = rec.apply(p, &p);
  EXPECT_TRUE(r.unresolved.empty());
  EXPECT_EQ(k.fastPathEntries().size(), 2u);
}

TEST(FastPathReconcile, AForeignProgramAtDvrsPlaceIsAnErrorNamingTheDevice) {
  model::Cloud cloud = ipam::loadCloudFile(source("examples/seed.yaml"));
  plan::HostPlan p = fastPlan(cloud, "compute01");
  FakeKernel k;
  plug(k, p);
  k.addForeignFilter("eth1");
  try {
    kernel::Reconciler(k).apply(p);
    FAIL() << "applied over a foreign program";
  } catch (const kernel::KernelError& e) {
    EXPECT_NE(std::string(e.what()).find("eth1"), std::string::npos) << e.what();
    EXPECT_EQ(e.err(), EEXIST);
  }
}

TEST(FastPathReconcile, AVmNotPluggedYetWaits) {
  model::Cloud cloud = ipam::loadCloudFile(source("examples/seed.yaml"));
  plan::HostPlan p = fastPlan(cloud, "compute01");
  FakeKernel k;
  plug(k, p);
  const std::string tap = entry(p, "192.168.74.104")->vm_dev;
  k.removeDevice("", tap);
  auto r = kernel::Reconciler(k).apply(p);
  EXPECT_NE(std::find(r.waiting.begin(), r.waiting.end(), tap), r.waiting.end());
  EXPECT_EQ(k.fastPathEntries().size(), 1u);  // vm3's
}

}  // namespace
}  // namespace dvr

namespace dvr {
namespace {

// All decisions of a path, one a line, with the hop they were made at.
std::string decisions(const trace::Path& path) {
  std::string out;
  for (const auto& h : path.hops) {
    for (const auto& d : h.decisions)
      out += h.where + ": " + d + "\n";
  }
  return out;
}

// The seed's plans with the fast path and without it.
struct SeedPlans {
  explicit SeedPlans(const model::Cloud& cloud) {
    plan::CloudIndex index(cloud);
    plain = plan::planAll(index);
    fast = plain;
    for (auto& p : fast)
      plan::addFastPath(index, p);
  }
  std::vector<plan::HostPlan> plain, fast;
};

// A packet's trace with the fast path's notes.
trace::TraceResult traced(const model::Cloud& cloud, const std::vector<plan::HostPlan>& plans,
                          const trace::TraceRequest& packet) {
  auto r = trace::tracePacket(cloud, plans, packet);
  trace::noteFastPath(r, plans);
  return r;
}

TEST(FastPathTrace, SaysWhichHopsAFloatingIpsPacketSkipsBothWays) {
  const model::Cloud cloud = ipam::loadCloudFile(source("examples/seed.yaml"));
  SeedPlans seed(cloud);
  auto& plans = seed.fast;
  auto r = traced(cloud, plans, {.from = "vm2", .to = "8.8.8.8"});
  std::string fwd = decisions(r.forward);
  EXPECT_NE(
      fwd.find("fast path: dvr_fip_out at the ingress of tap63753c83-2d (SNAT 192.168.111.5 -> "
               "192.168.74.104, TTL -2, out of eth1), skipping this bridge, qrouter-242fcb80"),
      std::string::npos)
      << fwd;
  EXPECT_NE(fwd.find("fip-5a1e2b3c-4d5e-4f60-8a71-92b3c4d5e6f7: skipped on the fast path"),
            std::string::npos)
      << fwd;
  ASSERT_TRUE(r.reply);
  std::string back = decisions(*r.reply);
  EXPECT_NE(
      back.find(
          "fast path: dvr_fip_in at the ingress of eth1 (DNAT 192.168.74.104 -> 192.168.111.5"),
      std::string::npos)
      << back;
  // vm1 has no floating IP (SNAT on the controller): not dvr_fip_out's. Without the fast
  // path planned nothing is said.
  auto snat = traced(cloud, plans, {.from = "vm1", .to = "8.8.8.8"});
  EXPECT_EQ(decisions(snat.forward).find("dvr_fip_out"), std::string::npos);
  const auto& plain_plans = seed.plain;
  auto plain = traced(cloud, plain_plans, {.from = "vm2", .to = "8.8.8.8"});
  EXPECT_EQ(decisions(plain.forward).find("fast path"), std::string::npos);
}

TEST(FastPathTrace, SaysWhichHopsAnEastWestPacketSkipsAcrossHostsAndWhyOneFallsBack) {
  const model::Cloud cloud = ipam::loadCloudFile(source("examples/seed.yaml"));
  SeedPlans seed(cloud);
  auto& plans = seed.fast;
  auto r = traced(cloud, plans, {.from = "vm1", .to = "vm4"});
  std::string fwd = decisions(r.forward);
  // compute01: the program routes vm1's frame itself, with compute01's DVR MAC as source
  // (what the bridge's rewrite sets), straight to the VXLAN device's egress.
  EXPECT_NE(fwd.find("fast path: dvr_ew_out at the ingress of tapdef28f91-10 (dvr_ew_dst "
                     "router "),
            std::string::npos)
      << fwd;
  EXPECT_NE(fwd.find(" 10.16.1.3: src fa:16:3f:86:5c:5c dst fa:16:3e:cf:7e:c1, TTL -1, redirect "
                     "to vxlan-1002 egress, VXLAN to 172.16.0.12), skipping this bridge, "
                     "qrouter-13fe8525-da22-42de-aeb6-84f41a3b607d, bridge brq10415e47-1b"),
            std::string::npos)
      << fwd;
  EXPECT_NE(fwd.find("qrouter-13fe8525-da22-42de-aeb6-84f41a3b607d: skipped on the fast path "
                     "(dvr_ew_out"),
            std::string::npos)
      << fwd;
  ASSERT_TRUE(r.reply);
  EXPECT_NE(decisions(*r.reply).find("fast path: dvr_ew_out at the ingress of tap56705043-ee"),
            std::string::npos)
      << decisions(*r.reply);
  // A destination the map lacks: the namespace path, and the trace says why.
  for (auto& p : plans) {
    if (p.host == "compute01")
      std::erase_if(p.fast_path.ew_dests,
                    [](const plan::EastWestDest& d) { return d.ip.str() == "10.16.1.3"; });
  }
  auto fell = traced(cloud, plans, {.from = "vm1", .to = "vm4"});
  std::string back = decisions(fell.forward);
  EXPECT_EQ(back.find("fast path: dvr_ew_out"), std::string::npos) << back;
  EXPECT_NE(back.find("namespace path: dvr_ew_out at the ingress of tapdef28f91-10 has no "
                      "dvr_ew_dst entry for router "),
            std::string::npos)
      << back;
  // Without the fast path planned, nothing is said.
  const auto& plain_plans = seed.plain;
  auto plain = traced(cloud, plain_plans, {.from = "vm1", .to = "vm4"});
  EXPECT_EQ(decisions(plain.forward).find("dvr_ew_out"), std::string::npos);
}

TEST(FastPathTrace, SaysWhichHopsTheComputeSideOfTheSnatPathSkips) {
  const model::Cloud cloud = ipam::loadCloudFile(source("examples/seed.yaml"));
  SeedPlans seed(cloud);
  auto& plans = seed.fast;
  auto r = traced(cloud, plans, {.from = "vm1", .to = "8.8.8.8"});
  std::string fwd = decisions(r.forward);
  // compute01: dvr_ew_out passes it on (no VM of router1), dvr_snat_out sends what
  // qrouter- and the bridge would: DVR MAC to the sg- MAC, to vxlan-1001, for controller01.
  EXPECT_NE(fwd.find("dvr_ew_out at the ingress of tapdef28f91-10 has no dvr_ew_dst entry for "
                     "router "),
            std::string::npos)
      << fwd;
  EXPECT_NE(fwd.find(" 8.8.8.8: passed on to dvr_snat_out"), std::string::npos) << fwd;
  EXPECT_NE(fwd.find("fast path: dvr_snat_out at the ingress of tapdef28f91-10 (dvr_snat_port: "
                     "src fa:16:3f:86:5c:5c dst fa:16:3e:6b:0f:63 (sg- 10.16.0.2), TTL -1, "
                     "redirect to vxlan-1001 egress, VXLAN 1001 to 172.16.0.10 (controller01), "
                     "where snat- does the SNAT), skipping this bridge, "
                     "qrouter-13fe8525-da22-42de-aeb6-84f41a3b607d, bridge brqdb0062a0-50"),
            std::string::npos)
      << fwd;
  EXPECT_NE(fwd.find("qrouter-13fe8525-da22-42de-aeb6-84f41a3b607d: skipped on the fast path "
                     "(dvr_snat_out"),
            std::string::npos)
      << fwd;
  // The network node's hops are its own: snat- is not skipped.
  EXPECT_EQ(fwd.find("snat-13fe8525-da22-42de-aeb6-84f41a3b607d: skipped"), std::string::npos)
      << fwd;
  // A destination qrouter- keeps (vm4, on router1's other subnet) is not dvr_snat_out's.
  EXPECT_EQ(
      decisions(traced(cloud, plans, {.from = "vm1", .to = "vm4"}).forward).find("dvr_snat_out"),
      std::string::npos);
  // Without the fast path planned, nothing is said.
  auto plain = traced(cloud, seed.plain, {.from = "vm1", .to = "8.8.8.8"});
  EXPECT_EQ(decisions(plain.forward).find("dvr_snat_out"), std::string::npos);
}

}  // namespace
}  // namespace dvr
