// The eBPF east-west fast path on the seed's router1 (subnet-a with vm1 on compute01,
// subnet-b with vm4): with vm4 moved to compute01 (one host: dvr_ew_out redirects to vm4's
// tap) and where the seed has it, on compute02 (across hosts: to vxlan-1002 with the DVR
// MAC). With the fast path on and off, vm4 receives the same frames (qr- MAC of subnet-b
// -> its MAC, TTL 63) and the underlay carries the same VXLAN packets (VNI 1002, the
// hosts' tunnel addresses, the inner frame from compute01's DVR MAC); on, the counters
// show the packets taken and tcpdump on router1's qr- port sees none of them. What must
// take the namespace path still gets qrouter-'s answers: TTL 1, fragments.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <tuple>

#include "lab_support.h"
#include "support.h"

namespace dvr {
namespace {

using testing::Capture;
using testing::inLab;
using testing::kDvr;
using testing::sh;

const std::string kVm4 = "10.16.1.3";
const std::string kQrA = "tap85285e17-5d";  // host end of router1's qr- on subnet-a

// dvr_ew_out's counters on compute01 (reason -> packets); empty when nothing is pinned.
std::map<std::string, long> ewCounters() {
  std::map<std::string, long> out;
  auto r = inLab("compute01", kDvr + " fastpath");
  std::smatch m;
  if (!std::regex_search(r.out, m, std::regex("dvr_ew_out:(.*)")))
    return out;
  std::string rest = m[1];
  static const std::regex pair("([a-z-]+) (\\d+)");
  for (std::sregex_iterator p(rest.begin(), rest.end(), pair), end; p != end; ++p)
    out[(*p)[1]] = std::stol((*p)[2]);
  return out;
}

// (datapath, vm4 on compute01)
class EastWestLab : public testing::LabTest,
                    public ::testing::WithParamInterface<std::tuple<std::string, bool>> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root (namespaces)";
    std::string text = testing::slurp(testing::kSeed);
    if (oneHost()) {
      const std::string from = "{name: vm4, network: net-b, host: compute02";
      auto at = text.find(from);
      ASSERT_NE(at, std::string::npos) << "the seed has no '" << from << "'";
      text.replace(at, from.size(), "{name: vm4, network: net-b, host: compute01");
    }
    path_ = "/tmp/dvr-ew-topology-" + std::to_string(::getpid()) + ".yaml";
    std::ofstream(path_) << text;
    sh(kDvr + " lab down");
    auto r = sh(kDvr + " lab up --datapath " + datapath() + " " + path_);
    ASSERT_EQ(r.rc, 0) << r.out;
    cloud_ = ipam::loadCloudFile(path_);
  }
  void TearDown() override {
    testing::LabTest::TearDown();
    if (!path_.empty())
      ::unlink(path_.c_str());
  }
  std::string datapath() const { return std::get<0>(GetParam()); }
  bool fast() const { return datapath() == "fast"; }
  bool oneHost() const { return std::get<1>(GetParam()); }
  std::string mac(const std::function<bool(const model::Port&)>& which) const {
    for (const auto& p : cloud_.ports) {
      if (which(p))
        return p.mac.str();
    }
    return "?";
  }
  std::string subnetId(const std::string& name) const {
    for (const auto& s : cloud_.subnets) {
      if (s.name == name)
        return s.id;
    }
    return "?";
  }
  // The first packets resolve vm1's gateway; the entries are there from the start.
  void warmUp() {
    for (int i = 0; i < 20 && inLab("vm1", "ping -c 1 -W 1 " + kVm4).rc != 0; ++i) {
    }
  }
  std::string path_;
  model::Cloud cloud_;
};

