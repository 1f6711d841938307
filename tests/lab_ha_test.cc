// SNAT high availability for real (examples/ha.yaml): router1's snat- namespace is on
// controller01 and controller02, keepalived makes one active, and vm1 (no floating IP)
// reaches the internet through whichever is. Cutting the active host off the underlay
// and the external network, as a host that loses power looks to its peers, moves SNAT to
// the other host within a second of pings, with the same qg- address; bringing it back
// takes nothing away from the new active host.
#include <gtest/gtest.h>

#include <map>
#include <regex>

#include <nlohmann/json.hpp>

#include "lab_support.h"
#include "plan/names.h"
#include "support.h"

namespace dvr {
namespace {

using testing::Background;
using testing::Capture;
using testing::inLab;
using testing::kDvr;
using testing::sh;

const std::string kHa = std::string(DVR_SOURCE_DIR) + "/examples/ha.yaml";

class HaLab : public testing::LabTest {
 protected:
  std::string topologyFile() const override { return kHa; }
  std::vector<std::string> tools() const override { return {"keepalived", "conntrackd"}; }
  void SetUp() override {
    LabTest::SetUp();
    for (const auto& p : cloud.ports) {
      if (p.device_owner == model::kOwnerRouterGateway)
        qg = p;
    }
    ns = plan::names::snatNs(qg.device_id);
  }
  // The hosts whose snat- namespace holds a qg- address now ("a,b" when both do), or "".
  // Read from the kernel, so that it also serves the API lab, whose ids the server chose.
  std::string active() {
    std::string found;
    for (const std::string h : {"controller01", "controller02"}) {
      auto r = inLab(h,
                     "sh -c 'for n in $(ip netns | grep ^snat- | cut -d\" \" -f1); do ip -n $n -o "
                     "-4 addr show; done'");
      if (r.out.find(" qg-") != std::string::npos)
        found += (found.empty() ? "" : ",") + std::string(h);
    }
    return found;
  }
  std::string waitActive(const std::string& not_this = "") {
    for (int i = 0; i < 100; ++i) {
      std::string a = active();
      if (!a.empty() && a.find(',') == std::string::npos && a != not_this)
        return a;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return active();
  }
  static std::string other(const std::string& h) {
    return h == "controller01" ? "controller02" : "controller01";
  }
  static int received(const std::string& ping_out, int sent) {
    std::smatch m;
    if (!std::regex_search(
            ping_out, m,
            std::regex(std::to_string(sent) + " packets transmitted, (\\d+) received")))
      return -1;
    return std::stoi(m[1]);
  }
  void cut(const std::string& host, const char* how) {
    auto r = inLab(
        host, std::string("sh -c 'ip link set eth0 ") + how + " && ip link set eth1 " + how + "'");
    ASSERT_EQ(r.rc, 0) << r.out;
  }

  model::Cloud cloud = ipam::loadCloudFile(kHa);
  model::Port qg;
  std::string ns;
};

TEST_F(HaLab, OneSnatHostIsActiveAndCarriesTheTraffic) {
  std::string a = waitActive();
  ASSERT_TRUE(a == "controller01" || a == "controller02") << "active: '" << a << "'";
  Capture up(a, "eth1", "icmp");
  Capture standby(other(a), "eth1", "icmp");
  auto ping = inLab("vm1", "ping -c 2 -W 2 8.8.8.8");
  EXPECT_EQ(ping.rc, 0) << ping.out;
  EXPECT_NE(up.stop().find(qg.ip.str() + " > 8.8.8.8: ICMP echo request"), std::string::npos);
  EXPECT_EQ(standby.stop().find("8.8.8.8"), std::string::npos);
  // The standby's snat- exists but holds neither the qg- nor the sg- address.
  auto addrs = inLab(other(a), "ip netns exec " + ns + " ip -o -4 addr").out;
  EXPECT_EQ(addrs.find(qg.ip.str()), std::string::npos) << addrs;
  EXPECT_NE(addrs.find(" ha-"), std::string::npos) << addrs;
  EXPECT_EQ(addrs.find(" sg-"), std::string::npos) << addrs;
}

TEST_F(HaLab, CuttingTheActiveHostMovesSnatWithinASecondAndItsReturnLosesNoMore) {
  std::string a = waitActive();
  ASSERT_TRUE(a == "controller01" || a == "controller02") << "active: '" << a << "'";
  ASSERT_TRUE(waitPing("vm1", "8.8.8.8", 20));
  // 10 ms pings across the cut: the bound is 1 s of them (100).
  {
    Background ping(kDvr + " lab exec vm1 -- ping -i 0.01 -c 500 -W 1 8.8.8.8");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    cut(a, "down");
    std::string out = ping.stop(20000);
    EXPECT_GE(received(out, 500), 400) << out;
  }
  // The other host holds the address now; the cut one gave it up (FAULT: its uplinks
  // are down), so that it does not come back as a second master.
  std::string b = other(a);
  EXPECT_EQ(active(), b);
  {
    Capture up(b, "eth1", "icmp");
    EXPECT_EQ(inLab("vm1", "ping -c 2 -W 2 8.8.8.8").rc, 0);
    EXPECT_NE(up.stop().find(qg.ip.str() + " > 8.8.8.8: ICMP echo request"), std::string::npos);
  }
  // The cut host comes back as a standby: the role stays where the traffic is, and the
  // return costs nothing.
  {
    Background ping(kDvr + " lab exec vm1 -- ping -i 0.01 -c 400 -W 1 8.8.8.8");
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    cut(a, "up");
    std::string out = ping.stop(20000);
    EXPECT_GE(received(out, 400), 396) << out;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(active(), b);
  EXPECT_EQ(inLab("vm1", "ping -c 1 -W 2 8.8.8.8").rc, 0);
}

// Loose TCP pickup is off in an HA router's snat-, so the transfer goes on only because
// conntrackd gave the new active host the connection and its NAT (without conntrackd
// it stalls: 0 bytes received after the cut).
TEST_F(HaLab, ATcpTransferRunningAcrossTheFailoverCompletes) {
  std::string a = waitActive();
  ASSERT_TRUE(a == "controller01" || a == "controller02") << "active: '" << a << "'";
  ASSERT_TRUE(waitPing("vm1", "8.8.8.8", 20));
  Background server(kDvr + " lab exec internet -- iperf3 -s -1");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Background client(kDvr + " lab exec vm1 -- iperf3 -c 8.8.8.8 -t 5 -b 50M");
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  cut(a, "down");
  std::string out = client.stop(15000);
  EXPECT_NE(out.find("iperf Done"), std::string::npos) << out << client.errors();
  EXPECT_NE(out.find("receiver"), std::string::npos) << out;
}

// The same cloud built through the API (`dvr lab up --api`: `ha: true` on the router's
// create), and what the operator sees with the real CLI: `openstack network agent list
// --router R --long` shows one host active and one standby, as their agents report it.
class HaApiLab : public HaLab {
 protected:
  std::string upOptions() const override { return "--api "; }
  std::vector<std::string> tools() const override {
    return {"keepalived", "conntrackd", "openstack"};
  }
  testing::Result openstack(const std::string& args) {
    return inLab("controller01",
                 "openstack --os-auth-type none --os-endpoint http://127.0.0.1:9696 " + args);
  }
  // host -> HA State, once every HA host has reported (or what there is after 20 s).
  std::map<std::string, std::string> haStates(const std::string& want_active = "") {
    std::map<std::string, std::string> out;
    for (int i = 0; i < 40; ++i) {
      out.clear();
      auto r = openstack("network agent list --router router1 --long -f json");
      if (r.rc == 0) {
        for (const auto& a : nlohmann::json::parse(r.out, nullptr, false)) {
          if (a.is_object() && a.value("HA State", nlohmann::json()).is_string())
            out[a["Host"].get<std::string>()] = a["HA State"].get<std::string>();
        }
      }
      int active = 0, standby = 0;
      for (const auto& [h, st] : out) {
        active += st == "active";
        standby += st == "standby";
      }
      if (active == 1 && standby == 1 && (want_active.empty() || out[want_active] == "active"))
        return out;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return out;
  }
};

TEST_F(HaApiLab, TheCliShowsOneHostActiveAndOneStandby) {
  auto show = openstack("router show router1 -f json");
  ASSERT_EQ(show.rc, 0) << show.out;
  EXPECT_TRUE(nlohmann::json::parse(show.out).value("ha", false)) << show.out;
  auto states = haStates();
  std::string active;
  for (const auto& [h, st] : states) {
    if (st == "active")
      active = h;
  }
  ASSERT_FALSE(active.empty()) << ::testing::PrintToString(states);
  bool pinged = false;
  for (int t = 0; t < 10 && !pinged; ++t)
    pinged = inLab("vm1", "ping -c 1 -W 1 8.8.8.8").rc == 0;
  EXPECT_TRUE(pinged);
}

// The CLI follows a failover: the agents report what their kernel holds, so after the
// active host is cut off and comes back, the other host shows active and the returned
// one standby (it came back as a backup and does not take the role back).
TEST_F(HaApiLab, TheCliFollowsAFailover) {
  // The host the kernel says is active, once the CLI says so too (reports lag by up to a
  // heartbeat, and right after start a lone keepalived may be master for a moment).
  std::string a;
  std::map<std::string, std::string> before;
  for (int settle = 0; settle < 3 && !(before[a] == "active" && active() == a); ++settle) {
    a = waitActive();
    before = haStates(a);
  }
  ASSERT_TRUE(a == "controller01" || a == "controller02") << "active: '" << a << "'";
  ASSERT_EQ(before[a], "active") << ::testing::PrintToString(before);
  ASSERT_TRUE(waitPing("vm1", "8.8.8.8", 20));
  cut(a, "down");
  EXPECT_TRUE(waitPing("vm1", "8.8.8.8", 10));  // through the other host now
  cut(a, "up");
  auto after = haStates(other(a));
  EXPECT_EQ(after[other(a)], "active") << ::testing::PrintToString(after);
  EXPECT_EQ(after[a], "standby") << ::testing::PrintToString(after);
}

}  // namespace
}  // namespace dvr
