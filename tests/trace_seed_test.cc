// The seed's two North-South cases, their replies, inbound to a floating IP, east-west
// and isolation, walked through the planned hosts: every hop and every rewrite.
#include <gtest/gtest.h>

#include "model/error.h"
#include "support.h"
#include "trace/tracer.h"

namespace dvr {
namespace {

using trace::Hop;
using trace::Path;

class SeedTrace : public ::testing::Test {
 protected:
  model::Cloud cloud = testing::seedCloud();
  std::vector<plan::HostPlan> plans = testing::planAllHosts(cloud);

  trace::TraceResult run(const std::string& from, const std::string& to,
                         trace::Proto proto = trace::Proto::Icmp) {
    return trace::tracePacket(
        cloud, plans,
        {from, to, proto, proto == trace::Proto::Icmp ? uint16_t(0) : uint16_t(80), true});
  }
  const model::Port& port(const std::string& owner, const std::string& device_id,
                          const std::string& host = "") {
    for (const auto& p : cloud.ports) {
      if (p.device_owner == owner && p.device_id.rfind(device_id, 0) == 0 &&
          (host.empty() || p.host == host))
        return p;
    }
    throw std::runtime_error("no port");
  }
  static std::string where(const Hop& h) { return h.host + " " + h.where; }
  // The hops' "host where" labels, in order.
  static std::vector<std::string> route(const Path& p) {
    std::vector<std::string> out;
    for (const auto& h : p.hops)
      out.push_back(where(h));
    return out;
  }
};

const std::string kSnat1 = "snat-13fe8525-da22-42de-aeb6-84f41a3b607d";
const std::string kQrouter1 = "qrouter-13fe8525-da22-42de-aeb6-84f41a3b607d";
const std::string kQrouter2 = "qrouter-242fcb80-e9e1-410b-ba4e-7617d1c384ad";
const std::string kFip = "fip-5a1e2b3c-4d5e-4f60-8a71-92b3c4d5e6f7";

TEST_F(SeedTrace, Case1NoFloatingIpLeavesThroughTheControllerSnat) {
  auto r = run("vm1", "8.8.8.8");
  const Path& f = r.forward;
  ASSERT_TRUE(f.delivered) << f.verdict;
  const auto& vm1 = *cloud.findVm("vm1");
  const auto& sg = port(model::kOwnerSnat, "13fe8525", "controller01");
  const auto& qg = port(model::kOwnerRouterGateway, "13fe8525");
  ASSERT_EQ(f.hops.size(), 9u);
  // 1. VM#1 sends to its gateway's MAC, with its own src IP/MAC.
  EXPECT_EQ(f.hops[0].packet.src_mac, vm1.mac);
  EXPECT_EQ(f.hops[0].packet.dst_mac.str(), "fa:16:3e:84:64:cc");
  EXPECT_EQ(f.hops[0].packet.src_ip.str(), "10.16.0.3");
  // 2. In the qrouter the dst MAC becomes the sg- port's (SNAT redirect rule, permanent neighbour).
  EXPECT_EQ(where(f.hops[2]), "compute01 " + kQrouter1);
  EXPECT_EQ(f.hops[2].out_dev, "qr-85285e17-5d");
  EXPECT_EQ(f.hops[2].packet.dst_mac, sg.mac);
  EXPECT_EQ(f.hops[2].packet.src_ip.str(), "10.16.0.3");
  // 3. Leaving compute01 for the tunnel, src MAC := compute01's DVR MAC.
  EXPECT_EQ(f.hops[3].out_dev, "vxlan-1001");
  EXPECT_EQ(f.hops[3].packet.src_mac.str(), "fa:16:3f:86:5c:5c");
  EXPECT_TRUE(f.hops[3].changed & trace::kSrcMac);
  // The underlay carries it from compute01 to controller01.
  ASSERT_TRUE(f.hops[4].encap);
  EXPECT_EQ(f.hops[4].encap->src.str(), "172.16.0.11");
  EXPECT_EQ(f.hops[4].encap->dst.str(), "172.16.0.10");
  EXPECT_EQ(f.hops[4].encap->vni, 1001u);
  EXPECT_EQ(f.hops[4].packet.src_mac.str(), "fa:16:3f:86:5c:5c");
  EXPECT_EQ(f.hops[4].packet.dst_mac, sg.mac);
  // 4. It reaches sg- on controller01.
  EXPECT_EQ(where(f.hops[6]), "controller01 " + kSnat1);
  EXPECT_EQ(f.hops[6].in_dev.substr(0, 3), "sg-");
  // 5./6. SNAT to qg-, out qg- to the gateway.
  EXPECT_EQ(f.hops[6].out_dev.substr(0, 3), "qg-");
  EXPECT_EQ(f.hops[6].packet.src_ip, qg.ip);
  EXPECT_EQ(f.hops[6].packet.src_mac, qg.mac);
  EXPECT_EQ(f.hops[6].packet.dst_mac, cloud.findSubnet("ext-subnet")->gateway_mac);
  EXPECT_EQ(f.hops[7].out_dev, "eth1");
  EXPECT_EQ(f.hops[7].host, "controller01");
  EXPECT_EQ(f.verdict, "delivered to internet (8.8.8.8)");
}

TEST_F(SeedTrace, Case1ReplyIsUnNatedAndGoesStraightBackToTheVmHost) {
  auto r = run("vm1", "8.8.8.8");
  ASSERT_TRUE(r.reply);
  const Path& b = *r.reply;
  ASSERT_TRUE(b.delivered) << b.verdict;
  auto hops = route(b);
  EXPECT_EQ(hops[3], "controller01 " + kSnat1);
  EXPECT_EQ(b.hops[3].packet.dst_ip.str(), "10.16.0.3");  // conntrack un-SNAT
  EXPECT_EQ(b.hops[5].encap->dst.str(), "172.16.0.11");   // no detour through compute01's qrouter
  for (const auto& h : hops)
    EXPECT_EQ(h.find("qrouter-"), std::string::npos) << h;
  EXPECT_EQ(b.verdict, "delivered to vm1 (10.16.0.3)");
}

TEST_F(SeedTrace, Case2FloatingIpLeavesFromTheComputeNode) {
  auto r = run("vm2", "8.8.8.8", trace::Proto::Tcp);
  const Path& f = r.forward;
  ASSERT_TRUE(f.delivered) << f.verdict;
  ASSERT_EQ(f.hops.size(), 6u);
  EXPECT_EQ(f.hops[0].packet.dst_mac.str(), "fa:16:3e:ac:30:ff");
  // 2. In the qrouter: dst MAC := fpr-'s, src IP/MAC := rfp-'s / the floating IP.
  const auto* fpr = testing::planOf(plans, "compute01").findLink(kFip, "fpr-242fcb80-e");
  const auto* rfp = testing::planOf(plans, "compute01").findLink(kQrouter2, "rfp-242fcb80-e");
  ASSERT_TRUE(fpr && rfp);
  EXPECT_EQ(where(f.hops[2]), "compute01 " + kQrouter2);
  EXPECT_EQ(f.hops[2].out_dev, "rfp-242fcb80-e");
  EXPECT_EQ(f.hops[2].packet.dst_mac, *fpr->mac);
  EXPECT_EQ(f.hops[2].packet.src_mac, *rfp->mac);
  EXPECT_EQ(f.hops[2].packet.src_ip.str(), "192.168.74.104");
  // 3. In fip-: src MAC := fg-'s, dst MAC := the default gateway's.
  EXPECT_EQ(where(f.hops[3]), "compute01 " + kFip);
  EXPECT_EQ(f.hops[3].out_dev, "fg-6e12764c-ba");
  EXPECT_EQ(f.hops[3].packet.src_mac.str(), "fa:16:3e:d2:85:89");
  EXPECT_EQ(f.hops[3].packet.dst_mac, cloud.findSubnet("ext-subnet")->gateway_mac);
  // 4. Out of compute01's uplink, never through controller01.
  EXPECT_EQ(f.hops[4].host, "compute01");
  EXPECT_EQ(f.hops[4].out_dev, "eth1");
  for (const auto& h : f.hops)
    EXPECT_NE(h.host, "controller01");
}

TEST_F(SeedTrace, Case2ReplyComesBackThroughFipAndDnat) {
  auto r = run("vm2", "8.8.8.8");
  ASSERT_TRUE(r.reply && r.reply->delivered) << (r.reply ? r.reply->verdict : "");
  EXPECT_EQ(r.reply->hops[1].packet.dst_mac.str(), "fa:16:3e:d2:85:89");  // proxy ARP on fg-
  EXPECT_EQ(where(r.reply->hops[3]), "compute01 " + kFip);
  EXPECT_EQ(r.reply->hops[4].packet.dst_ip.str(), "192.168.111.5");
  EXPECT_EQ(r.reply->verdict, "delivered to vm2 (192.168.111.5)");
}

TEST_F(SeedTrace, InboundConnectionToTheFloatingIp) {
  auto r = run("internet", "192.168.74.104", trace::Proto::Tcp);
  ASSERT_TRUE(r.forward.delivered) << r.forward.verdict;
  EXPECT_EQ(r.forward.verdict, "delivered to vm2 (192.168.111.5)");
  EXPECT_EQ(r.forward.hops.back().packet.src_ip.str(), "8.8.8.8");  // vm2 sees the real source
  ASSERT_TRUE(r.reply && r.reply->delivered);
  EXPECT_EQ(r.reply->hops.back().packet.src_ip.str(), "192.168.74.104");  // un-DNAT on the way out
}

TEST_F(SeedTrace, EastWestIsRoutedOnTheSendersHost) {
  auto r = run("vm1", "vm4");
  const Path& f = r.forward;
  ASSERT_TRUE(f.delivered) << f.verdict;
  EXPECT_EQ(where(f.hops[2]), "compute01 " + kQrouter1);
  EXPECT_EQ(f.hops[3].packet.src_mac.str(), "fa:16:3f:86:5c:5c");  // DVR MAC on the wire
  EXPECT_EQ(f.hops[4].encap->dst.str(), "172.16.0.12");
  // compute02 restores the subnet's gateway MAC before delivery.
  EXPECT_EQ(f.hops[5].packet.src_mac,
            cloud.ports[cloud.findRouter("router1")->interface_ports[1]].mac);
  ASSERT_TRUE(r.reply && r.reply->delivered);
  EXPECT_EQ(r.reply->hops[2].host, "compute02");  // the reply is routed on compute02
  EXPECT_EQ(r.reply->hops[3].packet.src_mac.str(), "fa:16:3f:6d:9f:cd");
}

TEST_F(SeedTrace, NoQrMacEverOnTheUnderlay) {
  std::set<Mac> qr_macs;
  for (const auto& p : cloud.ports) {
    if (p.device_owner == model::kOwnerRouterInterface)
      qr_macs.insert(p.mac);
  }
  for (auto [from, to] :
       std::vector<std::pair<std::string, std::string>>{{"vm1", "8.8.8.8"},
                                                        {"vm2", "8.8.8.8"},
                                                        {"vm1", "vm4"},
                                                        {"vm3", "8.8.8.8"},
                                                        {"internet", "192.168.74.104"}}) {
    auto r = run(from, to);
    for (const Path* p : {&r.forward, r.reply ? &*r.reply : nullptr}) {
      if (!p)
        continue;
      for (const auto& h : p->hops) {
        if (h.encap) {
          EXPECT_FALSE(qr_macs.count(h.packet.src_mac))
              << from << "->" << to << " " << h.packet.src_mac.str();
        }
      }
    }
  }
}

TEST_F(SeedTrace, IsolationBetweenRouters) {
  // vm3 sits behind router3 on an overlapping 10.16.0.0/24: vm1's address is not its.
  auto r = run("vm3", "10.16.0.3");
  EXPECT_FALSE(r.forward.delivered);
  EXPECT_NE(r.forward.verdict.find("ARP for 10.16.0.3"), std::string::npos) << r.forward.verdict;
  // vm2 behind router2 goes out by its floating IP; the gateway has no route back in.
  auto r2 = run("vm2", "10.16.0.3");
  EXPECT_FALSE(r2.forward.delivered);
  EXPECT_NE(r2.forward.verdict.find("no route to 10.16.0.3"), std::string::npos)
      << r2.forward.verdict;
  // Overlapping subnets both reach the outside.
  EXPECT_TRUE(run("vm3", "8.8.8.8").forward.delivered);
  EXPECT_TRUE(run("vm1", "8.8.8.8").forward.delivered);
}

TEST_F(SeedTrace, UnknownEndpointsAreAnError) {
  EXPECT_THROW(run("vm99", "8.8.8.8"), InputError);
  EXPECT_THROW(run("vm1", "not-a-host"), InputError);
}

}  // namespace
}  // namespace dvr
