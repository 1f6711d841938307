// Security groups proven by traffic: the seed's cloud with groups
// (examples/security-groups.yaml) as a lab, and what VMs, `internet` and `gateway` can
// and cannot reach through the filters the agents made; rule and membership changes
// applied by the running agents; anti-spoofing; overlapping addresses kept apart.
#include <gtest/gtest.h>

#include <fstream>

#include "lab_support.h"

namespace dvr::testing {
namespace {

const std::string kGroupsFile = std::string(DVR_SOURCE_DIR) + "/examples/security-groups.yaml";
const std::string kVm2Fip = "192.168.74.104";

// A TCP listener in `vm` on `port` that answers "hi" to each connection, for `seconds`.
std::string listener(const std::string& vm, int port, int seconds = 20) {
  return kDvr + " lab exec " + vm + " -- timeout " + std::to_string(seconds) +
         " python3 -c 'import socket\n"
         "s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
         "s.bind((\"0.0.0.0\"," +
         std::to_string(port) +
         "));s.listen()\n"
         "while True:\n c,_=s.accept();c.send(b\"hi\");c.close()'";
}

// Whether `node` connects to ip:port and reads the listener's "hi" within 2 s.
bool connects(const std::string& node, const std::string& ip, int port) {
  auto r = inLab(node, "timeout 4 python3 -c 'import socket;s=socket.create_connection((\"" + ip +
                           "\"," + std::to_string(port) + "),2);assert s.recv(2)==b\"hi\"'");
  return r.rc == 0;
}

bool pings(const std::string& node, const std::string& ip, const std::string& opts = "") {
  return inLab(node, "ping -c 1 -W 1 " + opts + " " + ip).rc == 0;
}

class SecurityGroupLab : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root (namespaces)";
    sh(kDvr + " lab down");
    auto r = sh(kDvr + " lab up " + kGroupsFile);
    ASSERT_EQ(r.rc, 0) << r.out;
  }
  void TearDown() override {
    if (::geteuid() == 0)
      sh(kDvr + " lab down");
  }
  // Applies the groups file with each (from, to) edit made to its text (`verb` "up":
  // builds the lab anew from it).
  void applyWith(const std::vector<std::pair<std::string, std::string>>& edits,
                 const std::string& verb = "apply") {
    std::string text = slurp(kGroupsFile);
    for (const auto& [from, to] : edits) {
      auto at = text.find(from);
      ASSERT_NE(at, std::string::npos) << "the file has no '" << from << "'";
      text.replace(at, from.size(), to);
    }
    std::string path = "/tmp/dvr-sg-topology-" + std::to_string(::getpid()) + ".yaml";
    std::ofstream(path) << text;
    if (verb == "up")
      sh(kDvr + " lab down");
    auto r = sh(kDvr + " lab " + verb + " " + path);
    ::unlink(path.c_str());
    ASSERT_EQ(r.rc, 0) << r.out;
  }
  bool waitFor(const std::function<bool()>& ok, int tries = 30) {
    for (int i = 0; i < tries; ++i) {
      if (ok())
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
};

TEST_F(SecurityGroupLab, IngressTcp22IsAllowedThroughTheFloatingIpAndNothingElse) {
  Background ssh(listener("vm2", 22)), telnet(listener("vm2", 23));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(connects("internet", kVm2Fip, 22));
  EXPECT_FALSE(connects("internet", kVm2Fip, 23));
  // ICMP is allowed from 8.8.8.8 only (a remote-prefix rule): internet yes, gateway no.
  EXPECT_TRUE(pings("internet", kVm2Fip));
  EXPECT_FALSE(pings("gateway", kVm2Fip));
  // vm1's own connections out pass, and their replies come back as established: its
  // group lets in nothing from 8.8.8.8.
  EXPECT_TRUE(pings("vm1", "8.8.8.8"));
}

TEST_F(SecurityGroupLab, AnAddedRuleOpensPingWithinASecondWithoutLossForAnotherVm) {
  ASSERT_FALSE(pings("gateway", kVm2Fip));
  // vm1 pings vm4 (default group, another host) all along.
  Background other(kDvr + " lab exec vm1 -- ping -i 0.01 -c 300 10.16.1.3");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  applyWith({{"      - {direction: ingress, protocol: icmp, remote_ip_prefix: 8.8.8.8/32}",
              "      - {direction: ingress, protocol: icmp, remote_ip_prefix: 8.8.8.8/32}\n"
              "      - {direction: ingress, protocol: icmp, remote_ip_prefix: 192.168.74.0/24}"}});
  EXPECT_TRUE(waitFor([] { return pings("gateway", kVm2Fip); }, 10));
  std::string out = other.stop(6000);
  EXPECT_NE(out.find("300 packets transmitted, 300 received"), std::string::npos) << out;
}

TEST_F(SecurityGroupLab, TheDefaultGroupAdmitsItsMembersOnlyAndJoiningOpensThePath) {
  EXPECT_TRUE(pings("vm1", "10.16.1.3"));   // vm1 -> vm4: both in default, across hosts
  EXPECT_TRUE(pings("vm4", "10.16.0.3"));   // and back
  EXPECT_FALSE(pings("vm1", "10.16.0.5"));  // vm5 (closed) lets nothing in
  EXPECT_FALSE(pings("vm5", "10.16.0.3"));  // vm5 is no member of vm1's default group
  applyWith({{"security_groups: [closed]", "security_groups: [default]"}});
  EXPECT_TRUE(waitFor([] { return pings("vm5", "10.16.0.3"); }));
  EXPECT_TRUE(pings("vm1", "10.16.0.5"));
}

TEST_F(SecurityGroupLab, EgressRulesLimitWhatAVmStartsAndASecondReconcileChangesNothing) {
  for (const char* host : {"compute01", "compute02"}) {
    auto again = inLab(
        host, kDvr + " agent --once --host " + host + " --topology /run/dvr-lab.d/topology.yaml");
    EXPECT_NE(again.out.find("\n0 changes"), std::string::npos) << again.out;
  }
  ASSERT_TRUE(pings("vm2", "8.8.8.8"));
  // vm2's group may only start TCP connections to port 22.
  applyWith(
      {{"  - name: ssh\n    rules:\n      - {direction: egress}",
        "  - name: ssh\n    rules:\n"
        "      - {direction: egress, protocol: tcp, port_range_min: 22, port_range_max: 22}"}});
  EXPECT_TRUE(waitFor([] { return !pings("vm2", "8.8.8.8"); }));
  Background ssh(listener("internet", 22)), web(listener("internet", 80));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(connects("vm2", "8.8.8.8", 22));
  EXPECT_FALSE(connects("vm2", "8.8.8.8", 80));
}

const std::string kQrouter1 = "qrouter-13fe8525-da22-42de-aeb6-84f41a3b607d";

// An ARP request from vm1 claiming `sender`, for its gateway 10.16.0.1 (the router learns
// the sender from it, as Linux does for a request to its own address).
void arpFrom(const std::string& sender) {
  inLab("vm1",
        "python3 -c 'import socket,struct\n"
        "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW);s.bind((\"eth0\",0))\n"
        "m=s.getsockname()[4]\n"
        "s.send(b\"\\xff\"*6+m+b\"\\x08\\x06\"+struct.pack(\"!HHBBH\",1,0x800,6,4,1)+m+"
        "socket.inet_aton(\"" +
            sender + "\")+b\"\\x00\"*6+socket.inet_aton(\"10.16.0.1\"))'");
}

bool routerKnows(const std::string& ip) {
  auto r = inLab("compute01", "ip -n " + kQrouter1 + " neigh show " + ip);
  return r.out.find("lladdr") != std::string::npos;
}

TEST_F(SecurityGroupLab, ASpoofedSourceIsDroppedUnlessAnAddressPairOrNoPortSecurityAllowsIt) {
  const std::string gw = "10.16.0.1";  // vm1's router port: not filtered, answers anyone
  std::string link = inLab("vm1", "ip -o link show eth0").out;
  std::string own_mac = link.substr(link.find("link/ether ") + 11, 17);
  ASSERT_TRUE(pings("vm1", gw));
  inLab("vm1", "ip addr add 10.16.0.99/24 dev eth0");
  EXPECT_FALSE(pings("vm1", gw, "-I 10.16.0.99"));  // another IP: dropped at vm1's port
  arpFrom("10.16.0.98");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(routerKnows("10.16.0.98"));  // an ARP for another IP: dropped too
  inLab("vm1", "ip link set eth0 address fa:16:3e:00:00:99");
  EXPECT_FALSE(pings("vm1", gw));  // another MAC: dropped
  inLab("vm1", "ip link set eth0 address " + own_mac);
  EXPECT_TRUE(waitFor([&] { return pings("vm1", gw); }));

  // An allowed address pair lets that IP through (with the port's MAC).
  const std::string vm1 =
      "  - {name: vm1, network: net-a, host: compute01, ip: 10.16.0.3, security_groups: [default]}";
  applyWith({{vm1,
              "  - {name: vm1, network: net-a, host: compute01, ip: 10.16.0.3, "
              "security_groups: [default], allowed_address_pairs: [{ip_address: 10.16.0.99}]}"}});
  EXPECT_TRUE(waitFor([&] { return pings("vm1", gw, "-I 10.16.0.99"); }));

  // A pair that is a network (in a set of its own, an interval set) lets its addresses
  // through, and still not the others.
  applyWith(
      {{vm1,
        "  - {name: vm1, network: net-a, host: compute01, ip: 10.16.0.3, "
        "security_groups: [default], allowed_address_pairs: [{ip_address: 10.16.0.104/29}]}"}});
  inLab("vm1", "ip addr add 10.16.0.105/24 dev eth0");
  EXPECT_TRUE(waitFor([&] { return pings("vm1", gw, "-I 10.16.0.105"); }));
  EXPECT_FALSE(pings("vm1", gw, "-I 10.16.0.99"));

  // Without port security everything passes: another IP, an ARP claiming another IP.
  applyWith({{vm1, "  - {name: vm1, network: net-a, host: compute01, ip: 10.16.0.3}"}});
  inLab("vm1", "ip addr add 10.16.0.98/24 dev eth0");
  EXPECT_TRUE(waitFor([&] { return pings("vm1", gw, "-I 10.16.0.98"); }));
  EXPECT_TRUE(routerKnows("10.16.0.98"));
}

TEST_F(SecurityGroupLab, AnEstablishedConnectionSurvivesAnUnrelatedRuleChangeAndAnAgentRestart) {
  // internet holds one TCP connection to vm2:22 and exchanges a line every 50 ms.
  Background server(kDvr +
                    " lab exec vm2 -- timeout 30 python3 -c 'import socket\n"
                    "s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                    "s.bind((\"0.0.0.0\",22));s.listen();c,_=s.accept()\n"
                    "while True:\n d=c.recv(100)\n if not d: break\n c.send(d)'");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Background client(kDvr +
                    " lab exec internet -- timeout 30 python3 -c 'import socket,time\n"
                    "s=socket.create_connection((\"" +
                    kVm2Fip +
                    "\",22),2);s.settimeout(2)\n"
                    "n=0\n"
                    "for i in range(120):\n s.send(b\"x\");n+=len(s.recv(1));time.sleep(0.05)\n"
                    "print(\"echoed\",n)'");
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  // A rule added to vm2's own group rewrites that group's chain, not the connection.
  applyWith(
      {{"      - {direction: ingress, protocol: icmp, remote_ip_prefix: 8.8.8.8/32}",
        "      - {direction: ingress, protocol: icmp, remote_ip_prefix: 8.8.8.8/32}\n"
        "      - {direction: ingress, protocol: udp, port_range_min: 53, port_range_max: 53}"}});
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  sh("kill -TERM " + slurp("/run/dvr-lab.d/compute01.pid"));
  auto again = inLab(
      "compute01", kDvr + " agent --once --host compute01 --topology /run/dvr-lab.d/topology.yaml");
  EXPECT_NE(again.out.find("\n0 changes"), std::string::npos) << again.out;
  std::string out = client.stop(15000);
  EXPECT_NE(out.find("echoed 120"), std::string::npos) << out << client.errors();
}

TEST_F(SecurityGroupLab, TwoFilteredVmsWithOneAddressOnTwoNetworksKeepTheirConnectionsApart) {
  // vm3 (net-c, router3, floating IP .102) has vm1's address 10.16.0.3 (net-a) and a
  // group: both are filtered on compute01, and both ping 8.8.8.8 at once.
  applyWith({{"  - {name: vm3, network: net-c, host: compute01, ip: 10.16.0.4}",
              "  - {name: vm3, network: net-c, host: compute01, ip: 10.16.0.3, "
              "security_groups: [closed]}"}},
            "up");
  ASSERT_TRUE(waitFor([] { return pings("vm3", "8.8.8.8"); }, 50));
  Background p1(kDvr + " lab exec vm1 -- ping -i 0.02 -c 100 8.8.8.8");
  Background p3(kDvr + " lab exec vm3 -- ping -i 0.02 -c 100 8.8.8.8");
  std::string o1 = p1.stop(8000), o3 = p3.stop(8000);
  EXPECT_NE(o1.find("100 packets transmitted, 100 received"), std::string::npos) << o1;
  EXPECT_NE(o3.find("100 packets transmitted, 100 received"), std::string::npos) << o3;
  // In compute01's host namespace each one's flow is tracked in its network's zone.
  auto ct = inLab("compute01", "conntrack -L -p icmp -s 10.16.0.3");
  EXPECT_NE(ct.out.find("zone=1001"), std::string::npos) << ct.out;  // net-a
  EXPECT_NE(ct.out.find("zone=1004"), std::string::npos) << ct.out;  // net-c
}

// The same cloud the Neutron way (`dvr lab up --api`: the server on controller01, the
// agents following it), and security groups changed with Debian's `openstack` CLI.
class SecurityGroupApiLab : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root (namespaces)";
    sh(kDvr + " lab down");
    auto r = sh(kDvr + " lab up --api " + kGroupsFile);
    ASSERT_EQ(r.rc, 0) << r.out;
  }
  void TearDown() override {
    if (::geteuid() == 0)
      sh(kDvr + " lab down");
  }
  // The command's first line of output (an id with `-f value -c id`), asserting success.
  std::string openstack(const std::string& args) {
    auto r = inLab("controller01",
                   "openstack --os-auth-type none --os-endpoint http://127.0.0.1:9696 " + args);
    EXPECT_EQ(r.rc, 0) << "openstack " << args << "\n" << r.out;
    return r.out.substr(0, r.out.find('\n'));
  }
  bool waitFor(const std::function<bool()>& ok, int tries = 50) {
    for (int i = 0; i < tries; ++i) {
      if (ok())
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
};

TEST_F(SecurityGroupApiLab, AGroupMadeWithTheCliOpensAPortAndItsRuleDeletedClosesIt) {
  // vm5 (compute02, group closed: nothing in) listens on tcp/8080; vm1 (compute01, same
  // network) tries to connect.
  Background web(listener("vm5", 8080, 120));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_FALSE(connects("vm1", "10.16.0.5", 8080));
  openstack("security group create web -f value -c id");
  std::string rule = openstack(
      "security group rule create --ingress --protocol tcp --dst-port 8080 web -f value -c id");
  openstack("port set --no-security-group --security-group web vm5");
  EXPECT_TRUE(waitFor([] { return connects("vm1", "10.16.0.5", 8080); }, 15))
      << "vm5's new group never let tcp/8080 in";
  EXPECT_FALSE(pings("vm1", "10.16.0.5"));  // web has no ICMP rule
  openstack("security group rule delete " + rule);
  EXPECT_TRUE(waitFor([] { return !connects("vm1", "10.16.0.5", 8080); }))
      << "tcp/8080 still passes with its rule deleted";
  EXPECT_FALSE(connects("vm1", "10.16.0.5", 8080));
}

TEST_F(SecurityGroupApiLab, AnAddressPairOrNoPortSecuritySetWithTheCliLetsASpoofedSourcePass) {
  // vm1 (compute01, group default) pings its router port 10.16.0.1 (not filtered, answers
  // anyone) from an address of its own and from addresses the server never gave it.
  const std::string gw = "10.16.0.1";
  ASSERT_TRUE(pings("vm1", gw));
  inLab("vm1", "ip addr add 10.16.0.99/24 dev eth0");
  inLab("vm1", "ip addr add 10.16.0.98/24 dev eth0");
  EXPECT_FALSE(pings("vm1", gw, "-I 10.16.0.99"));  // another IP: dropped at vm1's port

  openstack("port set --allowed-address ip-address=10.16.0.99 vm1");
  EXPECT_TRUE(waitFor([&] { return pings("vm1", gw, "-I 10.16.0.99"); }, 15))
      << "the allowed address pair set with the CLI never let 10.16.0.99 out";
  EXPECT_FALSE(pings("vm1", gw, "-I 10.16.0.98"));  // the pair is that address only

  // (`port unset --allowed-address ip-address=X` would not do: the client looks for the
  // pair without its MAC, and Neutron, as dvr, shows the port's MAC in it.)
  openstack("port set --no-allowed-address vm1");
  EXPECT_TRUE(waitFor([&] { return !pings("vm1", gw, "-I 10.16.0.99"); }))
      << "10.16.0.99 still passes with the port's address pairs cleared";

  // Without port security (and so without groups) every source passes.
  openstack("port set --no-security-group --disable-port-security vm1");
  EXPECT_TRUE(waitFor([&] { return pings("vm1", gw, "-I 10.16.0.98"); }, 15))
      << "a port without port security still drops a source not its own";
  EXPECT_TRUE(pings("vm1", gw, "-I 10.16.0.99"));
  EXPECT_EQ(openstack("port show vm1 -f value -c port_security_enabled"), "False");
}

}  // namespace
}  // namespace dvr::testing
