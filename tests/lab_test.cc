// The seed's North-South paths for real, on the seed's cloud built by `dvr lab`: packets
// that arrive, headers that were rewritten (captured with tcpdump), the seed's listings,
// and the agent's reconcile behaviour (idempotence, drift repair, loss-free changes).
#include <gtest/gtest.h>

#include <optional>

#include <nlohmann/json.hpp>

#include "lab_support.h"
#include "model/topology_json.h"
#include "plan/names.h"
#include "support.h"

namespace dvr {
namespace {

using testing::Background;
using testing::Capture;
using testing::inLab;
using testing::kDvr;
using testing::macPairs;
using testing::sh;

const std::string kFip = "fip-5a1e2b3c-4d5e-4f60-8a71-92b3c4d5e6f7";
const std::string kQrouter2 = "qrouter-242fcb80-e9e1-410b-ba4e-7617d1c384ad";
const std::string kPy = "/usr/bin/python3 -c ";
// Accepts one TCP connection on 8080 and prints the peer's address.
const std::string kServer =
    kPy +
    "\"import socket;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
    "s.bind(('0.0.0.0',8080));s.listen(1);c,a=s.accept();print(a[0],flush=True);c.close()\"";
std::string client(const std::string& ip) {
  return kPy + "\"import socket;socket.create_connection(('" + ip + "',8080),timeout=3).close()\"";
}

// The peer address a TCP server on `server` sees when `from` connects to `to_ip`.
std::string peerSeen(const std::string& server, const std::string& from, const std::string& to_ip) {
  Background srv(kDvr + " lab exec " + server + " -- " + kServer);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto c = inLab(from, client(to_ip));
  EXPECT_EQ(c.rc, 0) << c.out;
  std::string out = srv.stop(3000);
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

class SeedLab : public testing::LabTest {
 protected:
  model::Cloud cloud = testing::seedCloud();
  const model::Port& port(const std::string& owner, const std::string& router_prefix) {
    for (const auto& p : cloud.ports) {
      if (p.device_owner == owner && p.device_id.rfind(router_prefix, 0) == 0)
        return p;
    }
    throw std::runtime_error("no port");
  }
};

// The seed's North-South paths, on the lab built from the file (`dvr lab up`) and on the
// lab built through the API (`dvr lab up --api`: a server, agents following it, the
// resources made by API calls). The VMs' ports carry the seed's MACs and addresses either
// way; what the server allocates (ids, DVR MACs, router ports) is read back from it.
class SeedPaths : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root (namespaces)";
    sh(kDvr + " lab down");
    auto r = sh(kDvr + " lab up " + (GetParam() == "api" ? "--api " : "") + testing::kSeed);
    ASSERT_EQ(r.rc, 0) << r.out;
    if (GetParam() == "api") {
      auto topo = inLab("controller01", "curl -s 'http://127.0.0.1:9696/dvr/v1/topology?since=0'");
      ASSERT_EQ(topo.rc, 0) << topo.out;
      live = ipam::resolve(model::topologyFromJson(nlohmann::json::parse(topo.out).at("topology")),
                           "server");
    }
  }
  void TearDown() override {
    if (::geteuid() == 0)
      sh(kDvr + " lab down");
  }
  model::Cloud seed = testing::seedCloud();
  model::Cloud live = seed;  // the cloud as the agents run it