TEST_P(EastWestLab, Vm4AndTheUnderlaySeeTheNamespacePathsFrames) {
  std::string qr_b = mac([&](const model::Port& p) {
    return p.device_owner == model::kOwnerRouterInterface && p.subnet_id == subnetId("subnet-b");
  });
  std::string vm4 = mac([](const model::Port& p) { return p.name == "vm4"; });
  std::string dvr_mac01 = "fa:16:3f:86:5c:5c";  // compute01's, in the seed
  warmUp();
  auto before = ewCounters();
  std::string at_vm4, underlay, qr;
  {
    Capture v("vm4", "eth0", "-v icmp");
    Capture u(oneHost() ? "compute01" : "compute02", "eth0", "-v udp");
    Capture q("compute01", kQrA, "icmp");
    auto r = inLab("vm1", "ping -c 3 -i 0.1 -W 2 " + kVm4);
    ASSERT_EQ(r.rc, 0) << r.out;
    at_vm4 = v.stop();
    underlay = u.stop();
    qr = q.stop();
  }
  // vm4 gets what qrouter- sends on subnet-b: from its qr- MAC, TTL 64 less one router.
  EXPECT_NE(at_vm4.find(qr_b + " > " + vm4), std::string::npos) << at_vm4;
  EXPECT_NE(at_vm4.find("ttl 63"), std::string::npos) << at_vm4;
  EXPECT_NE(at_vm4.find("10.16.0.3 > 10.16.1.3: ICMP echo request"), std::string::npos) << at_vm4;
  if (!oneHost()) {
    // Across hosts: VXLAN from compute01 to compute02, VNI 1002, the inner frame from
    // compute01's DVR MAC (the bridge's rewrite on the namespace path) with TTL 63.
    EXPECT_NE(underlay.find("172.16.0.11."), std::string::npos) << underlay;
    EXPECT_NE(underlay.find("> 172.16.0.12.4789: VXLAN"), std::string::npos) << underlay;
    EXPECT_NE(underlay.find("vni 1002"), std::string::npos) << underlay;
    EXPECT_NE(underlay.find(dvr_mac01 + " > " + vm4), std::string::npos) << underlay;
    EXPECT_NE(underlay.find("ttl 63"), std::string::npos) << underlay;
  } else {
    EXPECT_EQ(underlay.find("10.16.1.3"), std::string::npos) << "one host: no tunnel" << underlay;
  }
  auto after = ewCounters();
  if (fast()) {
    // The requests (and, on one host, vm4's replies) taken; tcpdump on the qr- port sees none.
    EXPECT_GE(after["fast"] - before["fast"], oneHost() ? 6 : 3);
    EXPECT_EQ(after["error"] - before["error"], 0);
    EXPECT_EQ(qr.find("10.16.1.3"), std::string::npos) << qr;
  } else {
    EXPECT_TRUE(after.empty()) << "nothing pinned with the fast path off";
    EXPECT_NE(qr.find("10.16.0.3 > 10.16.1.3: ICMP echo request"), std::string::npos) << qr;
  }
}

TEST_P(EastWestLab, WhatTheRouterMustAnswerFallsBackAndIsAnswered) {
  warmUp();
  auto before = ewCounters();
  // TTL 1 expires in qrouter-: its qr- address on subnet-a answers, as traceroute's first hop.
  auto t1 = inLab("vm1", "ping -c 1 -t 1 -W 2 " + kVm4);
  EXPECT_NE(t1.out.find("From 10.16.0.1 icmp_seq=1 Time to live exceeded"), std::string::npos)
      << t1.out;
  // TTL 2 reaches vm4 (with 1).
  EXPECT_EQ(inLab("vm1", "ping -c 1 -t 2 -W 2 " + kVm4).rc, 0);
  // Fragments: qrouter- routes them (and vm4's fragmented replies).
  auto big = inLab("vm1", "ping -c 2 -s 3000 -W 2 " + kVm4);
  EXPECT_EQ(big.rc, 0) << big.out;
  if (fast()) {
    auto after = ewCounters();
    EXPECT_EQ(after["ttl"] - before["ttl"], 1);
    EXPECT_GE(after["fast"] - before["fast"], 1);  // the TTL 2 request
    EXPECT_GE(after["fragment"] - before["fragment"], oneHost() ? 8 : 4);
  }
}

INSTANTIATE_TEST_SUITE_P(Datapath, EastWestLab,
                         ::testing::Combine(::testing::Values("namespaces", "fast"),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::get<0>(info.param) +
                                  (std::get<1>(info.param) ? "_OneHost" : "_AcrossHosts");
                         });

}  // namespace
}  // namespace dvr
