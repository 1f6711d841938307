// DHCP for real (examples/dhcp.yaml): controller01 is the DHCP host, so dnsmasq runs in
// qdhcp-<net-a> there. vm1 (on compute01) loses its address and asks for one with
// isc-dhcp-client, as a booting VM does: the DISCOVER crosses the tunnel, and the lease
// gives vm1 its fixed IP, the subnet's router and DNS servers and the domain-name its
// port's extra_dhcp_opts set; with that address vm1 reaches its router. A changed option
// then reaches vm1's next lease, and so does a second change once vm1 holds a lease
// (dnsmasq 2.90 aborted on that reload by SIGHUP: dvr restarts it).
//
// dhclient runs with a script of ours (it only sets the address: the stock script would
// rewrite the machine's /etc/resolv.conf), its config, lease and pid files in a temporary
// directory, and a bound on how long it tries.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "lab_support.h"
#include "plan/dnsmasq.h"
#include "support.h"

namespace dvr {
namespace {

using testing::inLab;
using testing::sh;
using testing::slurp;

const std::string kDhcp = std::string(DVR_SOURCE_DIR) + "/examples/dhcp.yaml";

class DhcpLab : public testing::LabTest {
 protected:
  std::string topologyFile() const override { return kDhcp; }
  std::vector<std::string> tools() const override { return {"dnsmasq", "dhclient"}; }
  void SetUp() override {
    char tmpl[] = "/tmp/dvr-dhcp-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    std::ofstream(dir + "/dhclient.conf") << "timeout 30;\n"
                                             "initial-interval 1;\n"
                                             "request subnet-mask, broadcast-address, routers,\n"
                                             "  domain-name, domain-name-servers, interface-mtu;\n";
    std::ofstream(dir + "/script") << "#!/bin/sh\n"
                                      "case \"$reason\" in\n"
                                      "  BOUND|RENEW|REBIND|REBOOT)\n"
                                      "    ip addr replace \"$new_ip_address/$new_subnet_mask\" "
                                      "dev \"$interface\" ;;\n"
                                      "esac\n"
                                      "exit 0\n";
    std::filesystem::permissions(dir + "/script", std::filesystem::perms::owner_all);
    LabTest::SetUp();
  }
  void TearDown() override {
    stopDhclient();
    LabTest::TearDown();
    std::filesystem::remove_all(dir);
  }
  // One DHCP exchange from vm1 (dhclient -1: once, then it exits if nothing came); its
  // lease file afterwards.
  testing::Result askForLease() {
    stopDhclient();
    auto r = inLab("vm1", "timeout 60 dhclient -1 -v -cf " + dir + "/dhclient.conf -sf " + dir +
                              "/script -lf " + dir + "/leases -pf " + dir + "/pid eth0");
    return {r.rc, r.out + "\n--- leases:\n" + slurp(dir + "/leases")};
  }
  // The last lease in the lease file.
  std::string lastLease() {
    std::string all = slurp(dir + "/leases");
    auto at = all.rfind("lease {");
    return at == std::string::npos ? "" : all.substr(at);
  }
  void stopDhclient() {
    std::string pid = slurp(dir + "/pid");
    if (!pid.empty())
      sh("kill " + pid);
    std::filesystem::remove(dir + "/pid");
  }
  std::string dnsmasqPid() {
    return inLab("controller01", "cat /run/dvr/daemons/controller01/dnsmasq-" + net_id + "/pid")
        .out;
  }
  std::string dir;
  model::Cloud cloud = ipam::loadCloudFile(kDhcp);
  std::string net_id = cloud.findNetwork(cloud.findVm("vm1")->network_id)->id;
};

TEST_F(DhcpLab, AVmWithoutAnAddressGetsItsFixedIpRouterAndExtraOption) {
  const model::Port& vm1 = *cloud.findVm("vm1");
  ASSERT_EQ(inLab("vm1", "ip addr flush dev eth0").rc, 0);
  ASSERT_EQ(inLab("vm1", "ip -4 -o addr show dev eth0").out.find("inet "), std::string::npos);
  auto r = askForLease();
  ASSERT_EQ(r.rc, 0) << r.out;
  std::string lease = lastLease();
  EXPECT_NE(lease.find("fixed-address " + vm1.ip.str() + ";"), std::string::npos) << r.out;
  EXPECT_NE(lease.find("option routers 10.16.0.1;"), std::string::npos) << lease;
  EXPECT_NE(lease.find("option domain-name-servers 10.16.0.53,10.16.0.54;"), std::string::npos)
      << lease;
  EXPECT_NE(lease.find("option domain-name \"lab.example\";"), std::string::npos) << lease;
  EXPECT_NE(lease.find("option interface-mtu 1450;"), std::string::npos) << lease;
  // The address the lease gave works: vm1 reaches its router on it.
  EXPECT_NE(inLab("vm1", "ip -4 -o addr show dev eth0").out.find(vm1.ip.str() + "/24"),
            std::string::npos);
  EXPECT_TRUE(waitPing("vm1", "10.16.0.1"));
}

TEST_F(DhcpLab, EachChangedOptionReachesTheNextLease) {
  ASSERT_EQ(inLab("vm1", "ip addr flush dev eth0").rc, 0);
  auto r = askForLease();
  ASSERT_EQ(r.rc, 0) << r.out;
  ASSERT_NE(lastLease().find("\"lab.example\""), std::string::npos) << r.out;
  for (std::string value : {"changed.example", "lab.example"}) {
    std::string text = slurp(kDhcp);
    auto at = text.find("opt_value: lab.example");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, std::string("opt_value: lab.example").size(), "opt_value: " + value);
    std::string path = dir + "/dhcp.yaml";
    std::ofstream(path) << text;
    auto applied = sh(testing::kDvr + " lab apply " + path);
    ASSERT_EQ(applied.rc, 0) << applied.out;
    // The agent applies the change on its own time: ask again until the lease says so.
    bool changed = false;
    for (int i = 0; i < 10 && !changed; ++i) {
      r = askForLease();
      changed = r.rc == 0 && lastLease().find("\"" + value + "\"") != std::string::npos;
    }
    EXPECT_TRUE(changed) << value << "\n" << r.out;
    EXPECT_FALSE(dnsmasqPid().empty());
  }
}

}  // namespace
}  // namespace dvr
