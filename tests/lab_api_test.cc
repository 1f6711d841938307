// The seed's cloud run the Neutron way: `dvr server` on controller01, an agent per host
// following it, the resources made through the API, and Debian's `openstack` CLI adding
// a VM with a floating IP at run time.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "lab_support.h"

namespace dvr {
namespace {

using testing::Background;
using testing::inLab;
using testing::kDvr;
using testing::sh;

class ApiLab : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root (namespaces)";
    sh(kDvr + " lab down");
    auto r = sh(kDvr + " lab up --api " + testing::kSeed);
    ASSERT_EQ(r.rc, 0) << r.out;
  }
  void TearDown() override {
    if (::geteuid() == 0)
      sh(kDvr + " lab down");
  }
  testing::Result openstack(const std::string& args) {
    return inLab("controller01",
                 "openstack --os-auth-type none --os-endpoint http://127.0.0.1:9696 " + args);
  }
  // The source address a TCP server on `internet` sees when `vm` connects to it.
  std::string seenBy(const std::string& vm) {
    Background srv(kDvr +
                   " lab exec internet -- /usr/bin/python3 -c \"import socket;s=socket.socket();"
                   "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',8080));"
                   "s.listen(1);"
                   "c,a=s.accept();print(a[0],flush=True)\"");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    inLab(vm,
          "/usr/bin/python3 -c \"import "
          "socket;socket.create_connection(('8.8.8.8',8080),timeout=2).close()\"");
    std::string out = srv.stop(2500);
    while (!out.empty() && out.back() == '\n')
      out.pop_back();
    return out;
  }
};

TEST_F(ApiLab, DvrStatusShowsEveryAgentCurrentAndItsMetricsAgree) {
  auto st = inLab("controller01", kDvr + " status");
  EXPECT_EQ(st.rc, 0) << st.out;
  for (const char* host : {"controller01", "compute01", "compute02"}) {
    EXPECT_TRUE(std::regex_search(
        st.out, std::regex(std::string(host) + R"re(\s+dvr(_snat)?\s+yes\s+\d+\s+\d+\s+ok\s)re")))
        << host << ":\n"
        << st.out;
  }
  auto m = inLab("compute01", "curl -sf http://127.0.0.1:9697/metrics");
  ASSERT_EQ(m.rc, 0) << m.out;
  EXPECT_NE(m.out.find("\ndvr_agent_revisions_behind 0\n"), std::string::npos) << m.out;
}

TEST_F(ApiLab, TheServersCloudIsTracedAndDrawn) {
  const std::string server = " --server http://127.0.0.1:9696";
  const std::string svg = "/tmp/dvr-api-trace-" + std::to_string(::getpid()) + ".svg";
  // vm2 by its address (the server names VMs by port). The server knows nothing beyond
  // the external gateway, so the trace ends there: out of compute01's fip- and fg-.
  auto t = inLab("controller01",
                 kDvr + " trace" + server + " --from 192.168.111.5 --to 8.8.8.8 --svg " + svg);
  EXPECT_EQ(t.rc, 3) << t.out;
  EXPECT_NE(t.out.find("gateway 192.168.74.1"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find(" compute01  fip-"), std::string::npos) << t.out;
  auto picture = inLab("controller01", "cat " + svg + "; rm -f " + svg);
  // The floating IP's way, through the fip- namespace the server's cloud gives compute01.
  EXPECT_NE(picture.out.find("fip&#45;"), std::string::npos);
  EXPECT_NE(picture.out.find("</svg>"), std::string::npos);
  auto d = inLab("controller01", kDvr + " draw" + server + " --host compute01 --svg " + svg +
                                     " && grep -c '<svg' " + svg + "; rm -f " + svg);
  EXPECT_EQ(d.rc, 0) << d.out;
}

TEST_F(ApiLab, AgentsFollowTheServerAndBothPathsWork) {
  auto agents = openstack("network agent list -f json");
  ASSERT_EQ(agents.rc, 0) << agents.out;
  auto list = nlohmann::json::parse(agents.out);
  ASSERT_EQ(list.size(), 3u) << agents.out;
  for (const auto& a : list)
    EXPECT_EQ(a["Alive"], true) << agents.out;
  EXPECT_EQ(seenBy("vm2"), "192.168.74.104");  // floating IP, out of compute01
  std::string snat = seenBy("vm1");            // no floating IP: the router's qg- address
  EXPECT_FALSE(snat.empty());
  EXPECT_NE(snat, "192.168.74.104");
  auto ports =
      openstack("port list --device-owner network:router_gateway -f value -c 'Fixed IP Addresses'");
  EXPECT_NE(ports.out.find(snat), std::string::npos) << ports.out;
}

TEST_F(ApiLab, OpenstackCliAddsAVmWithAFloatingIpThatCarriesTraffic) {
  auto port = openstack("port create --network net-b --host compute02 p5 -f value -c id");
  ASSERT_EQ(port.rc, 0) << port.out;
  std::string port_id = port.out.substr(0, port.out.find('\n'));
  auto fip = openstack("floating ip create ext-net -f value -c floating_ip_address");
  ASSERT_EQ(fip.rc, 0) << fip.out;
  std::string address = fip.out.substr(0, fip.out.find('\n'));
  ASSERT_EQ(openstack("floating ip set --port p5 " + address).rc, 0);
  auto plug = sh(kDvr + " lab plug vm5 --port " + port_id);
  ASSERT_EQ(plug.rc, 0) << plug.out;
  bool through = false;
  for (int i = 0; i < 40 && !through; ++i)
    through = seenBy("vm5") == address;
  EXPECT_TRUE(through) << "vm5 never reached the internet from " << address;
}

// `openstack router set --disable`: the router leaves every host (Neutron's L3 agents drop
// a router that is not active), so its VM's floating IP carries nothing; `--enable` brings
// it back, the floating IP with it. Router1's VMs are not touched meanwhile.
TEST_F(ApiLab, ADisabledRouterLeavesEveryHostAndComesBackEnabled) {
  EXPECT_EQ(seenBy("vm2"), "192.168.74.104");
  auto id = openstack("router show router2 -f value -c id");
  ASSERT_EQ(id.rc, 0) << id.out;
  std::string ns = "qrouter-" + id.out.substr(0, id.out.find('\n'));
  ASSERT_EQ(openstack("router set --disable router2").rc, 0);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = inLab("compute01", "ip netns list").out.find(ns) == std::string::npos;
    if (!gone)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone) << ns << " stayed on compute01";
  EXPECT_NE(inLab("vm2", "ping -c 1 -W 1 8.8.8.8").rc, 0) << "a disabled router routed";
  EXPECT_EQ(inLab("vm1", "ping -c 1 -W 2 8.8.8.8").rc, 0) << "router1 is up";
  ASSERT_EQ(openstack("router set --enable router2").rc, 0);
  bool back = false;
  for (int i = 0; i < 40 && !back; ++i)
    back = seenBy("vm2") == "192.168.74.104";
  EXPECT_TRUE(back) << "vm2's floating IP never carried again";
}

