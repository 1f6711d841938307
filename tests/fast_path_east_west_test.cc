// The east-west fast path's plan without root (plan/fast_path_east_west.h): which VMs'
// taps get dvr_ew_out, and for each destination the frame it sends, checked against the
// plan's own namespace-path objects (qrouter-'s permanent neighbour for the VM, the qr-
// link's MAC and MTU, the VXLAN device and its FDB entry for a remote VM); what stays on
// the namespace path (other routers, filtered ports) and how `dvr plan` shows it.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "ipam/resolve.h"
#include "model/topology_yaml.h"
#include "plan/cloud_index.h"
#include "plan/fast_path.h"
#include "plan/fast_path_east_west.h"
#include "plan/names.h"
#include "plan/planner.h"
#include "plan/render.h"

namespace dvr {
namespace {

std::string source(const std::string& rel) {
  return std::string(DVR_SOURCE_DIR) + "/" + rel;
}

plan::HostPlan fastPlan(const model::Cloud& cloud, const std::string& host) {
  plan::CloudIndex index(cloud);
  plan::HostPlan p = plan::planHost(index, host);
  plan::addFastPath(index, p);
  return p;
}

model::Cloud seed() {
  return ipam::loadCloudFile(source("examples/seed.yaml"));
}

// The seed with vm4 (router1's subnet-b) on compute01 beside vm1 (subnet-a).
model::Cloud seedOneHost() {
  std::ifstream in(source("examples/seed.yaml"));
  std::string text(std::istreambuf_iterator<char>(in), {});
  const std::string from = "{name: vm4, network: net-b, host: compute02";
  auto at = text.find(from);
  if (at == std::string::npos)
    throw std::runtime_error("the seed has no '" + from + "'");
  text.replace(at, from.size(), "{name: vm4, network: net-b, host: compute01");
  return ipam::resolve(model::parseTopology(text, "seed-one-host.yaml"), "test");
}

const model::Port& portNamed(const model::Cloud& c, const std::string& name) {
  for (const auto& p : c.ports) {
    if (p.name == name)
      return p;
  }
  throw std::runtime_error("no port " + name);
}

const model::Router& routerNamed(const model::Cloud& c, const std::string& name) {
  for (const auto& r : c.routers) {
    if (r.name == name)
      return r;
  }
  throw std::runtime_error("no router " + name);
}

const plan::EastWestDest* dest(const plan::HostPlan& p, const std::string& ip) {
  for (const auto& d : p.fast_path.ew_dests) {
    if (d.ip.str() == ip)
      return &d;
  }
  return nullptr;
}

// What qrouter- has for `ip`: the qr- device its permanent neighbour is on, and the MAC.
const plan::Neighbour* qrouterNeighbour(const plan::HostPlan& p, const std::string& ns,
                                        const std::string& ip) {
  for (const auto& n : p.neighbours) {
    if (n.ns == ns && n.ip.str() == ip && !n.proxy)
      return &n;
  }
  return nullptr;
}

TEST(EastWestPlan, AcrossHostsVm1sFramesToVm4GoToItsVxlanDeviceFromTheDvrMac) {
  model::Cloud c = seed();
  plan::HostPlan p = fastPlan(c, "compute01");
  const model::Router& r1 = routerNamed(c, "router1");
  const model::Port& vm1 = portNamed(c, "vm1");
  const model::Port& vm4 = portNamed(c, "vm4");
  // vm1 is router1's only VM here: its tap alone gets the program.
  ASSERT_EQ(p.fast_path.ew_ports.size(), 1u);
  const plan::EastWestPort& port = p.fast_path.ew_ports[0];
  EXPECT_EQ(port.vm_dev, plan::names::tap(vm1.id));
  EXPECT_EQ(port.ip, vm1.ip);
  EXPECT_EQ(port.router, plan::eastWestRouterNumber(r1.id));
  EXPECT_EQ(port.gateway_mac.str(), "fa:16:3e:84:64:cc");  // the seed's qr-85285e17-5d
  EXPECT_NE(std::find(p.fast_path.attach.begin(), p.fast_path.attach.end(),
                      plan::FastPathAttach{port.vm_dev, plan::kEastWestProgram}),
            p.fast_path.attach.end());
  const plan::EastWestDest* d = dest(p, "10.16.1.3");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->router, port.router);
  EXPECT_TRUE(d->remote);
  EXPECT_EQ(d->src_mac, plan::CloudIndex(c).host("compute01")->dvr_mac)
      << "compute01's DVR MAC, as the bridge rewrites";
  EXPECT_EQ(d->src_mac.str(), "fa:16:3f:86:5c:5c");
  EXPECT_EQ(d->dst_mac, vm4.mac);
  EXPECT_EQ(d->out_dev, "vxlan-1002");
  EXPECT_EQ(d->tunnel_ip.str(), "172.16.0.12");
  // The namespace path's objects agree: qrouter-'s neighbour, the VXLAN link, its FDB entry.
  const plan::Neighbour* n = qrouterNeighbour(p, plan::names::qrouterNs(r1.id), "10.16.1.3");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->mac, d->dst_mac);
  const plan::Link* qr_b = p.findLink(plan::names::qrouterNs(r1.id), n->dev);
  ASSERT_NE(qr_b, nullptr);
  EXPECT_EQ(d->mtu, qr_b->mtu);
  ASSERT_NE(p.findLink("", d->out_dev), nullptr);
  EXPECT_EQ(p.findLink("", d->out_dev)->vni, 1002u);
  EXPECT_NE(
      std::find(p.fdb.begin(), p.fdb.end(), plan::FdbEntry{d->out_dev, vm4.mac, d->tunnel_ip}),
      p.fdb.end());
  // vm1 itself, for vm4's host to route to: compute02's plan has the mirror image.
  plan::HostPlan p2 = fastPlan(c, "compute02");
  const plan::EastWestDest* back = dest(p2, "10.16.0.3");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->out_dev, "vxlan-1001");
  EXPECT_EQ(back->src_mac.str(), "fa:16:3f:6d:9f:cd");
  EXPECT_EQ(back->dst_mac, vm1.mac);
}

