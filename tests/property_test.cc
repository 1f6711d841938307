// Properties over generated clouds: determinism, uniqueness of what must be unique on a
// host, and every floating IP reachable both ways through its own host.
#include <gtest/gtest.h>

#include <set>

#include "ipam/resolve.h"
#include "ipam/synthetic.h"
#include "plan/cloud_index.h"
#include "plan/planner.h"
#include "plan/render.h"
#include "trace/tracer.h"

namespace dvr {
namespace {

struct Case {
  ipam::SyntheticSize size;
};

class GeneratedCloud : public ::testing::TestWithParam<uint64_t> {
 protected:
  ipam::SyntheticSize size() const {
    return {.hosts = 7, .routers = 9, .vms = 80, .floating_ips = 16, .seed = GetParam()};
  }
};

TEST_P(GeneratedCloud, PlansAreDeterministic) {
  auto a = ipam::resolve(ipam::syntheticTopology(size()), "gen");
  auto b = ipam::resolve(ipam::syntheticTopology(size()), "gen");
  plan::CloudIndex ia(a), ib(b);
  auto pa = plan::planAll(ia, 2), pb = plan::planAll(ib, 1);
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i)
    EXPECT_EQ(plan::renderJson(pa[i]), plan::renderJson(pb[i]));
}

TEST_P(GeneratedCloud, NamesMacsAndLinkLocalPairsAreUniquePerHost) {
  auto cloud = ipam::resolve(ipam::syntheticTopology(size()), "gen");
  std::set<Mac> macs;
  for (const auto& p : cloud.ports)
    EXPECT_TRUE(macs.insert(p.mac).second) << p.mac.str();
  std::set<Mac> dvr_macs;
  for (const auto& h : cloud.hosts)
    EXPECT_TRUE(dvr_macs.insert(h.dvr_mac).second);
  plan::CloudIndex index(cloud);
  for (const auto& p : plan::planAll(index)) {
    std::set<std::pair<std::string, std::string>> names;
    std::set<Mac> link_macs;
    for (const auto& l : p.links) {
      EXPECT_TRUE(names.emplace(l.ns, l.name).second) << p.host << " " << l.ns << " " << l.name;
      EXPECT_LE(l.name.size(), 14u);
      if (l.mac)
        EXPECT_TRUE(link_macs.insert(*l.mac).second || l.name.rfind("qr-", 0) == 0) << l.name;
    }
    std::set<uint32_t> pairs;
    for (const auto& a : p.addresses) {
      if (a.dev.rfind("rfp-", 0) == 0 && a.cidr.len == 31)
        EXPECT_TRUE(pairs.insert(a.cidr.addr.value()).second) << p.host;
    }
    std::set<std::pair<std::string, uint32_t>> prios;
    for (const auto& r : p.rules)
      EXPECT_TRUE(prios.emplace(r.ns, r.priority).second) << p.host << " " << r.priority;
  }
}

TEST_P(GeneratedCloud, EveryFloatingIpIsReachableBothWaysThroughItsHost) {
  auto cloud = ipam::resolve(ipam::syntheticTopology(size()), "gen");
  plan::CloudIndex index(cloud);
  auto plans = plan::planAll(index);
  ASSERT_FALSE(cloud.floating_ips.empty());
  for (const auto& fip : cloud.floating_ips) {
    const auto& vm = cloud.ports[*fip.port];
    auto out =
        trace::tracePacket(cloud, plans, {vm.name, "internet", trace::Proto::Tcp, 443, true});
    ASSERT_TRUE(out.forward.delivered) << vm.name << ": " << out.forward.verdict;
    const auto& last = out.forward.hops.back();
    EXPECT_EQ(last.packet.src_ip, fip.address) << vm.name;
    // It left through the uplink of the VM's own host.
    const auto& uplink_hop = out.forward.hops[out.forward.hops.size() - 2];
    EXPECT_EQ(uplink_hop.host, vm.host) << vm.name;
    ASSERT_TRUE(out.reply && out.reply->delivered) << out.reply->verdict;
    auto in = trace::tracePacket(cloud, plans,
                                 {"internet", fip.address.str(), trace::Proto::Tcp, 22, true});
    ASSERT_TRUE(in.forward.delivered) << fip.address.str() << ": " << in.forward.verdict;
    EXPECT_EQ(in.forward.verdict, "delivered to " + vm.name + " (" + vm.ip.str() + ")");
  }
}

TEST_P(GeneratedCloud, VmsWithoutFloatingIpLeaveThroughSnat) {
  auto cloud = ipam::resolve(ipam::syntheticTopology(size()), "gen");
  plan::CloudIndex index(cloud);
  auto plans = plan::planAll(index);
  std::set<size_t> with_fip;
  for (const auto& f : cloud.floating_ips)
    with_fip.insert(*f.port);
  int checked = 0;
  for (size_t i = 0; i < cloud.ports.size() && checked < 10; ++i) {
    const auto& p = cloud.ports[i];
    if (p.device_owner != model::kOwnerCompute || with_fip.count(i))
      continue;
    auto r = trace::tracePacket(cloud, plans, {p.name, "internet", trace::Proto::Icmp, 0, true});
    ASSERT_TRUE(r.forward.delivered && r.reply && r.reply->delivered)
        << p.name << ": " << r.forward.verdict;
    EXPECT_EQ(r.forward.hops[r.forward.hops.size() - 2].host.rfind("network", 0), 0u);
    ++checked;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, GeneratedCloud, ::testing::Values(1, 2, 3, 42));

}  // namespace
}  // namespace dvr
