// HA routers without root: where their snat- namespaces go, what each host plans for
// them (keepalived's configuration, no addresses of dvr's own on qg-/sg-, FDB entries to
// every HA host), and the reconciler starting, reloading and stopping keepalived.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>
#include "fake_kernel.h"
#include "kernel/reconciler.h"

#include "model/topology_json.h"
#include "plan/names.h"
#include "support.h"

namespace dvr {
namespace {

model::Topology haTopology() {
  return model::loadTopologyFile(testing::sourcePath("examples/ha.yaml"));
}

const model::Router& router1(const model::Cloud& c) {
  for (const auto& r : c.routers) {
    if (r.name == "router1")
      return r;
  }
  throw std::runtime_error("no router1");
}

const model::Port& portOf(const model::Cloud& c, const std::string& owner) {
  for (const auto& p : c.ports) {
    if (p.device_owner == owner)
      return p;
  }
  throw std::runtime_error("no port owned by " + owner);
}

bool hasAddressOn(const plan::HostPlan& p, const std::string& dev) {
  return std::any_of(p.addresses.begin(), p.addresses.end(),
                     [&](const plan::Address& a) { return a.dev == dev; });
}

TEST(HaRouter, IsPlacedOnTwoSnatHostsWithHaPortsOnTheHaNetwork) {
  model::Cloud c = ipam::resolve(haTopology(), "ha.yaml");
  const model::Router& r = router1(c);
  EXPECT_EQ(r.ha_hosts, (std::vector<std::string>{"controller01", "controller02"}));
  EXPECT_EQ(r.snat_host, "controller01");
  ASSERT_EQ(r.ha_ports.size(), 2u);
  EXPECT_GE(r.vrid, 1);
  EXPECT_LE(r.vrid, 255);
  const model::Port& a = c.ports[r.ha_ports[0]];
  const model::Port& b = c.ports[r.ha_ports[1]];
  EXPECT_EQ(a.host, "controller01");
  EXPECT_EQ(b.host, "controller02");
  EXPECT_TRUE(Cidr(Ipv4(0xa9fec000), 18).contains(a.ip)) << a.ip.str();
  EXPECT_NE(a.ip, b.ip);
  EXPECT_NE(a.mac, b.mac);
  std::set<uint32_t> vnis;
  for (const auto& n : c.networks) {
    if (!n.external) {
      EXPECT_TRUE(vnis.insert(n.vni).second) << n.name << " shares vni " << n.vni;
    }
  }
  EXPECT_EQ(vnis.size(), 2u);  // net-a and the HA network
  EXPECT_EQ(portOf(c, model::kOwnerRouterGateway).ha_hosts, r.ha_hosts);
  EXPECT_EQ(portOf(c, model::kOwnerSnat).ha_hosts, r.ha_hosts);
}

TEST(HaRouter, AtMostMaxL3AgentsPerRouterHosts) {
  model::Topology t = haTopology();
  t.settings.ha_hosts = 1;
  model::Cloud c = ipam::resolve(t, "ha.yaml");
  EXPECT_EQ(router1(c).ha_hosts, std::vector<std::string>{"controller01"});
}

TEST(HaRouter, EachSnatHostRunsKeepalivedHoldingTheAddresses) {
  model::Cloud c = ipam::resolve(haTopology(), "ha.yaml");
  auto plans = testing::planAllHosts(c);
  const model::Router& r = router1(c);
  const model::Port& qg = portOf(c, model::kOwnerRouterGateway);
  const model::Port& sg = portOf(c, model::kOwnerSnat);
  for (size_t h = 0; h < 2; ++h) {
    const plan::HostPlan& p = testing::planOf(plans, r.ha_hosts[h]);
    SCOPED_TRACE(p.host);
    std::string ns = plan::names::snatNs(r.id);
    EXPECT_NE(std::find(p.namespaces.begin(), p.namespaces.end(), ns), p.namespaces.end());
    EXPECT_NE(p.findLink(ns, plan::names::qg(qg.id)), nullptr);
    EXPECT_NE(p.findLink(ns, plan::names::sg(sg.id)), nullptr);
    // keepalived's, not dvr's: the standby must not hold them.
    EXPECT_FALSE(hasAddressOn(p, plan::names::qg(qg.id)));
    EXPECT_FALSE(hasAddressOn(p, plan::names::sg(sg.id)));
    EXPECT_TRUE(p.announcements.empty());  // keepalived announces on becoming active
    const model::Port& mine = c.ports[r.ha_ports[h]];
    const model::Port& peer = c.ports[r.ha_ports[1 - h]];
    EXPECT_TRUE(hasAddressOn(p, plan::names::ha(mine.id)));
    ASSERT_EQ(p.daemons.size(), 2u);
    // conntrackd keeps the router's connections in sync over the ha- port, and the host
    // that becomes active commits them (keepalived's notify); no loose TCP pickup.
    const plan::Daemon& sync = p.daemons[0];
    EXPECT_EQ(sync.name, "conntrackd-" + r.id);
    EXPECT_EQ(sync.ns, ns);
    const std::string& sync_conf = sync.files.at("conntrackd.conf");
    for (const std::string& line :
         std::vector<std::string>{"Mode FTFW", "Interface " + plan::names::ha(mine.id),
                                  "IPv4_interface " + mine.ip.str()})
      EXPECT_NE(sync_conf.find(line), std::string::npos) << line << "\n" << sync_conf;
    EXPECT_NE(sync.files.at("notify.sh").find("primary) $c -c;"), std::string::npos);
    EXPECT_NE(std::find(p.sysctls.begin(), p.sysctls.end(),
                        plan::Sysctl{ns, "net.netfilter.nf_conntrack_tcp_loose", "0"}),
              p.sysctls.end());
    const plan::Daemon& d = p.daemons[1];
    EXPECT_EQ(d.ns, ns);
    EXPECT_EQ(d.argv.front(), "keepalived");
    const std::string& conf = d.files.at("keepalived.conf");
    for (const std::string& line : std::vector<std::string>{
             "virtual_router_id " + std::to_string(r.vrid), "state BACKUP", "nopreempt",
             "interface " + plan::names::ha(mine.id), "unicast_src_ip " + mine.ip.str(),
             "        " + peer.ip.str() + "\n", qg.ip.str() + "/24 dev " + plan::names::qg(qg.id),
             sg.ip.str() + "/24 dev " + plan::names::sg(sg.id),
             "0.0.0.0/0 via 192.168.74.1 dev " + plan::names::qg(qg.id)})
      EXPECT_NE(conf.find(line), std::string::npos) << line << "\n" << conf;
    EXPECT_NE(
        conf.find("notify_master \"/bin/sh {dir}/../conntrackd-" + r.id + "/notify.sh primary\""),
        std::string::npos)
        << conf;
    // FAULT while this host's uplink or tunnel device is down: a file the kernel keeps.
    EXPECT_NE(conf.find("file \"{dir}/uplinks-down\""), std::string::npos) << conf;
    EXPECT_NE(conf.find("track_file {\n        uplinks-down\n"), std::string::npos) << conf;
    ASSERT_TRUE(d.link_watch.has_value());
    EXPECT_EQ(d.link_watch->file, "uplinks-down");
    EXPECT_EQ(d.link_watch->links, std::vector<std::string>{"eth1"});
    auto host = std::find_if(c.hosts.begin(), c.hosts.end(),
                             [&](const model::Host& x) { return x.name == p.host; });
    ASSERT_NE(host, c.hosts.end());
    EXPECT_EQ(d.link_watch->address, host->tunnel_ip);
  }
}

// Linux's VXLAN FDB keeps one remote per unicast MAC (only the all-zero and multicast
// entries take several): frames to an HA router's sg- MAC are flooded to every host of
// the network, so that they reach whichever HA host is active without any change.
// An HA router's extra routes through its sg- ports are keepalived's (virtual_routes), as
// Neutron's HA routers have them: a standby's sg- holds no address, so the kernel would
// refuse them there, and the active host adds them with the addresses.
TEST(HaRouter, ExtraRoutesThroughSnatPortsAreKeepalivedsOnEachHaHost) {
  model::Topology t = haTopology();
  for (auto& r : t.routers) {
    if (r.name == "router1")
      r.routes.push_back({*Cidr::parse("10.50.0.0/24"), *Ipv4::parse("10.16.0.5")});
  }
  model::Cloud c = ipam::resolve(t, "ha.yaml");
  auto plans = testing::planAllHosts(c);
  const model::Router& r = router1(c);
  const model::Port& sg = portOf(c, model::kOwnerSnat);
  const std::string ns = plan::names::snatNs(r.id);
  for (size_t h = 0; h < 2; ++h) {
    const plan::HostPlan& p = testing::planOf(plans, r.ha_hosts[h]);
    SCOPED_TRACE(p.host);
    EXPECT_TRUE(std::none_of(p.routes.begin(), p.routes.end(),
                             [&](const plan::Route& x) { return x.ns == ns; }));
    ASSERT_EQ(p.daemons.size(), 2u);
    const std::string& conf = p.daemons[1].files.at("keepalived.conf");
    EXPECT_NE(conf.find("        10.50.0.0/24 via 10.16.0.5 dev " + plan::names::sg(sg.id) + "\n"),
              std::string::npos)
        << conf;
  }
}

TEST(HaRouter, ComputeHostsFloodTheSnatPortsFramesToEveryHaHost) {
  model::Cloud c = ipam::resolve(haTopology(), "ha.yaml");
  auto plans = testing::planAllHosts(c);
  const model::Port& sg = portOf(c, model::kOwnerSnat);
  std::set<std::string> flood;
  for (const auto& f : testing::planOf(plans, "compute01").fdb) {
    EXPECT_NE(f.mac, sg.mac) << f.dst.str();
    if (f.mac.isZero() && f.dev == plan::names::vxlan(c.networks[1].vni))
      flood.insert(f.dst.str());
  }
  EXPECT_EQ(flood, (std::set<std::string>{"172.16.0.10", "172.16.0.13"}));
  for (const auto& f : testing::planOf(plans, "controller01").fdb)
    EXPECT_NE(f.mac, sg.mac) << f.dst.str();
}

TEST(HaRouter, SurvivesTheAgentsJsonTopology) {
  model::Topology t = haTopology();
  model::Topology back = model::topologyFromJson(model::toJson(t));
  ASSERT_EQ(back.routers.size(), 1u);
  EXPECT_TRUE(back.routers[0].ha);
  EXPECT_EQ(back.settings.ha_hosts, t.settings.ha_hosts);
  EXPECT_EQ(back.settings.ha_cidr, t.settings.ha_cidr);
}

TEST(HaRouter, TheReconcilerStartsReloadsAndStopsKeepalived) {
  model::Topology t = haTopology();
  auto planFor = [](const model::Topology& topo) {
    model::Cloud c = ipam::resolve(topo, "ha.yaml");
    return testing::planOf(testing::planAllHosts(c), "controller02");
  };
  plan::HostPlan p = planFor(t);
  test::FakeKernel k;
  for (const auto& l : p.links) {
    if (l.kind == plan::LinkKind::Adopted)
      k.addDevice(l.ns, l.name);
  }
  kernel::Reconciler(k).apply(p);
  auto& running = k.daemons("controller02");
  EXPECT_EQ(running.list(), (std::vector<std::string>{p.daemons[0].name, p.daemons[1].name}));
  // A second router interface changes keepalived's configuration: reloaded, not
  // restarted (conntrackd's does not change).
  t.networks.push_back({.name = "net-b"});
  t.subnets.push_back({.name = "subnet-b",
                       .network = "net-b",
                       .cidr = *Cidr::parse("10.16.1.0/24"),
                       .gateway = Ipv4(0x0a100101)});
  t.routers[0].interfaces.push_back({.subnet = "subnet-b"});
  plan::HostPlan more = planFor(t);
  k.clearOps();
  kernel::Reconciler(k).apply(more, &p);
  std::vector<std::string> daemon_ops;
  for (const auto& op : k.ops()) {
    if (op.rfind("daemon ", 0) == 0)
      daemon_ops.push_back(op);
  }
  EXPECT_EQ(daemon_ops,
            std::vector<std::string>{"daemon reload " + p.daemons[1].ns + "|" + p.daemons[1].name});
  // Not HA any more: keepalived stops, the router's addresses are dvr's again.
  t.routers[0].ha = false;
  plan::HostPlan single = planFor(t);
  kernel::Reconciler(k).apply(single, &more);
  EXPECT_TRUE(running.list().empty());
}

}  // namespace
}  // namespace dvr