  const model::Port& vmPort(const std::string& vm) {
    Mac mac = seed.findVm(vm)->mac;
    for (const auto& p : live.ports) {
      if (p.mac == mac)
        return p;
    }
    throw std::runtime_error("no port with " + vm + "'s MAC");
  }
  // The sg- or qg- port of the router serving `vm`'s subnet.
  const model::Port& routerPort(const std::string& vm, const std::string& owner) {
    const model::Port& v = vmPort(vm);
    for (const auto& r : live.routers) {
      for (size_t k = 0; k < r.interface_ports.size(); ++k) {
        if (live.ports[r.interface_ports[k]].subnet_id != v.subnet_id)
          continue;
        if (owner == model::kOwnerSnat)
          return live.ports[r.snat_ports.at(k)];
        return live.ports[r.gateway_port.value()];
      }
    }
    throw std::runtime_error("no router for " + vm);
  }
  std::string dvrMac(const std::string& host) { return live.findHost(host)->dvr_mac.str(); }
  std::string fgMac(const std::string& host) {
    for (const auto& p : live.ports) {
      if (p.device_owner == model::kOwnerFipGateway && p.host == host)
        return p.mac.str();
    }
    throw std::runtime_error("no fg- port on " + host);
  }
};

TEST_P(SeedPaths, Case1NoFloatingIpGoesThroughTheControllerSnat) {
  const auto& sg = routerPort("vm1", model::kOwnerSnat);
  const auto& qg = routerPort("vm1", model::kOwnerRouterGateway);
  Capture underlay("fabric", "u-compute01", "udp port 4789");
  Capture ctl_uplink("controller01", "eth1", "icmp");
  Capture cmp_uplink("compute01", "eth1", "icmp");
  auto ping = inLab("vm1", "ping -c 2 -W 2 8.8.8.8");
  ASSERT_EQ(ping.rc, 0) << ping.out;
  // Underlay: compute01 -> controller01, inner frame DVR MAC of compute01 -> sg- MAC.
  std::string ul = underlay.stop();
  EXPECT_NE(ul.find("172.16.0.11."), std::string::npos) << ul;
  EXPECT_NE(ul.find(dvrMac("compute01") + " > " + sg.mac.str()), std::string::npos) << ul;
  EXPECT_NE(ul.find("10.16.0.3 > 8.8.8.8"), std::string::npos) << ul;
  // It leaves controller01's uplink with qg-'s MAC and IP, not compute01's.
  std::string up = ctl_uplink.stop();
  EXPECT_NE(up.find(qg.mac.str() + " > "), std::string::npos) << up;
  EXPECT_NE(up.find(qg.ip.str() + " > 8.8.8.8"), std::string::npos) << up;
  EXPECT_EQ(cmp_uplink.stop().find("8.8.8.8"), std::string::npos);
  // A TCP server on the internet sees the router's qg- address.
  EXPECT_EQ(peerSeen("internet", "vm1", "8.8.8.8"), qg.ip.str());
}

TEST_P(SeedPaths, Case2FloatingIpLeavesFromTheComputeNode) {
  const std::string fg = fgMac("compute01");  // fa:16:3e:d2:85:89 in the seed
  Capture ctl_uplink("controller01", "eth1", "icmp");
  Capture cmp_uplink("compute01", "eth1", "icmp");
  auto ping = inLab("vm2", "ping -c 2 -W 2 8.8.8.8");
  ASSERT_EQ(ping.rc, 0) << ping.out;
  std::string up = cmp_uplink.stop();
  EXPECT_NE(up.find(fg + " > "), std::string::npos) << up;
  EXPECT_NE(up.find("192.168.74.104 > 8.8.8.8"), std::string::npos) << up;
  EXPECT_EQ(ctl_uplink.stop().find("8.8.8.8"), std::string::npos);
  // The gateway learnt the floating IP at fg-'s MAC (proxy ARP on compute01).
  auto neigh = inLab("gateway", "ip neigh show 192.168.74.104");
  EXPECT_NE(neigh.out.find("lladdr " + fg), std::string::npos) << neigh.out;
  // Outbound, the internet sees the floating IP; inbound, vm2 sees the internet's address.
  EXPECT_EQ(peerSeen("internet", "vm2", "8.8.8.8"), "192.168.74.104");
  EXPECT_EQ(peerSeen("vm2", "internet", "192.168.74.104"), "8.8.8.8");
}

TEST_F(SeedLab, Compute01ShowsTheSeedsListings) {
  auto ns = inLab("compute01", "ip netns");
  EXPECT_NE(ns.out.find("qrouter-13fe8525-da22-42de-aeb6-84f41a3b607d"), std::string::npos)
      << ns.out;
  EXPECT_NE(ns.out.find(kQrouter2), std::string::npos) << ns.out;
  EXPECT_NE(ns.out.find(kFip), std::string::npos) << ns.out;
  EXPECT_EQ(ns.out.find("snat-"), std::string::npos) << ns.out;
  auto fip = inLab("compute01", "ip netns exec " + kFip + " ip -o addr").out;
  EXPECT_NE(fip.find("fpr-242fcb80-e    inet 169.254.31.75/31"), std::string::npos) << fip;
  EXPECT_NE(fip.find("fg-6e12764c-ba    inet 192.168.74.103/24"), std::string::npos) << fip;
  auto links = inLab("compute01", "ip netns exec " + kFip + " ip -o link").out;
  EXPECT_NE(links.find("fg-6e12764c-ba@"), std::string::npos);
  EXPECT_TRUE(std::regex_search(
      links, std::regex("fg-6e12764c-ba@\\S+ <[^>]*> mtu 1450 .*link/ether fa:16:3e:d2:85:89")))
      << links;
  EXPECT_TRUE(std::regex_search(links, std::regex("fpr-242fcb80-e@\\S+ <[^>]*> mtu 1450")))
      << links;
  auto qr = inLab("compute01", "ip netns exec " + kQrouter2 + " ip -o addr").out;
  EXPECT_NE(qr.find("qr-b4b97d8a-7c    inet 192.168.111.1/24"), std::string::npos) << qr;
  EXPECT_NE(qr.find("rfp-242fcb80-e    inet 169.254.31.74/31"), std::string::npos) << qr;
  EXPECT_NE(qr.find("rfp-242fcb80-e    inet 192.168.74.104/32"), std::string::npos) << qr;
  auto qr_link =
      inLab("compute01", "ip netns exec " + kQrouter2 + " ip -o link show qr-b4b97d8a-7c").out;
  EXPECT_NE(qr_link.find("link/ether fa:16:3e:ac:30:ff"), std::string::npos) << qr_link;
}

// Every namespace dvr made has its loopback up: a router answers its own addresses.
TEST_F(SeedLab, DvrNamespacesHaveTheirLoopbackUp) {
  for (const char* host : {"controller01", "compute01", "compute02"}) {
    auto names = inLab(host, "ip netns | cut -d' ' -f1").out;
    std::istringstream in(names);
    int seen = 0;
    for (std::string ns; in >> ns; ++seen) {
      auto lo = inLab(host, "ip -n " + ns + " -o link show lo").out;
      EXPECT_TRUE(std::regex_search(lo, std::regex("<[^>]*\\bUP\\b[^>]*>")))
          << host << " " << ns << ": " << lo;
    }
    EXPECT_GT(seen, 0) << host;
  }
  auto own = inLab("compute01", "ip netns exec " + kQrouter2 + " ping -c1 -W1 192.168.111.1");
  EXPECT_EQ(own.rc, 0) << own.out;
}

TEST_F(SeedLab, HostBridgesSwitchWithoutIpHooks) {
  // vm2's frames cross compute01's brq- bridges; with br_netfilter loaded (as on the CI
  // machine) and left on, they would also run through compute01's own IPv4 forward hook.
  // The probe table goes with the lab.
  for (const char* step :
       {"nft add table ip probe",
        "nft add chain ip probe forward '{ type filter hook forward priority 0; }'",
        "nft add rule ip probe forward counter"}) {
    ASSERT_EQ(inLab("compute01", step).rc, 0) << step;
  }
  EXPECT_EQ(inLab("vm2", "ping -c 3 -i 0.2 -W 2 8.8.8.8").rc, 0);
  auto counter = inLab("compute01", "nft list chain ip probe forward").out;
  EXPECT_NE(counter.find("counter packets 0 bytes 0"), std::string::npos) << counter;
}

TEST_P(SeedPaths, NoDistributedGatewayMacEverOnTheUnderlay) {
  std::set<std::string> qr_macs;
  for (const auto& p : live.ports) {
    if (p.device_owner == model::kOwnerRouterInterface)
      qr_macs.insert(p.mac.str());
  }
  Capture a("fabric", "u-compute01", "udp port 4789"), b("fabric", "u-compute02", "udp port 4789"),
      c("fabric", "u-controller01", "udp port 4789");
  for (auto [vm, dst] : std::vector<std::pair<std::string, std::string>>{{"vm1", "8.8.8.8"},
                                                                         {"vm3", "8.8.8.8"},
                                                                         {"vm1", "10.16.1.3"},
                                                                         {"vm4", "10.16.0.3"},
                                                                         {"vm4", "8.8.8.8"}}) {
    EXPECT_EQ(inLab(vm, "ping -c 1 -W 2 " + dst).rc, 0) << vm << " -> " << dst;
  }
  std::string all = a.stop() + b.stop() + c.stop();
  auto pairs = macPairs(all);
  EXPECT_GT(pairs.size(), 10u) << all;
  for (const auto& [src, dst] : pairs) {
    EXPECT_FALSE(qr_macs.count(src)) << "gateway MAC " << src << " on the underlay:\n" << all;
  }
}

TEST_P(SeedPaths, EastWestIsRoutedOnTheSendersHost) {
  Capture underlay("fabric", "u-compute01", "udp port 4789");
  ASSERT_EQ(inLab("vm1", "ping -c 2 -W 2 10.16.1.3").rc, 0);
  std::string ul = underlay.stop();
  const auto* vm4 = seed.findVm("vm4");
  // Already routed on compute01: the tunnel carries it to vm4's MAC, from compute01's DVR MAC.
  EXPECT_NE(ul.find(dvrMac("compute01") + " > " + vm4->mac.str()), std::string::npos) << ul;
  EXPECT_NE(ul.find("172.16.0.11."), std::string::npos);
  EXPECT_NE(ul.find("> 172.16.0.12.4789"), std::string::npos) << ul;
  // And the reply is routed on compute02, so it arrives from compute02's DVR MAC.
  EXPECT_NE(ul.find(dvrMac("compute02") + " > " + seed.findVm("vm1")->mac.str()), std::string::npos)
      << ul;
}

TEST_P(SeedPaths, RoutersAreIsolatedAndOverlappingSubnetsBothWork) {
  EXPECT_NE(inLab("vm3", "ping -c 1 -W 1 10.16.0.3").rc, 0);  // router3's own 10.16.0.0/24
  EXPECT_NE(inLab("vm2", "ping -c 1 -W 1 10.16.0.3").rc,
            0);  // router2: out by its FIP, no way back in
  EXPECT_EQ(inLab("vm3", "ping -c 1 -W 2 8.8.8.8").rc, 0);
  EXPECT_EQ(inLab("vm1", "ping -c 1 -W 2 8.8.8.8").rc, 0);
}

TEST_F(SeedLab, FloatingIpAssociatedAtRuntimeSwitchesThePathAndBack) {
  auto r =
      applySeedWith("floating_ips:\n",
                    "floating_ips:\n  - {network: ext-net, address: 192.168.74.150, vm: vm1}\n");
  ASSERT_EQ(r.rc, 0) << r.out;
  bool switched = false;
  for (int i = 0; i < 100 && !switched; ++i) {
    switched = peerSeen("internet", "vm1", "8.8.8.8") == "192.168.74.150";
  }
  EXPECT_TRUE(switched);
  Capture cmp_uplink("compute01", "eth1", "icmp");
  EXPECT_EQ(inLab("vm1", "ping -c 1 -W 2 8.8.8.8").rc, 0);
  EXPECT_NE(cmp_uplink.stop().find("192.168.74.150 > 8.8.8.8"), std::string::npos);
  ASSERT_EQ(applySeed().rc, 0);
  bool back = false;
  for (int i = 0; i < 100 && !back; ++i)
    back = peerSeen("internet", "vm1", "8.8.8.8") ==
           port(model::kOwnerRouterGateway, "13fe8525").ip.str();
  EXPECT_TRUE(back);
  // The fip- path of router1 is gone from compute01 with its last floating IP.
  auto links = inLab("compute01", "ip netns exec " + kFip + " ip -o link").out;
  EXPECT_EQ(links.find("fpr-13fe8525-d"), std::string::npos) << links;
}

TEST_F(SeedLab, AFloatingIpChangeMovesAVmsOngoingFlowWithoutStaleNat) {
  // One ICMP flow (one ping, one id) from vm1 runs while a floating IP is associated to vm1
  // and removed again. vm5, next to vm1 behind router1 on compute01, keeps a floating IP
  // throughout, so router1's qrouter- there tracks connections all along: the entry made
  // on the old path (no NAT, then NAT to the floating IP) would keep steering the flow
  // after each change, and its replies would be lost for as long as it runs.
  const std::pair<std::string, std::string> vm5 = {
      "  - {name: vm4,",
      "  - {name: vm5, network: net-a, host: compute01, ip: 10.16.0.5}\n  - {name: vm4,"};
  const std::string fips =
      "floating_ips:\n  - {network: ext-net, address: 192.168.74.151, vm: vm5}\n";
  ASSERT_EQ(applySeedWith({vm5, {"floating_ips:\n", fips}}).rc, 0);
  ASSERT_TRUE(waitPing("vm5", "8.8.8.8"));
  Background ping(kDvr + " lab exec vm1 -- ping -i 0.02 -c 400 -W 1 8.8.8.8");
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  // Each change is captured once it has been applied (the agent takes milliseconds; a
  // packet in flight while it runs may still take the old way): from then on the flow
  // must take the new path, which a tracked entry from the old one would prevent.
  const auto settle = std::chrono::milliseconds(500);
  ASSERT_EQ(applySeedWith({vm5,
                           {"floating_ips:\n",
                            fips + "  - {network: ext-net, address: 192.168.74.150, vm: vm1}\n"}})
                .rc,
            0);
  std::this_thread::sleep_for(settle);
  std::string fip_path;
  {
    Capture cmp_uplink("compute01", "eth1", "icmp");
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));
    fip_path = cmp_uplink.stop();
  }
  ASSERT_EQ(applySeedWith({vm5, {"floating_ips:\n", fips}}).rc, 0);
  std::this_thread::sleep_for(settle);
  std::string snat_path;
  {
    Capture ctl_uplink("controller01", "eth1", "icmp");
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));
    snat_path = ctl_uplink.stop();
  }
  std::string out = ping.stop(15000);
  EXPECT_NE(fip_path.find("192.168.74.150 > 8.8.8.8: ICMP echo request"), std::string::npos)
      << fip_path;
  EXPECT_EQ(fip_path.find("10.16.0.3 > 8.8.8.8"), std::string::npos) << fip_path;
  std::string qg = port(model::kOwnerRouterGateway, "13fe8525").ip.str();
  EXPECT_NE(snat_path.find(qg + " > 8.8.8.8: ICMP echo request"), std::string::npos) << snat_path;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("400 packets transmitted, (\\d+) received")))
      << out;
  EXPECT_GE(std::stoi(m[1]), 380) << out;  // a few lost while a path switches, no more
}

