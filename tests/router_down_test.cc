// A router that is down (admin_state_up false) in the seed's cloud: as Neutron's L3
// agents drop a router that is not active, no host has its qrouter-, snat- or floating-IP
// path, its VMs have no way off their subnet, and everything else plans as before. Back
// up, the plans are the seed's again. The flag reads from a topology file and survives
// the server's JSON.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "model/topology_json.h"
#include "plan/render.h"
#include "support.h"
#include "trace/tracer.h"

namespace dvr {
namespace {

const std::string kRouter2 = "242fcb80-e9e1-410b-ba4e-7617d1c384ad";
const std::string kRouter3 = "703db450-5b1f-4c2d-9e8a-3f6b7c8d9e01";

model::Topology seedWithRouter2(bool up) {
  model::Topology t = model::loadTopologyFile(testing::sourcePath("examples/seed.yaml"));
  for (auto& r : t.routers) {
    if (r.name == "router2")
      r.admin_state_up = up;
  }
  return t;
}

bool hasNamespace(const plan::HostPlan& p, const std::string& ns) {
  return std::find(p.namespaces.begin(), p.namespaces.end(), ns) != p.namespaces.end();
}

TEST(RouterDown, IsOnNoHostAndTakesItsFloatingIpPathWithIt) {
  model::Cloud c = ipam::resolve(seedWithRouter2(false), "seed");
  auto plans = testing::planAllHosts(c);
  for (const auto& p : plans) {
    EXPECT_FALSE(hasNamespace(p, "qrouter-" + kRouter2)) << p.host;
    EXPECT_FALSE(hasNamespace(p, "snat-" + kRouter2)) << p.host;
    std::string text = plan::renderText(p);
    EXPECT_EQ(text.find("rfp-242fcb80"), std::string::npos) << p.host << "\n" << text;
    EXPECT_EQ(text.find("192.168.74.104"), std::string::npos) << "its floating IP, on " << p.host;
  }
  // The other routers are where they were: router3 and its floating IP on compute01.
  const plan::HostPlan& compute01 = testing::planOf(plans, "compute01");
  EXPECT_TRUE(hasNamespace(compute01, "qrouter-" + kRouter3));
  EXPECT_NE(plan::renderText(compute01).find("192.168.74.102"), std::string::npos);

  trace::TraceRequest out{"vm2", "8.8.8.8", trace::Proto::Icmp, 0, true};
  auto r = trace::tracePacket(c, plans, out);
  EXPECT_FALSE(r.forward.delivered);
  EXPECT_NE(r.forward.verdict.find("router2 is down (admin_state_up false)"), std::string::npos)
      << r.forward.verdict;
  auto in =
      trace::tracePacket(c, plans, {"internet", "192.168.74.104", trace::Proto::Icmp, 0, true});
  EXPECT_FALSE(in.forward.delivered);
  EXPECT_NE(in.forward.verdict.find("ARP for 192.168.74.104"), std::string::npos)
      << in.forward.verdict;
  auto other = trace::tracePacket(c, plans, {"vm3", "8.8.8.8", trace::Proto::Icmp, 0, true});
  EXPECT_TRUE(other.forward.delivered) << other.forward.verdict;
}

TEST(RouterDown, BackUpItPlansAsTheSeedAgain) {
  model::Cloud down = ipam::resolve(seedWithRouter2(false), "seed");
  model::Cloud up = ipam::resolve(seedWithRouter2(true), "seed");
  auto seed = testing::planAllHosts(testing::seedCloud());
  auto again = testing::planAllHosts(up);
  ASSERT_EQ(seed.size(), again.size());
  for (size_t i = 0; i < seed.size(); ++i)
    EXPECT_EQ(plan::renderText(seed[i]), plan::renderText(again[i])) << seed[i].host;
  // Its ports and addresses stayed allocated while it was down.
  EXPECT_EQ(down.ports.size(), up.ports.size());
}

TEST(RouterDown, TheFlagReadsFromAFileAndSurvivesJson) {
  model::Topology t = model::parseTopology(R"(
hosts: [{name: h1, agent_mode: dvr_snat, tunnel_ip: 172.16.0.10}]
networks: [{name: n, subnets: [{name: s, cidr: 10.1.0.0/24}]}]
routers: [{name: r, admin_state_up: false, interfaces: [{subnet: s}]}]
)",
                                           "inline");
  ASSERT_EQ(t.routers.size(), 1u);
  EXPECT_FALSE(t.routers[0].admin_state_up);
  model::Topology back = model::topologyFromJson(model::toJson(t));
  EXPECT_FALSE(back.routers[0].admin_state_up);
  EXPECT_TRUE(
      model::topologyFromJson(model::toJson(seedWithRouter2(true))).routers[1].admin_state_up);
}

}  // namespace
}  // namespace dvr
