// A centralized router for real (examples/centralized.yaml, through the API): router1 is on
// controller01 only. vm1 (compute01, subnet-a) and vm2 (compute02, subnet-b) reach each
// other through it, the internet reaches vm1's floating IP and vm2's floating IP, which is
// NAT'd to vm2's second fixed IP, and vm1 reaches the internet; neither compute host has a
// qrouter- namespace for it, so every one of those packets was routed on controller01.
#include <gtest/gtest.h>

#include "lab_support.h"
#include "plan/names.h"
#include "support.h"

namespace dvr {
namespace {

using testing::Capture;
using testing::inLab;
using testing::kDvr;
using testing::sh;

const std::string kCentralized = std::string(DVR_SOURCE_DIR) + "/examples/centralized.yaml";

class CentralizedLab : public testing::LabTest {
 protected:
  std::string upOptions() const override { return "--api "; }
  std::string topologyFile() const override { return kCentralized; }
  // A ping that may need a first ARP round: up to three tries.
  bool pings(const std::string& node, const std::string& ip) { return waitPing(node, ip, 3); }
};

TEST_F(CentralizedLab, EveryPathIsRoutedOnTheRoutersHostOnly) {
  for (const std::string h : {"compute01", "compute02"}) {
    auto ns = inLab(h, "ip netns list");
    EXPECT_EQ(ns.out.find("qrouter-"), std::string::npos) << h << ": " << ns.out;
    EXPECT_EQ(ns.out.find("fip-"), std::string::npos) << h << ": " << ns.out;
  }
  auto ctl = inLab("controller01", "ip netns list");
  EXPECT_NE(ctl.out.find("qrouter-"), std::string::npos) << ctl.out;
  EXPECT_EQ(ctl.out.find("snat-"), std::string::npos) << ctl.out;
  // East-west across two hosts and two subnets, through controller01.
  EXPECT_TRUE(pings("vm1", "10.17.0.5"));
  EXPECT_TRUE(pings("vm2", "10.16.0.5"));
  // North-south: SNAT out, and the floating IPs in.
  EXPECT_TRUE(pings("vm1", "8.8.8.8"));
  EXPECT_TRUE(pings("internet", "192.168.74.110"));
  // vm2's floating IP reaches its second address: the echo arrives for 10.17.0.6.
  Capture cap("vm2", "eth0", "icmp");
  EXPECT_TRUE(pings("internet", "192.168.74.111"));
  std::string seen = cap.stop();
  EXPECT_NE(seen.find("> 10.17.0.6: ICMP echo request"), std::string::npos) << seen;
}

}  // namespace
}  // namespace dvr