TEST_F(SeedLab, SecondReconcileChangesNothing) {
  auto r = inLab("compute01",
                 kDvr + " agent --once --host compute01 --topology /run/dvr-lab.d/topology.yaml");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("\n0 changes"), std::string::npos) << r.out;
  auto c =
      inLab("controller01",
            kDvr + " agent --once --host controller01 --topology /run/dvr-lab.d/topology.yaml");
  EXPECT_NE(c.out.find("\n0 changes"), std::string::npos) << c.out;
}

TEST_F(SeedLab, DriftIsRepairedExactly) {
  std::string q = "ip netns exec " + kQrouter2 + " ";
  std::string f = "ip netns exec " + kFip + " ";
  ASSERT_EQ(inLab("compute01", f + "ip route del 192.168.74.104/32").rc, 0);
  ASSERT_EQ(inLab("compute01", q + "ip neigh del 192.168.111.5 dev qr-b4b97d8a-7c").rc, 0);
  ASSERT_EQ(inLab("compute01", q + "nft delete element ip dvr fip_snat { 192.168.111.5 }").rc, 0);
  ASSERT_EQ(
      inLab("compute01",
            "ip netns exec fip-5a1e2b3c-4d5e-4f60-8a71-92b3c4d5e6f7 ip link del fpr-703db450-5")
          .rc,
      0);
  auto r = inLab("compute01",
                 kDvr + " agent --once --host compute01 --topology /run/dvr-lab.d/topology.yaml");
  EXPECT_EQ(r.rc, 0) << r.out;
  // Each removed object comes back; the veth brings its addresses, route, rule and neighbours.
  EXPECT_NE(r.out.find("ip -n " + kFip +
                       " route replace 192.168.74.104 via 169.254.31.74 dev fpr-242fcb80-e"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ip -n " + kQrouter2 + " neigh replace 192.168.111.5 dev qr-b4b97d8a-7c"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("add element ip dvr fip_snat { 192.168.111.5 : 192.168.74.104 }"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(std::regex_search(
      r.out,
      std::regex("link add (rfp-703db450-5 .*peer name fpr-703db450-5|fpr-703db450-5 .*peer name "
                 "rfp-703db450-5)")))
      << r.out;  // the pair is made from either end
  EXPECT_EQ(r.out.find("qrouter-13fe8525"), std::string::npos) << "touched an unrelated router:\n"
                                                               << r.out;
  auto again = inLab(
      "compute01", kDvr + " agent --once --host compute01 --topology /run/dvr-lab.d/topology.yaml");
  EXPECT_NE(again.out.find("\n0 changes"), std::string::npos) << again.out;
  EXPECT_EQ(inLab("vm2", "ping -c 1 -W 2 8.8.8.8").rc, 0);
  EXPECT_EQ(inLab("vm3", "ping -c 1 -W 2 8.8.8.8").rc, 0);
}

