// External addresses that move are announced: when a floating IP goes to a VM on another
// host, the new host's fg- sends gratuitous ARPs, so the upstream router (the lab's
// `gateway`) switches its neighbour entry at once instead of sending to the old host's
// fg- until the entry expires (seconds: a stream from outside is lost meanwhile).
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "lab_support.h"
#include "support.h"

namespace dvr {
namespace {

using testing::Background;
using testing::Capture;
using testing::inLab;
using testing::kDvr;

class ExternalLab : public testing::LabTest {
 protected:
  // The seed with each (from, to) edit made, as a cloud (to read what dvr allocates).
  model::Cloud seedCloudWith(const std::vector<std::pair<std::string, std::string>>& edits) {
    std::string text = testing::slurp(testing::kSeed);
    for (const auto& [from, to] : edits)
      text.replace(text.find(from), from.size(), to);
    std::string path = "/tmp/dvr-external-test-" + std::to_string(::getpid()) + ".yaml";
    std::ofstream(path) << text;
    model::Cloud c = ipam::loadCloudFile(path);
    ::unlink(path.c_str());
    return c;
  }
  static std::string fgMac(const model::Cloud& c, const std::string& host) {
    for (const auto& p : c.ports) {
      if (p.device_owner == model::kOwnerFipGateway && p.host == host)
        return p.mac.str();
    }
    return "(no fg- port on " + host + ")";
  }
  std::string gatewayNeighbour(const std::string& ip) {
    return inLab("gateway", "ip neigh show " + ip).out;
  }
  // Of 400 pings from outside to `ip` at 10 ms, the number answered while the seed with
  // `edits` is applied half a second in (-1 when the apply fails). The gateway keeps a
  // REACHABLE entry for 15-45 s and then probes the old MAC for 5 s more, so without an
  // announcement nearly every ping after the move is lost.
  int answeredAcross(const std::string& ip,
                     const std::vector<std::pair<std::string, std::string>>& edits) {
    Background ping(kDvr + " lab exec internet -- ping -i 0.01 -c 400 -W 1 " + ip);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto r = applySeedWith(edits);
    EXPECT_EQ(r.rc, 0) << r.out;
    std::string out = ping.stop(15000);
    std::smatch m;
    if (r.rc != 0 ||
        !std::regex_search(out, m, std::regex("400 packets transmitted, (\\d+) received")))
      return -1;
    return std::stoi(m[1]);
  }
  // `fip`, answered through compute01, moves to compute02 as the seed with `edits` is
  // applied: the gateway's neighbour entry shows compute02's fg- MAC at once, and at most
  // a second of 400 pings at 10 ms is lost (the move itself takes a few hundred ms).
  void expectMovedAtOnce(const std::string& fip,
                         const std::vector<std::pair<std::string, std::string>>& edits) {
    model::Cloud before = testing::seedCloud(), after = seedCloudWith(edits);
    ASSERT_EQ(inLab("internet", "ping -c 1 -W 1 " + fip).rc, 0);
    ASSERT_NE(gatewayNeighbour(fip).find(fgMac(before, "compute01")), std::string::npos)
        << gatewayNeighbour(fip);
    int answered = answeredAcross(fip, edits);
    EXPECT_NE(gatewayNeighbour(fip).find(fgMac(after, "compute02")), std::string::npos)
        << gatewayNeighbour(fip);
    EXPECT_GE(answered, 300);
  }
};

TEST_F(ExternalLab, AFloatingIpMovedToAnotherHostAnswersFromOutsideAtOnce) {
  // 192.168.74.104 is vm2's on compute01; it goes to vm4 on compute02 (router1, whose
  // floating-IP path compute02 builds for it). compute01's other floating IP goes too, so
  // that its fip- namespace goes: frames still sent to its fg- MAC are lost, not sent on.
  const std::string fip = "192.168.74.104";
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"{network: ext-net, address: 192.168.74.104, vm: vm2}",
       "{network: ext-net, address: 192.168.74.104, vm: vm4}"},
      {"  - {network: ext-net, address: 192.168.74.102, vm: vm3}\n", ""}};
  expectMovedAtOnce(fip, edits);
  // Answered by vm4 now: its replies come from the floating IP through compute02.
  EXPECT_EQ(inLab("internet", "ping -c 1 -W 1 " + fip).rc, 0);
}

// A VM that moves to another host keeps its floating IP: the new host's fg- announces it,
// so the gateway sends to it at once. compute01 keeps vm3's floating IP, so its fg- is
// still there and answers ARP for its own address; frames still sent to it for vm2's are
// routed nowhere useful.
TEST_F(ExternalLab, AVmMovedToAnotherHostWithItsFloatingIpAnswersFromOutsideAtOnce) {
  const std::string fip = "192.168.74.104";  // vm2's
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"{name: vm2, network: net-111, host: compute01",
       "{name: vm2, network: net-111, host: compute02"}};
  expectMovedAtOnce(fip, edits);
  // vm2 answers from compute02: its replies leave compute02's uplink.
  Capture up("compute02", "eth1", "icmp");
  EXPECT_EQ(inLab("internet", "ping -c 1 -W 1 " + fip).rc, 0);
  EXPECT_NE(up.stop().find(fip + " > 8.8.8.8: ICMP echo reply"), std::string::npos);
}

// The external subnet's pool moved so that dvr's choices fall outside it: the qg- port
// gets an address from the new pool, and SNAT and floating-IP traffic keep working
// (the kernel drops the routes through qg- with its old address; the reconciler puts
// them back).
TEST_F(ExternalLab, AnExternalPoolChangeRenumbersQgAndTrafficStillFlows) {
  const std::string from = "allocation_pools: [{start: 192.168.74.100, end: 192.168.74.200}]";
  const std::string to = "allocation_pools: [{start: 192.168.74.150, end: 192.168.74.200}]";
  auto qgOfRouter1 = [](const model::Cloud& c) {
    return c.ports.at(c.routers.at(0).gateway_port.value()).ip.str();
  };
  const std::string old_qg = qgOfRouter1(testing::seedCloud());
  const std::string new_qg = qgOfRouter1(seedCloudWith({{from, to}}));
  ASSERT_NE(old_qg, new_qg);
  ASSERT_EQ(inLab("vm1", "ping -c 1 -W 1 8.8.8.8").rc, 0);
  auto r = applySeedWith(from, to);
  ASSERT_EQ(r.rc, 0) << r.out;
  Capture ctl_uplink("controller01", "eth1", "icmp");
  EXPECT_TRUE(waitPing("vm1", "8.8.8.8", 5));
  std::string up = ctl_uplink.stop();
  EXPECT_NE(up.find(new_qg + " > 8.8.8.8"), std::string::npos) << up;
  EXPECT_EQ(up.find(old_qg + " > 8.8.8.8"), std::string::npos) << up;
  auto route = inLab("controller01",
                     "ip -n snat-" + testing::seedCloud().routers[0].id + " route show default");
  EXPECT_NE(route.out.find("dev qg-"), std::string::npos) << route.out;
  EXPECT_TRUE(waitPing("internet", "192.168.74.104", 5));  // vm2's floating IP
}

}  // namespace
}  // namespace dvr
