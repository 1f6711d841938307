// A centralized router (Neutron's legacy router, examples/centralized.yaml) walked through
// the planned hosts: everything is routed and NATed in its qrouter- on controller01, a
// VM's floating IP is its only source NAT (not the router's gateway address as well), the
// external gateway finds a floating IP by ARP on the router's qg-, and a floating IP on a
// port's second fixed IP reaches that VM and its reply leaves from it.
#include <gtest/gtest.h>

#include <algorithm>

#include "ipam/resolve.h"
#include "model/topology_yaml.h"
#include "support.h"
#include "trace/tracer.h"

namespace dvr {
namespace {

class CentralizedTrace : public ::testing::Test {
 protected:
  model::Cloud cloud = ipam::resolve(
      model::loadTopologyFile(testing::sourcePath("examples/centralized.yaml")), "centralized");
  std::vector<plan::HostPlan> plans = testing::planAllHosts(cloud);

  trace::TraceResult run(const std::string& from, const std::string& to) {
    return trace::tracePacket(cloud, plans, {from, to, trace::Proto::Tcp, uint16_t(80), true});
  }
  const trace::Hop* hopIn(const trace::Path& p, const std::string& where_prefix) {
    for (const auto& h : p.hops) {
      if (h.where.rfind(where_prefix, 0) == 0)
        return &h;
    }
    return nullptr;
  }
  static bool decided(const trace::Hop& h, const std::string& text) {
    return std::any_of(h.decisions.begin(), h.decisions.end(),
                       [&](const std::string& d) { return d.find(text) != std::string::npos; });
  }
};

TEST_F(CentralizedTrace, AFloatingIpIsTheOnlySourceNatOnTheWayOut) {
  auto r = run("vm1", "8.8.8.8");
  ASSERT_TRUE(r.forward.delivered) << r.forward.verdict;
  const trace::Hop* router = hopIn(r.forward, "qrouter-");
  ASSERT_NE(router, nullptr);
  EXPECT_EQ(router->host, "controller01") << "a centralized router routes on its host only";
  EXPECT_TRUE(decided(*router, "snat to 192.168.74.110 (map @fip_snat"));
  EXPECT_FALSE(decided(*router, "snat to 192.168.74.103"))
      << "the router's own SNAT does not apply to a connection the floating IP bound";
  EXPECT_EQ(r.forward.hops.back().packet.src_ip.str(), "192.168.74.110");
  ASSERT_TRUE(r.reply && r.reply->delivered);
  EXPECT_EQ(r.reply->hops.back().packet.dst_ip.str(), "10.16.0.5");
}

TEST_F(CentralizedTrace, WithoutAFloatingIpTheRoutersGatewayAddressIsTheSource) {
  cloud.floating_ips.erase(cloud.floating_ips.begin());  // vm1's
  plans = testing::planAllHosts(cloud);
  auto r = run("vm1", "8.8.8.8");
  ASSERT_TRUE(r.forward.delivered) << r.forward.verdict;
  EXPECT_EQ(r.forward.hops.back().packet.src_ip.str(), "192.168.74.103");
}

TEST_F(CentralizedTrace, InboundToAFloatingIpOnASecondFixedIpAndItsReply) {
  auto r = run("internet", "192.168.74.111");
  ASSERT_TRUE(r.forward.delivered) << r.forward.verdict;
  const trace::Hop& gateway = r.forward.hops[1];
  EXPECT_TRUE(decided(gateway, "ARP 192.168.74.111 is-at")) << "answered on the router's qg-";
  EXPECT_TRUE(decided(gateway, "(controller01)"));
  const trace::Hop* router = hopIn(r.forward, "qrouter-");
  ASSERT_NE(router, nullptr);
  EXPECT_TRUE(decided(*router, "dnat to 10.17.0.6"));
  EXPECT_EQ(r.forward.hops.back().host, "vm2");
  EXPECT_EQ(r.forward.hops.back().packet.dst_ip.str(), "10.17.0.6");
  ASSERT_TRUE(r.reply && r.reply->delivered) << "vm2 answers from its second address";
  EXPECT_EQ(r.reply->hops.front().packet.src_ip.str(), "10.17.0.6");
  EXPECT_EQ(r.reply->hops.back().packet.src_ip.str(), "192.168.74.111");
  EXPECT_EQ(r.reply->hops.back().packet.dst_ip.str(), "8.8.8.8");
}

}  // namespace
}  // namespace dvr