TEST_F(SeedLab, AKernelRefusalNamesTheObjectAndTheNextRunCompletes) {
  // A foreign VXLAN device holding VNI 1001 (vm1's network) where dvr's vxlan-1001 was:
  // the kernel refuses dvr's device. The run fails naming what it did where, leaves the
  // foreign device alone, and once it is gone the next run makes exactly what is missing.
  ASSERT_EQ(inLab("compute01", "ip link del vxlan-1001").rc, 0);
  ASSERT_EQ(
      inLab("compute01", "ip link add vxf type vxlan id 1001 dstport 4789 local 172.16.0.11").rc,
      0);
  const std::string once =
      kDvr + " agent --once --host compute01 --topology /run/dvr-lab.d/topology.yaml";
  auto failed = inLab("compute01", once);
  EXPECT_NE(failed.rc, 0);
  EXPECT_TRUE(std::regex_search(
      failed.out, std::regex("reconcile failed: ip link add vxlan-1001: .*type vxlan id 1001.* "
                             "\\(host namespace\\): Object exists")))
      << failed.out;
  EXPECT_EQ(inLab("compute01", "ip link show vxf").rc, 0);
  ASSERT_EQ(inLab("compute01", "ip link del vxf").rc, 0);
  auto next = inLab("compute01", once);
  EXPECT_EQ(next.rc, 0) << next.out;
  EXPECT_NE(next.out.find("ip link add vxlan-1001"), std::string::npos) << next.out;
  EXPECT_NE(inLab("compute01", once).out.find("\n0 changes"), std::string::npos);
  EXPECT_TRUE(waitPing("vm1", "8.8.8.8"));  // through the SNAT node, over vxlan-1001
}

