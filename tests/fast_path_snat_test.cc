// The compute-host side of the SNAT fast path without root (plan/fast_path_snat.h): which
// VMs' taps get dvr_snat_out and the frame it sends for them, checked against the plan's
// own namespace-path objects (qrouter-'s SNAT redirect rule and route, its neighbour for
// the sg- address, the qr- link, the VXLAN device and its FDB entry for the sg- MAC); what
// stays on the namespace path (VMs with a floating IP, filtered ports, the network node,
// destinations qrouter- routes itself); a router losing its gateway or its sg- moving; and
// how `dvr plan` shows it.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "ipam/resolve.h"
#include "model/topology_yaml.h"
#include "plan/cloud_index.h"
#include "plan/fast_path.h"
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

std::string seedText() {
  std::ifstream in(source("examples/seed.yaml"));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The seed with `from` replaced by `to` (which must be there).
model::Cloud seedWith(const std::string& from, const std::string& to) {
  std::string text = seedText();
  auto at = text.find(from);
  if (at == std::string::npos)
    throw std::runtime_error("the seed has no '" + from + "'");
  text.replace(at, from.size(), to);
  return ipam::resolve(model::parseTopology(text, "seed-variant.yaml"), "test");
}

model::Cloud seed() {
  return seedWith("", "");
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

const plan::SnatFastPath* snatOf(const plan::HostPlan& p, const std::string& tap) {
  for (const auto& e : p.fast_path.snat) {
    if (e.vm_dev == tap)
      return &e;
  }
  return nullptr;
}

bool keeps(const plan::SnatFastPath& e, const std::string& cidr) {
  for (const auto& k : e.keep_local) {
    if (k.str() == cidr)
      return true;
  }
  return false;
}

TEST(SnatPlan, Vm1sFramesOutsideGoToRouter1sSgPortOnTheNetworkNodeFromTheDvrMac) {
  model::Cloud c = seed();
  plan::HostPlan p = fastPlan(c, "compute01");
  const model::Router& r1 = routerNamed(c, "router1");
  const model::Port& vm1 = portNamed(c, "vm1");
  std::string tap = plan::names::tap(vm1.id);
  const plan::SnatFastPath* e = snatOf(p, tap);
  ASSERT_NE(e, nullptr) << plan::renderFastPath(p);
  EXPECT_EQ(e->router_id, r1.id);
  EXPECT_EQ(e->ip, vm1.ip);
  EXPECT_EQ(e->gateway_mac.str(), "fa:16:3e:84:64:cc");  // the seed's qr-85285e17-5d
  EXPECT_EQ(e->src_mac.str(), "fa:16:3f:86:5c:5c");      // compute01's DVR MAC
  EXPECT_EQ(e->out_dev, "vxlan-1001");
  EXPECT_EQ(e->vni, 1001u);
  EXPECT_EQ(e->snat_host, "controller01");
  EXPECT_EQ(e->tunnel_ip.str(), "172.16.0.10");
  EXPECT_NE(std::find(p.fast_path.attach.begin(), p.fast_path.attach.end(),
                      plan::FastPathAttach{tap, plan::kSnatProgram}),
            p.fast_path.attach.end());
  // The namespace path's objects agree. qrouter-'s rule for subnet-a and its table's
  // default route: via the sg- address, out of the qr- port whose MAC vm1 addresses.
  std::string ns = plan::names::qrouterNs(r1.id);
  const plan::Route* redirect = nullptr;
  for (const auto& rule : p.rules) {
    if (rule.ns != ns || !rule.from || !rule.from->contains(vm1.ip))
      continue;
    for (const auto& rt : p.routes) {
      if (rt.ns == ns && rt.table == rule.table && rt.dst.len == 0)
        redirect = &rt;
    }
  }
  ASSERT_NE(redirect, nullptr) << "qrouter- has no SNAT redirect for 10.16.0.3";
  ASSERT_TRUE(redirect->via);
  EXPECT_EQ(*redirect->via, e->sg_ip);
  const plan::Link* qr = p.findLink(ns, redirect->dev);
  ASSERT_NE(qr, nullptr);
  EXPECT_EQ(qr->mac, e->gateway_mac);
  EXPECT_EQ(qr->mtu, e->mtu);
  // Its permanent neighbour for the sg- address: the destination MAC.
  bool neighbour = false;
  for (const auto& n : p.neighbours)
    neighbour = neighbour || (n.ns == ns && n.dev == redirect->dev && n.ip == e->sg_ip &&
                              n.mac == e->sg_mac && !n.proxy);
  EXPECT_TRUE(neighbour) << "no neighbour " << e->sg_ip.str() << " " << e->sg_mac.str();
  // The bridge takes that MAC to the VXLAN device with VNI 1001, whose FDB entry is the
  // network node's tunnel address; the bridge rewrites the source to the DVR MAC.
  ASSERT_NE(p.findLink("", e->out_dev), nullptr);
  EXPECT_EQ(p.findLink("", e->out_dev)->vni, e->vni);
  EXPECT_NE(
      std::find(p.fdb.begin(), p.fdb.end(), plan::FdbEntry{e->out_dev, e->sg_mac, e->tunnel_ip}),
      p.fdb.end());
  EXPECT_EQ(p.dvr_mac.gateway_macs.count(e->gateway_mac), 1u);
  // What qrouter- routes itself stays with it: both of router1's subnets, link-local.
  EXPECT_TRUE(keeps(*e, "10.16.0.0/24"));
  EXPECT_TRUE(keeps(*e, "10.16.1.0/24"));
  EXPECT_TRUE(keeps(*e, "169.254.0.0/16"));
  EXPECT_FALSE(keeps(*e, "192.168.74.0/24")) << "the external subnet goes by snat- too";
}

TEST(SnatPlan, VmsWithAFloatingIpAndTheNetworkNodeGetNoEntry) {
  model::Cloud c = seed();
  plan::HostPlan p = fastPlan(c, "compute01");
  // vm2 and vm3 have floating IPs: their traffic is the floating IP's.
  ASSERT_EQ(p.fast_path.snat.size(), 1u) << plan::renderFastPath(p);
  EXPECT_EQ(snatOf(p, plan::names::tap(portNamed(c, "vm2").id)), nullptr);
  EXPECT_EQ(snatOf(p, plan::names::tap(portNamed(c, "vm3").id)), nullptr);
  EXPECT_TRUE(fastPlan(c, "controller01").fast_path.snat.empty());
  // vm4 on compute02, subnet-b: router1's sg- on subnet-b, compute02's DVR MAC, VNI 1002.
  plan::HostPlan p2 = fastPlan(c, "compute02");
  const plan::SnatFastPath* e = snatOf(p2, plan::names::tap(portNamed(c, "vm4").id));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->src_mac.str(), "fa:16:3f:6d:9f:cd");
  EXPECT_EQ(e->out_dev, "vxlan-1002");
  EXPECT_NE(e->sg_mac, snatOf(p, plan::names::tap(portNamed(c, "vm1").id))->sg_mac);
}

TEST(SnatPlan, ARouterWithoutGatewayHasNoEntriesAndExtraRoutesStayWithQrouter) {
  model::Cloud no_gw =
      seedWith("    id: 13fe8525-da22-42de-aeb6-84f41a3b607d\n    external_gateway: ext-net\n",
               "    id: 13fe8525-da22-42de-aeb6-84f41a3b607d\n");
  EXPECT_TRUE(fastPlan(no_gw, "compute01").fast_path.snat.empty());
  model::Cloud routes = seedWith(
      "      - subnet: subnet-b\n",
      "      - subnet: subnet-b\n    routes: [{destination: 172.31.0.0/16, nexthop: 10.16.1.3}]\n");
  plan::HostPlan p = fastPlan(routes, "compute01");
  const plan::SnatFastPath* e = snatOf(p, plan::names::tap(portNamed(routes, "vm1").id));
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(keeps(*e, "172.31.0.0/16")) << plan::renderFastPath(p);
}

TEST(SnatPlan, AnSgPortMovedToAnotherNetworkNodeMovesTheEntry) {
  // A second network node, router1 pinned there: the entry says so, and the FDB agrees.
  model::Cloud both = [] {
    std::string text = seedText();
    auto put = [&](const std::string& from, const std::string& to) {
      text.replace(text.find(from), from.size(), to);
    };
    put("  - name: compute01\n",
        "  - name: controller02\n    agent_mode: dvr_snat\n    tunnel_ip: 172.16.0.13\n"
        "    dvr_mac: fa:16:3f:e7:70:88\n    uplinks: {ext-net: eth1}\n  - name: compute01\n");
    put("    id: 13fe8525-da22-42de-aeb6-84f41a3b607d\n",
        "    id: 13fe8525-da22-42de-aeb6-84f41a3b607d\n    snat_host: controller02\n");
    return ipam::resolve(model::parseTopology(text, "seed-two-nodes.yaml"), "test");
  }();
  plan::HostPlan p = fastPlan(both, "compute01");
  const plan::SnatFastPath* e = snatOf(p, plan::names::tap(portNamed(both, "vm1").id));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->snat_host, "controller02");
  EXPECT_EQ(e->tunnel_ip.str(), "172.16.0.13");
  EXPECT_NE(
      std::find(p.fdb.begin(), p.fdb.end(), plan::FdbEntry{e->out_dev, e->sg_mac, e->tunnel_ip}),
      p.fdb.end());
}