TEST(EastWestPlan, OnOneHostTheFrameGoesToTheDestinationsTapFromItsSubnetsQrMac) {
  model::Cloud c = seedOneHost();
  plan::HostPlan p = fastPlan(c, "compute01");
  const model::Router& r1 = routerNamed(c, "router1");
  const model::Port& vm4 = portNamed(c, "vm4");
  EXPECT_EQ(p.fast_path.ew_ports.size(), 2u);  // vm1 and vm4
  const plan::EastWestDest* d = dest(p, "10.16.1.3");
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->remote);
  EXPECT_EQ(d->out_dev, plan::names::tap(vm4.id));
  EXPECT_EQ(d->dst_mac, vm4.mac);
  const plan::Neighbour* n = qrouterNeighbour(p, plan::names::qrouterNs(r1.id), "10.16.1.3");
  ASSERT_NE(n, nullptr);
  const plan::Link* qr_b = p.findLink(plan::names::qrouterNs(r1.id), n->dev);
  ASSERT_NE(qr_b, nullptr);
  EXPECT_EQ(d->src_mac, qr_b->mac) << "the qr- MAC of subnet-b, not vm1's gateway";
  EXPECT_NE(d->src_mac.str(), "fa:16:3e:84:64:cc");
  // Nothing of router1 crosses a tunnel any more.
  for (const auto& e : p.fast_path.ew_dests)
    EXPECT_FALSE(e.remote) << e.ip.str();
}

TEST(EastWestPlan, OtherRoutersAndOneSubnetRoutersGetNothing) {
  model::Cloud c = seed();
  plan::HostPlan p = fastPlan(c, "compute01");
  // router2 (vm2) and router3 (vm3) have one subnet each: nothing east-west to route.
  for (const auto& port : p.fast_path.ew_ports) {
    EXPECT_NE(port.ip.str(), "192.168.111.5");
    EXPECT_NE(port.ip.str(), "10.16.0.4");
  }
  // router3's vm3 (10.16.0.4, overlapping router1's subnet-a) is no destination of router1.
  EXPECT_EQ(dest(p, "10.16.0.4"), nullptr);
  for (const auto& d : p.fast_path.ew_dests)
    EXPECT_EQ(d.router_id, routerNamed(c, "router1").id);
  // The controller has no VM: no program.
  EXPECT_TRUE(fastPlan(c, "controller01").fast_path.ew_ports.empty());
}

TEST(EastWestPlan, FilteredPortsStayOnTheNamespacePathAndThePlanSaysWhy) {
  model::Cloud c = ipam::loadCloudFile(source("examples/security-groups.yaml"));
  for (const std::string host : {"compute01", "compute02"}) {
    plan::HostPlan p = fastPlan(c, host);
    for (const auto& port : p.fast_path.ew_ports)
      EXPECT_EQ(p.port_filter.findByDev(port.vm_dev), nullptr) << port.vm_dev << " is filtered";
    for (const auto& d : p.fast_path.ew_dests) {
      if (!d.remote)
        EXPECT_EQ(p.port_filter.findByDev(d.out_dev), nullptr) << d.out_dev << " is filtered";
    }
    if (!p.port_filter.empty()) {
      bool said = false;
      for (const auto& [port, why] : p.fast_path.left_out)
        said = said || why == "east-west: filtered by security groups";
      EXPECT_TRUE(said) << host;
    }
  }
}

TEST(EastWestPlan, DvrPlanShowsTheMapsAndTheProgram) {
  std::string text = plan::renderText(fastPlan(seed(), "compute01"));
  EXPECT_NE(text.find("ingress bpf direct-action dvr_ew_out"), std::string::npos) << text;
  EXPECT_NE(text.find("map dvr_ew_dst:"), std::string::npos) << text;
  EXPECT_NE(text.find("10.16.1.3  value: dev vxlan-1002 src fa:16:3f:86:5c:5c"), std::string::npos)
      << text;
  EXPECT_NE(text.find("(vxlan to 172.16.0.12) mtu 1450 ttl -1"), std::string::npos) << text;
}

}  // namespace
}  // namespace dvr
