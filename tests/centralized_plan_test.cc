// Centralized routers (Neutron's legacy router, `distributed: false`), extra routes and a
// floating IP on a port's second fixed IP, in the plans (examples/centralized.yaml): what
// the router's host holds, and that the compute hosts route nothing for it but reach its
// gateway MAC over the tunnel.
#include <gtest/gtest.h>

#include <algorithm>

#include "ipam/resolve.h"
#include "model/topology_yaml.h"
#include "plan/names.h"
#include "plan/nft_tables.h"
#include "plan/render.h"
#include "support.h"

namespace dvr {
namespace {

using plan::HostPlan;

model::Cloud centralized() {
  return ipam::resolve(model::loadTopologyFile(testing::sourcePath("examples/centralized.yaml")),
                       "centralized");
}

const model::Router& router1(const model::Cloud& c) {
  return *c.findRouter(c.routers[0].id);
}

bool hasNamespace(const HostPlan& p, const std::string& prefix) {
  return std::any_of(p.namespaces.begin(), p.namespaces.end(),
                     [&](const std::string& ns) { return ns.rfind(prefix, 0) == 0; });
}

bool hasAddress(const HostPlan& p, const std::string& ns, const std::string& dev_prefix,
                const std::string& cidr) {
  return std::any_of(p.addresses.begin(), p.addresses.end(), [&](const plan::Address& a) {
    return a.ns == ns && a.dev.rfind(dev_prefix, 0) == 0 && a.cidr.str() == cidr;
  });
}

TEST(CentralizedRouter, LivesOnTheSnatHostWithEveryInterfaceAndItsGateway) {
  model::Cloud c = centralized();
  const model::Router& r = router1(c);
  EXPECT_FALSE(r.distributed);
  EXPECT_EQ(r.snat_host, "controller01");
  EXPECT_TRUE(r.snat_ports.empty()) << "no sg- ports: SNAT is in its qrouter-";
  for (size_t p : r.interface_ports) {
    EXPECT_EQ(c.ports[p].host, "controller01");
    EXPECT_EQ(c.ports[p].device_owner, model::kOwnerRouterInterfaceCentralized);
  }
  EXPECT_TRUE(c.link_locals.empty());
  for (const auto& p : c.ports)
    EXPECT_NE(p.device_owner, model::kOwnerFipGateway) << "no fg- port: no fip- namespace";

  auto plans = testing::planAllHosts(c);
  const HostPlan& ctl = testing::planOf(plans, "controller01");
  std::string ns = plan::names::qrouterNs(r.id);
  EXPECT_EQ(ctl.namespaces, std::vector<std::string>{ns}) << plan::renderText(ctl);
  const model::Port& qg = c.ports[*r.gateway_port];
  std::string qg_dev = plan::names::qg(qg.id);
  EXPECT_TRUE(hasAddress(ctl, ns, "qr-", "10.16.0.1/24"));
  EXPECT_TRUE(hasAddress(ctl, ns, "qr-", "10.17.0.1/24"));
  EXPECT_TRUE(hasAddress(ctl, ns, "qg-", qg.ip.str() + "/24"));
  // Floating IPs are /32s on qg- (it answers ARP for them) and NAT'd there, vm2's to its
  // second address.
  EXPECT_TRUE(hasAddress(ctl, ns, "qg-", "192.168.74.110/32"));
  EXPECT_TRUE(hasAddress(ctl, ns, "qg-", "192.168.74.111/32"));
  ASSERT_EQ(ctl.floating_nat.size(), 2u);
  for (const auto& f : ctl.floating_nat) {
    EXPECT_EQ(f.ns, ns);
    EXPECT_EQ(f.rfp_dev, qg_dev);
    EXPECT_EQ(f.fixed.str(), f.floating.str() == "192.168.74.110" ? "10.16.0.5" : "10.17.0.6");
  }
  ASSERT_EQ(ctl.source_nat.size(), 1u);
  EXPECT_EQ(ctl.source_nat[0].ns, ns);
  EXPECT_EQ(ctl.source_nat[0].out_dev, qg_dev);
  // The default route and the extra route, in the main table; no SNAT redirect rules.
  auto route = [&](const std::string& dst) -> const plan::Route* {
    for (const auto& rt : ctl.routes) {
      if (rt.ns == ns && rt.table == plan::kMainTable && rt.dst.str() == dst)
        return &rt;
    }
    return nullptr;
  };
  ASSERT_TRUE(route("0.0.0.0/0"));
  EXPECT_EQ(route("0.0.0.0/0")->dev, qg_dev);
  ASSERT_TRUE(route("10.30.0.0/24"));
  EXPECT_EQ(route("10.30.0.0/24")->via->str(), "10.17.0.5");
  EXPECT_TRUE(ctl.rules.empty()) << plan::renderText(ctl);
  // Its gateway MACs are its own: no DVR MAC rewriting, no ARP kept local.
  for (size_t p : r.interface_ports)
    EXPECT_FALSE(ctl.dvr_mac.gateway_macs.count(c.ports[p].mac));
  EXPECT_TRUE(ctl.dvr_mac.gateway_arp.empty());
  // Its floating IPs' SNAT binds before the router's SNAT (the first NAT chain wins).
  std::string nft;
  for (const auto& t : plan::nftTables(ctl, true))
    nft += t.text();
  EXPECT_NE(nft.find("priority srcnat + 1"), std::string::npos) << nft;
}

TEST(CentralizedRouter, ComputeHostsRouteNothingAndReachItsGatewayOverTheTunnel) {
  model::Cloud c = centralized();
  const model::Router& r = router1(c);
  auto plans = testing::planAllHosts(c);
  const model::Host* ctl = c.findHost("controller01");
  for (const char* host : {"compute01", "compute02"}) {
    const HostPlan& p = testing::planOf(plans, host);
    EXPECT_FALSE(hasNamespace(p, "qrouter-")) << host << "\n" << plan::renderText(p);
    EXPECT_FALSE(hasNamespace(p, "fip-")) << host;
    EXPECT_TRUE(p.floating_nat.empty()) << host;
    EXPECT_TRUE(p.dvr_mac.gateway_macs.empty()) << host;
    // The gateway MAC of the host's network is reached at controller01.
    bool to_gateway = false;
    for (size_t q : r.interface_ports) {
      for (const auto& f : p.fdb)
        to_gateway = to_gateway || (f.mac == c.ports[q].mac && f.dst == ctl->tunnel_ip);
    }
    EXPECT_TRUE(to_gateway) << host << "\n" << plan::renderText(p);
  }
}

TEST(CentralizedRouter, ABoundVmsSecondAddressIsANeighbourOfItsRouter) {
  model::Cloud c = centralized();
  auto plans = testing::planAllHosts(c);
  const HostPlan& ctl = testing::planOf(plans, "controller01");
  const model::Port* vm2 = c.findVm("vm2");
  ASSERT_TRUE(vm2);
  auto neighbour = [&](const std::string& ip) {
    return std::any_of(ctl.neighbours.begin(), ctl.neighbours.end(), [&](const plan::Neighbour& n) {
      return n.ip.str() == ip && n.mac == vm2->mac && !n.proxy;
    });
  };
  EXPECT_TRUE(neighbour("10.17.0.5"));
  EXPECT_TRUE(neighbour("10.17.0.6"));
}

}  // namespace
}  // namespace dvr