// The server goes away and comes back: the data path carries on untouched meanwhile, and
// the agents resync and follow the changes made after the restart.
TEST_F(ApiLab, AServerRestartLosesNoPacketsAndTheAgentsResync) {
  Background ping(kDvr + " lab exec vm2 -- ping -i 0.01 -c 300 -W 1 8.8.8.8");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::string pid = testing::slurp("/run/dvr-lab.d/server.pid");
  pid.erase(pid.find_last_not_of("\n") + 1);
  ASSERT_EQ(
      sh("kill -TERM " + pid + " && while kill -0 " + pid + " 2>/dev/null; do sleep 0.05; done").rc,
      0);
  ASSERT_NE(openstack("network list").rc, 0);                    // really gone
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // agents retry meanwhile
  Background server(kDvr + " lab exec controller01 -- " + kDvr +
                    " server --bind 0.0.0.0:9696 --db sqlite:/run/dvr-lab.d/dvr.db");
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = openstack("network list -f value -c Name").rc == 0;
    if (!up)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(up) << server.errors();
  std::string out = ping.stop(10000);
  EXPECT_NE(out.find("300 packets transmitted, 300 received, 0% packet loss"), std::string::npos)
      << out;

  // A change after the restart reaches the data path: vm1 gets a floating IP.
  auto fip = openstack("floating ip create ext-net -f value -c floating_ip_address");
  ASSERT_EQ(fip.rc, 0) << fip.out;
  std::string address = fip.out.substr(0, fip.out.find('\n'));
  ASSERT_EQ(openstack("floating ip set --port vm1 " + address).rc, 0);
  bool through = false;
  for (int i = 0; i < 40 && !through; ++i)
    through = seenBy("vm1") == address;
  EXPECT_TRUE(through) << "vm1 never reached the internet from " << address;
}

TEST_F(ApiLab, AnAgentRestartFindsNothingToChange) {
  std::string pid = testing::slurp("/run/dvr-lab.d/compute01.pid");
  pid.erase(pid.find_last_not_of("\n") + 1);
  // The old agent is gone before the one-shot agent looks: no pass of its own overlaps.
  ASSERT_EQ(
      sh("kill -TERM " + pid + " && while kill -0 " + pid + " 2>/dev/null; do sleep 0.05; done").rc,
      0);
  auto again = inLab(
      "compute01", kDvr +
                       " agent --once --host compute01 --server http://172.16.0.10:9696 --mode dvr "
                       "--tunnel-ip 172.16.0.11 --uplink '*=eth1'");
  EXPECT_EQ(again.rc, 0) << again.out;
  EXPECT_NE(again.out.find("\n0 changes"), std::string::npos) << again.out;
}

}  // namespace
}  // namespace dvr