TEST_F(SeedLab, ForeignObjectsAreLeftAlone) {
  std::string q = "ip netns exec " + kQrouter2 + " ";
  ASSERT_EQ(inLab("compute01", "ip link add foreign0 type bridge").rc, 0);
  ASSERT_EQ(inLab("compute01", q + "ip route add 203.0.113.0/24 dev qr-b4b97d8a-7c table 99").rc,
            0);
  ASSERT_EQ(inLab("compute01", q + "nft add table inet operator").rc, 0);
  auto r = inLab("compute01",
                 kDvr + " agent --once --host compute01 --topology /run/dvr-lab.d/topology.yaml");
  EXPECT_NE(r.out.find("\n0 changes"), std::string::npos) << r.out;
  EXPECT_EQ(inLab("compute01", "ip link show foreign0").rc, 0);
  EXPECT_NE(inLab("compute01", q + "ip route show table 99").out.find("203.0.113.0/24"),
            std::string::npos);
  EXPECT_EQ(inLab("compute01", q + "nft list table inet operator").rc, 0);
}

TEST_F(SeedLab, ChangesAndAgentRestartLoseNoPacketsOfOtherVms) {
  // vm2 (router2) and vm3 (router3, through its own floating IP) ping every 10 ms while
  // compute01's part of the cloud changes around them: vm1 gains and loses a floating IP
  // (router1's rfp-/fpr- pair comes and goes in the fip- they share), a VM is added beside
  // vm1 and removed, router1 loses its subnet-b interface and gets it back; then
  // compute01's agent restarts.
  const std::string count = "900";
  Background ping2(kDvr + " lab exec vm2 -- ping -i 0.01 -c " + count + " -W 1 8.8.8.8");
  Background ping3(kDvr + " lab exec vm3 -- ping -i 0.01 -c " + count + " -W 1 8.8.8.8");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  using Edits = std::vector<std::pair<std::string, std::string>>;
  const Edits seed = {};
  for (const Edits& step : std::vector<Edits>{
           {{"floating_ips:\n",
             "floating_ips:\n  - {network: ext-net, address: 192.168.74.150, vm: vm1}\n"}},
           seed,
           {{"  - {name: vm4,",
             "  - {name: vm5, network: net-a, host: compute01, ip: 10.16.0.5}\n  - {name: vm4,"}},
           seed,
           {{"      - subnet: subnet-b\n", ""}},
           seed}) {
    auto r = applySeedWith(step);
    ASSERT_EQ(r.rc, 0) << r.out;
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
  }
  EXPECT_TRUE(waitPing("vm4", "10.16.0.3"));  // router1's subnet-b interface is back
  auto pid = testing::slurp("/run/dvr-lab.d/compute01.pid");
  sh("kill -TERM " + pid);
  auto again = inLab(
      "compute01", kDvr + " agent --once --host compute01 --topology /run/dvr-lab.d/topology.yaml");
  EXPECT_NE(again.out.find("\n0 changes"), std::string::npos)
      << again.out;  // a restart changes nothing
  const std::string all = count + " packets transmitted, " + count + " received, 0% packet loss";
  std::string out2 = ping2.stop(15000), out3 = ping3.stop(15000);
  EXPECT_NE(out2.find(all), std::string::npos) << out2;
  EXPECT_NE(out3.find(all), std::string::npos) << out3;
}

