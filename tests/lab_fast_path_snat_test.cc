// The compute-host side of the SNAT path on the eBPF fast path, on the seed's cloud: vm1
// (router1's subnet-a, no floating IP, on compute01) pings 8.8.8.8 through router1's snat-
// on controller01. With the fast path on and off, the underlay carries the same VXLAN
// packets (compute01 -> controller01, VNI 1001, the inner frame from compute01's DVR MAC
// to the sg- port's MAC with TTL 63) and the replies arrive; on, dvr_snat_out's counters
// show the requests taken and tcpdump on router1's qr- port sees none of them. What must
// take the namespace path still gets qrouter-'s answers (TTL 1); fragments fall back. Router1
// losing its gateway takes vm1's entry away, so nothing is sent to an sg- port that is gone.
#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "lab_support.h"
#include "support.h"

namespace dvr {
namespace {

using testing::Capture;
using testing::inLab;
using testing::kDvr;
using testing::sh;

const std::string kQrA = "tap85285e17-5d";  // host end of router1's qr- on subnet-a

// dvr_snat_out's counters on compute01 (reason -> packets); empty when nothing is pinned.
std::map<std::string, long> snatCounters() {
  std::map<std::string, long> out;
  auto r = inLab("compute01", kDvr + " fastpath");
  std::smatch m;
  if (!std::regex_search(r.out, m, std::regex("dvr_snat_out:(.*)")))
    return out;
  std::string rest = m[1];
  static const std::regex pair("([a-z-]+) (\\d+)");
  for (std::sregex_iterator p(rest.begin(), rest.end(), pair), end; p != end; ++p)
    out[(*p)[1]] = std::stol((*p)[2]);
  return out;
}

class SnatLab : public testing::LabTest, public ::testing::WithParamInterface<std::string> {
 protected:
  std::string upOptions() const override { return "--datapath " + GetParam() + " "; }
  bool fast() const { return GetParam() == "fast"; }
  model::Cloud cloud = testing::seedCloud();
  // router1's sg- port on vm1's subnet.
  const model::Port& sgPort() const {
    const model::Port& vm1 = *cloud.findVm("vm1");
    for (const auto& r : cloud.routers) {
      for (size_t k = 0; k < r.interface_ports.size() && k < r.snat_ports.size(); ++k) {
        if (cloud.ports[r.interface_ports[k]].subnet_id == vm1.subnet_id)
          return cloud.ports[r.snat_ports[k]];
      }
    }
    throw std::runtime_error("no sg- port for vm1");
  }
  std::string dvrMac01() const { return cloud.findHost("compute01")->dvr_mac.str(); }
  // The first packets may wait for the agent; the entries are there from the start.
  void warmUp() {
    for (int i = 0; i < 20 && inLab("vm1", "ping -c 1 -W 1 8.8.8.8").rc != 0; ++i) {
    }
  }
};

TEST_P(SnatLab, TheUnderlayCarriesTheNamespacePathsFramesToTheSgPort) {
  std::string sg = sgPort().mac.str();
  warmUp();
  auto before = snatCounters();
  std::string underlay, qr;
  {
    Capture u("fabric", "u-compute01", "-v udp port 4789");
    Capture q("compute01", kQrA, "icmp");
    auto r = inLab("vm1", "ping -c 3 -i 0.1 -W 2 8.8.8.8");
    ASSERT_EQ(r.rc, 0) << r.out;  // the replies arrive
    underlay = u.stop();
    qr = q.stop();
  }
  // compute01 -> controller01, VNI 1001; inside, what qrouter- sends to the sg- port (TTL
  // 64 less one router) from compute01's DVR MAC (the bridge's rewrite).
  EXPECT_NE(underlay.find("172.16.0.11."), std::string::npos) << underlay;
  EXPECT_NE(underlay.find("> 172.16.0.10.4789: VXLAN"), std::string::npos) << underlay;
  EXPECT_NE(underlay.find("vni 1001"), std::string::npos) << underlay;
  EXPECT_NE(underlay.find(dvrMac01() + " > " + sg), std::string::npos) << underlay;
  static const std::regex inner(
      "ttl 63,[^\n]*proto ICMP[^\n]*\n\\s*10\\.16\\.0\\.3 > 8\\.8\\.8\\.8: ICMP echo request");
  EXPECT_TRUE(std::regex_search(underlay, inner)) << underlay;
  auto after = snatCounters();
  if (fast()) {
    EXPECT_GE(after["fast"] - before["fast"], 3);
    EXPECT_EQ(after["error"] - before["error"], 0);
    EXPECT_EQ(qr.find("8.8.8.8: ICMP echo request"), std::string::npos) << qr;
  } else {
    EXPECT_TRUE(after.empty()) << "nothing pinned with the fast path off";
    EXPECT_NE(qr.find("10.16.0.3 > 8.8.8.8: ICMP echo request"), std::string::npos) << qr;
  }
}

TEST_P(SnatLab, WhatTheRouterMustAnswerFallsBackAndIsAnswered) {
  warmUp();
  auto before = snatCounters();
  // TTL 1 expires in qrouter-: its qr- address on subnet-a answers.
  auto t1 = inLab("vm1", "ping -c 1 -t 1 -W 2 8.8.8.8");
  EXPECT_NE(t1.out.find("From 10.16.0.1 icmp_seq=1 Time to live exceeded"), std::string::npos)
      << t1.out;
  // Fragments go the namespace path (qrouter-). The lab's SNAT path answers no fragmented
  // ping to 8.8.8.8 with the fast path off either (seen 2026-12-02), so only the program's
  // verdict is checked here.
  inLab("vm1", "ping -c 2 -s 3000 -W 1 8.8.8.8");
  if (fast()) {
    auto after = snatCounters();
    EXPECT_EQ(after["ttl"] - before["ttl"], 1);
    EXPECT_GE(after["fragment"] - before["fragment"], 4);
  }
}

TEST_P(SnatLab, ARouterLosingItsGatewayTakesTheEntryAway) {
  if (!fast())
    GTEST_SKIP() << "fast path entries only";
  warmUp();
  auto listed = [] { return inLab("compute01", kDvr + " fastpath").out; };
  ASSERT_NE(listed().find("dvr_snat_port key"), std::string::npos) << listed();
  auto r =
      applySeedWith("    id: 13fe8525-da22-42de-aeb6-84f41a3b607d\n    external_gateway: ext-net\n",
                    "    id: 13fe8525-da22-42de-aeb6-84f41a3b607d\n");
  ASSERT_EQ(r.rc, 0) << r.out;
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = listed().find("dvr_snat_port key") == std::string::npos;
    if (!gone)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone) << listed();
  auto before = snatCounters();
  EXPECT_NE(inLab("vm1", "ping -c 2 -i 0.1 -W 1 8.8.8.8").rc, 0) << "no way out any more";
  EXPECT_EQ(snatCounters()["fast"] - before["fast"], 0);
}

INSTANTIATE_TEST_SUITE_P(Datapath, SnatLab, ::testing::Values("namespaces", "fast"));

}  // namespace
}  // namespace dvr
