// The eBPF floating-IP fast path on the seed's cloud (`dvr lab up --datapath fast`):
// the floating IP's traffic takes it both ways (its counters say so) with the frames the
// namespace path sends (the same uplink frame and VM frame are checked with it off), and
// what it must not take still gets the namespace path's answers: fragments, TTLs that
// expire in a router. A floating IP removed while a flow runs stops being NATed at once.
#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "lab_support.h"
#include "support.h"

namespace dvr {
namespace {

using testing::Background;
using testing::Capture;
using testing::inLab;
using testing::kDvr;
using testing::sh;

const std::string kVm2Fip = "192.168.74.104";

// `dvr fastpath` on compute01: program -> reason -> packets.
std::map<std::string, std::map<std::string, long>> counters() {
  std::map<std::string, std::map<std::string, long>> out;
  auto r = inLab("compute01", kDvr + " fastpath");
  static const std::regex line("(dvr_fip_\\w+):(.*)");
  static const std::regex pair("([a-z-]+) (\\d+)");
  std::smatch m;
  std::string text = r.out;
  for (std::sregex_iterator it(text.begin(), text.end(), line), end; it != end; ++it) {
    std::string rest = (*it)[2];
    for (std::sregex_iterator p(rest.begin(), rest.end(), pair); p != end; ++p)
      out[(*it)[1]][(*p)[1]] = std::stol((*p)[2]);
  }
  return out;
}

long delta(const std::map<std::string, std::map<std::string, long>>& before,
           const std::string& prog, const std::string& reason) {
  auto now = counters();
  long b = before.count(prog) && before.at(prog).count(reason) ? before.at(prog).at(reason) : 0;
  return now[prog][reason] - b;
}

class FastPathLab : public testing::LabTest {
 protected:
  std::string upOptions() const override { return "--datapath fast "; }
  model::Cloud cloud = testing::seedCloud();
  // The first packet resolves the gateway in fip- (the namespace path); the agent then
  // fills the entries. Waits until vm2's pings are fast-pathed.
  bool waitFast() {
    for (int i = 0; i < 50; ++i) {
      auto before = counters();
      inLab("vm2", "ping -c 1 -W 1 8.8.8.8");
      if (delta(before, "dvr_fip_out", "fast") > 0)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  std::string portIp(const std::string& owner, const std::string& router_prefix) {
    for (const auto& p : cloud.ports) {
      if (p.device_owner == owner && p.device_id.rfind(router_prefix, 0) == 0)
        return p.ip.str();
    }
    return "?";
  }
};

TEST_F(FastPathLab, TheFloatingIpsPingsTakeTheFastPathBothWays) {
  ASSERT_TRUE(waitFast()) << inLab("compute01", kDvr + " fastpath").out;
  auto before = counters();
  auto out = inLab("vm2", "ping -c 5 -i 0.05 -W 2 8.8.8.8");
  ASSERT_EQ(out.rc, 0) << out.out;
  EXPECT_GE(delta(before, "dvr_fip_out", "fast"), 5);  // the requests
  EXPECT_GE(delta(before, "dvr_fip_in", "fast"), 5);   // the replies
  before = counters();
  auto in = inLab("internet", "ping -c 5 -i 0.05 -W 2 " + kVm2Fip);
  ASSERT_EQ(in.rc, 0) << in.out;
  EXPECT_GE(delta(before, "dvr_fip_in", "fast"), 5);
  EXPECT_GE(delta(before, "dvr_fip_out", "fast"), 5);
  EXPECT_EQ(delta(before, "dvr_fip_out", "error") + delta(before, "dvr_fip_in", "error"), 0);
  // The agent's metrics show the same kernel counters.
  auto metrics = inLab("compute01", "curl -s 127.0.0.1:9697/metrics");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      metrics.out, m,
      std::regex("dvr_agent_fastpath_packets\\{program=\"dvr_fip_out\",reason=\"fast\"\\} (\\d+)")))
      << metrics.out;
  EXPECT_GE(std::stol(m[1]), 10);
  // TCP both ways (checksums rewritten right, or the connection would not open).
  Background srv(kDvr +
                 " lab exec internet -- timeout 5 python3 -c \"import socket;"
                 "s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
                 "s.bind(('0.0.0.0',8081));s.listen(1);c,a=s.accept();print(a[0]);"
                 "c.sendall(c.recv(100))\"");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  before = counters();
  // The client retries while the server is still starting (python under a loaded lab).
  auto tcp = inLab("vm2",
                   "python3 -c \"import socket,time\n"
                   "for i in range(50):\n"
                   "  try: c=socket.create_connection(('8.8.8.8',8081),timeout=3);break\n"
                   "  except ConnectionRefusedError: time.sleep(0.1)\n"
                   "c.sendall(b'x'*50);print(len(c.recv(100)))\"");
  EXPECT_EQ(tcp.rc, 0) << tcp.out;
  EXPECT_NE(tcp.out.find("50"), std::string::npos) << tcp.out;
  EXPECT_NE(srv.stop(3000).find(kVm2Fip), std::string::npos);
  EXPECT_GE(delta(before, "dvr_fip_out", "fast"), 3);
  // The qrouter- no longer sees them: tcpdump there stays quiet (README says so).
  Capture qr("compute01", "tapb4b97d8a-7c", "icmp");
  EXPECT_EQ(inLab("vm2", "ping -c 3 -i 0.05 -W 2 8.8.8.8").rc, 0);
  EXPECT_EQ(qr.stop().find("8.8.8.8"), std::string::npos);
}

TEST_F(FastPathLab, FragmentsFallBackAndAreAnswered) {
  ASSERT_TRUE(waitFast());
  // The lab's internet sits on 1500-byte links while the seed's external network is
  // 1450: its replies would be too large for fg- either way (the namespace path drops
  // them at the bridge too). On a 1450 link it fragments them to fit.
  ASSERT_EQ(inLab("internet", "ip link set eth0 mtu 1450").rc, 0);
  ASSERT_EQ(inLab("gateway", "ip link set e-internet mtu 1450").rc, 0);
  auto before = counters();
  auto r = inLab("vm2", "ping -c 2 -s 3000 -W 2 8.8.8.8");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_GE(delta(before, "dvr_fip_out", "fragment"), 4);  // 2 requests in 3 fragments
  EXPECT_GE(delta(before, "dvr_fip_in", "fragment"), 4);   // and their replies
}

TEST_F(FastPathLab, TtlsThatExpireInARouterFallBackAndTheRoutersAnswer) {
  ASSERT_TRUE(waitFast());
  auto before = counters();
  // TTL 1 expires in qrouter- (its qr- address answers), TTL 2 in fip-.
  auto t1 = inLab("vm2", "ping -c 1 -t 1 -W 2 8.8.8.8");
  EXPECT_NE(t1.out.find("From 192.168.111.1 icmp_seq=1 Time to live exceeded"), std::string::npos)
      << t1.out;
  auto t2 = inLab("vm2", "ping -c 1 -t 2 -W 2 8.8.8.8");
  EXPECT_NE(t2.out.find("Time to live exceeded"), std::string::npos) << t2.out;
  EXPECT_EQ(delta(before, "dvr_fip_out", "ttl"), 2);
  // TTL 3 leaves fast: it reaches the gateway with 1 and expires there; the gateway's
  // error quotes the floating IP and is translated back, as conntrack would.
  before = counters();
  auto t3 = inLab("vm2", "ping -c 1 -t 3 -W 2 8.8.8.8");
  EXPECT_NE(t3.out.find("From 192.168.74.1 icmp_seq=1 Time to live exceeded"), std::string::npos)
      << t3.out;
  // The same for UDP, as traceroute sends it: the VM's connected socket gets the error only if the
  // quoted header (addresses, ports) is its own again.
  const std::string udp_trace =
      "python3 -c \"import socket,struct,time\n"
      "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
      "s.setsockopt(socket.IPPROTO_IP,socket.IP_TTL,3)\n"
      "s.setsockopt(socket.IPPROTO_IP,11,1)\n"  // IP_RECVERR
      "s.connect(('8.8.8.8',33434));s.send(b'x')\n"
      "for i in range(40):\n"
      "  try:\n"
      "    m,anc,f,a=s.recvmsg(512,512,socket.MSG_ERRQUEUE|socket.MSG_DONTWAIT)\n"
      "    d=anc[0][2];print('icmp type',d[5],'from',socket.inet_ntoa(d[20:24]));break\n"
      "  except BlockingIOError: time.sleep(0.05)\n\"";
  auto u3 = inLab("vm2", udp_trace);
  EXPECT_NE(u3.out.find("icmp type 11 from 192.168.74.1"), std::string::npos) << u3.out;
  EXPECT_GE(delta(before, "dvr_fip_in", "fast"), 2) << "the errors came back fast";
}

TEST_F(FastPathLab, AFloatingIpRemovedWhileAPingRunsStopsBeingNatedAtOnce) {
  ASSERT_TRUE(waitFast());
  Background ping(kDvr + " lab exec vm2 -- ping -i 0.02 -c 300 -W 1 8.8.8.8");
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  auto r = applySeedWith("  - {network: ext-net, address: 192.168.74.104, vm: vm2}\n", "");
  ASSERT_EQ(r.rc, 0) << r.out;
  // The agent follows the file within milliseconds; give it a little.
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    auto dump = inLab("compute01", kDvr + " fastpath");
    gone = dump.rc == 0 && dump.out.find("dvr_fip_in_map key eth1 " + kVm2Fip) == std::string::npos;
    if (!gone)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(gone) << "vm2's inbound entry is still there";
  std::string uplink, snat;
  {
    Capture cmp("compute01", "eth1", "icmp");
    Capture ctl("controller01", "eth1", "icmp");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    uplink = cmp.stop();
    snat = ctl.stop();
  }
  ping.stop(10000);
  EXPECT_EQ(uplink.find(kVm2Fip + " > 8.8.8.8"), std::string::npos) << uplink;
  // vm2's traffic now leaves through its router's SNAT on the controller.
  std::string qg = portIp(model::kOwnerRouterGateway, "242fcb80");
  EXPECT_NE(snat.find(qg + " > 8.8.8.8: ICMP echo request"), std::string::npos) << snat;
}

TEST_F(FastPathLab, AnAgentRestartKeepsProgramsAndEntriesAndLosesNoPacket) {
  ASSERT_TRUE(waitFast());
  auto before = counters();
  Background ping(kDvr + " lab exec vm2 -- ping -i 0.01 -c 300 -W 1 8.8.8.8");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  sh("kill -TERM " + testing::slurp("/run/dvr-lab.d/compute01.pid"));
  // The new agent finds its pinned programs and maps, attached and filled: nothing to do.
  auto again = inLab("compute01", kDvr +
                                      " agent --once --datapath fast --host compute01 "
                                      "--topology /run/dvr-lab.d/topology.yaml");
  EXPECT_NE(again.out.find("\n0 changes"), std::string::npos) << again.out;
  std::string out = ping.stop(15000);
  EXPECT_NE(out.find("300 packets transmitted, 300 received, 0% packet loss"), std::string::npos)
      << out;
  EXPECT_GE(delta(before, "dvr_fip_out", "fast"), 300);
  EXPECT_GE(delta(before, "dvr_fip_in", "fast"), 300);
}

// The frames leaving the uplink and reaching the VM, with the fast path on and off: the
// same MACs, addresses and TTLs.
class FastPathFrames : public testing::LabTest, public ::testing::WithParamInterface<std::string> {
 protected:
  std::string upOptions() const override { return "--datapath " + GetParam() + " "; }
};

TEST_P(FastPathFrames, UplinkAndVmSeeTheNamespacePathsFrames) {
  model::Cloud cloud = testing::seedCloud();
  std::string fg, gw, qr, vm;
  for (const auto& p : cloud.ports) {
    if (p.device_owner == model::kOwnerFipGateway && p.host == "compute01")
      fg = p.mac.str();
    if (p.name == "vm2")
      vm = p.mac.str();
  }
  for (const auto& s : cloud.subnets) {
    if (!s.gateway_mac.isZero())
      gw = s.gateway_mac.str();
  }
  qr = "fa:16:3e:ac:30:ff";  // router2's qr- in the seed
  // Warm up: the first packets resolve neighbours (and, fast, fill the entries).
  for (int i = 0; i < 10; ++i) {
    inLab("vm2", "ping -c 1 -W 1 8.8.8.8");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Capture uplink("compute01", "eth1", "-v icmp");
  Capture at_vm("vm2", "eth0", "-v icmp");
  auto r = inLab("vm2", "ping -c 3 -i 0.1 -W 2 8.8.8.8");
  ASSERT_EQ(r.rc, 0) << r.out;
  std::string up = uplink.stop(), v = at_vm.stop();
  // Out: fg- -> the gateway, from the floating IP, TTL 64 less the two routers.
  EXPECT_NE(up.find(fg + " > " + gw), std::string::npos) << up;
  EXPECT_NE(up.find("ttl 62"), std::string::npos) << up;
  EXPECT_NE(up.find(kVm2Fip + " > 8.8.8.8: ICMP echo request"), std::string::npos) << up;
  EXPECT_EQ(up.find("192.168.111.5"), std::string::npos) << up;
  // In: qr- -> vm2, to the fixed IP, TTL 64 less the gateway and the two routers.
  EXPECT_NE(v.find(qr + " > " + vm), std::string::npos) << v;
  EXPECT_NE(v.find("ttl 61"), std::string::npos) << v;
  EXPECT_NE(v.find("8.8.8.8 > 192.168.111.5: ICMP echo reply"), std::string::npos) << v;
}

INSTANTIATE_TEST_SUITE_P(Datapath, FastPathFrames, ::testing::Values("namespaces", "fast"));

}  // namespace
}  // namespace dvr