TEST_F(SeedLab, TraceAgreesWithTheCaptures) {
  // For each case, dvr trace's hops against tcpdump wherever a hop can be seen: compute01's
  // underlay port, both hosts' uplinks, and the VMs' own eth0.
  struct Case {
    std::string from, to;   // as dvr trace takes them
    std::string node, dst;  // who pings what in the lab
    bool delivered;
  };
  for (const Case& c : std::vector<Case>{
           {"vm1", "8.8.8.8", "vm1", "8.8.8.8", true},  // case 1: SNAT on controller01
           {"vm2", "8.8.8.8", "vm2", "8.8.8.8", true},  // case 2: floating IP from compute01
           {"vm1", "vm4", "vm1", "10.16.1.3", true},    // east-west, over VXLAN to compute02
           {"8.8.8.8", "192.168.74.104", "internet", "192.168.74.104", true},  // inbound
           {"vm3", "10.16.1.3", "vm3", "10.16.1.3", false}}) {  // behind another router
    SCOPED_TRACE(c.from + " -> " + c.to);
    auto t = sh(kDvr + " trace " + testing::kSeed + " --from " + c.from + " --to " + c.to +
                " --json --no-reply");
    ASSERT_EQ(t.rc, c.delivered ? 0 : 3) << t.out;
    auto hops = nlohmann::json::parse(t.out)["forward"]["hops"];
    const auto& last = hops.back();
    Capture ul_cmp("fabric", "u-compute01", "udp port 4789");
    Capture up_ctl("controller01", "eth1", "icmp"), up_cmp("compute01", "eth1", "icmp");
    // A VM's own eth0, where it sends and where it is delivered (the trace ends at the
    // external gateway for destinations beyond it).
    const auto& first = hops.front();
    std::optional<Capture> at_src, at_dst;
    if (first["out"] == "eth0")
      at_src.emplace(first["host"].get<std::string>(), "eth0", "icmp");
    if (c.delivered && last["in"] == "eth0")
      at_dst.emplace(last["host"].get<std::string>(), "eth0", "icmp");
    auto ping = inLab(c.node, "ping -c 1 -W 2 " + c.dst);
    EXPECT_EQ(ping.rc == 0, c.delivered) << ping.out;
    std::string seen_ul = ul_cmp.stop(), seen_ctl = up_ctl.stop(), seen_cmp = up_cmp.stop();
    std::string seen_src = at_src ? at_src->stop() : "", seen_dst = at_dst ? at_dst->stop() : "";
    int checked = 0;
    auto expectSeen = [&](const nlohmann::json& h, const std::string& seen, const char* where) {
      const auto& p = h["packet"];
      std::string frame = p["src_mac"].get<std::string>() + " > " + p["dst_mac"].get<std::string>();
      std::string ips = p["src_ip"].get<std::string>() + " > " + p["dst_ip"].get<std::string>();
      EXPECT_NE(seen.find(frame), std::string::npos)
          << "predicted " << where << ": " << frame << "\n"
          << seen;
      EXPECT_NE(seen.find(ips), std::string::npos) << "predicted " << where << ": " << ips;
      ++checked;
    };
    for (const auto& h : hops) {
      std::string host = h["host"];
      if (h.contains("vxlan"))
        expectSeen(h, seen_ul, "on compute01's underlay port");
      if (h["out"] == "eth1" || h["in"] == "eth1")
        expectSeen(h, host == "controller01" ? seen_ctl : seen_cmp, "on an uplink");
    }
    if (at_src)
      expectSeen(first, seen_src, "as the VM sends it");
    if (at_dst)
      expectSeen(last, seen_dst, "where it is delivered");
    EXPECT_GE(checked, 2);
  }
}

INSTANTIATE_TEST_SUITE_P(BuiltFrom, SeedPaths, ::testing::Values("file", "api"));

}  // namespace
}  // namespace dvr