TEST(SnatPlan, FilteredPortsStayOnTheNamespacePathAndThePlanSaysWhy) {
  model::Cloud c = ipam::loadCloudFile(source("examples/security-groups.yaml"));
  for (const std::string host : {"compute01", "compute02"}) {
    plan::HostPlan p = fastPlan(c, host);
    for (const auto& e : p.fast_path.snat)
      EXPECT_EQ(p.port_filter.findByDev(e.vm_dev), nullptr) << e.vm_dev << " is filtered";
    if (!p.port_filter.empty()) {
      bool said = false;
      for (const auto& [port, why] : p.fast_path.left_out)
        said = said || why == "SNAT: filtered by security groups";
      EXPECT_TRUE(said) << host;
    }
  }
}

TEST(SnatPlan, DvrPlanShowsTheMapsAndTheProgram) {
  model::Cloud c = seed();
  plan::HostPlan p = fastPlan(c, "compute01");
  std::string text = plan::renderText(p);
  std::string tap = plan::names::tap(portNamed(c, "vm1").id);
  EXPECT_NE(text.find("filter dev " + tap + " ingress bpf direct-action dvr_snat_out"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("map dvr_snat_port:\n  key: " + tap +
                      "  value: dev vxlan-1001 src fa:16:3f:86:5c:5c dst "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("on controller01, vxlan 1001 to 172.16.0.10) if src 10.16.0.3 dst mac "
                      "fa:16:3e:84:64:cc mtu 1450 ttl -1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("map dvr_snat_local (namespace path):\n  key: " + tap + " 10.16.0.0/24"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace dvr
