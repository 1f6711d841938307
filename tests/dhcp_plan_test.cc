// The DHCP data path in the model and the plans (examples/dhcp.yaml): a network with a
// DHCP-enabled subnet gets a network:dhcp port on a DHCP host, the subnet's lowest free
// address; that host plans qdhcp-<network> with the port and dnsmasq serving the
// network's VM ports; every other host of the network reaches the port over the tunnel.
// Without a DHCP host nothing of this exists.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ipam/resolve.h"
#include "model/topology_json.h"
#include "model/topology_yaml.h"
#include "plan/cloud_index.h"
#include "plan/dnsmasq.h"
#include "plan/names.h"
#include "plan/planner.h"
#include "support.h"

namespace dvr {
namespace {

model::Topology dhcpTopology() {
  return model::loadTopologyFile(testing::sourcePath("examples/dhcp.yaml"));
}

const model::Port* dhcpPortOf(const model::Cloud& c, const std::string& network) {
  for (const auto& p : c.ports) {
    if (p.device_owner == model::kOwnerDhcp && c.findNetwork(p.network_id)->name == network)
      return &p;
  }
  return nullptr;
}

const plan::Daemon* daemonNamed(const plan::HostPlan& p, const std::string& name) {
  for (const auto& d : p.daemons) {
    if (d.name == name)
      return &d;
  }
  return nullptr;
}

TEST(DhcpPort, TakesTheLowestFreeAddressOnTheDhcpHostBeforeTheVms) {
  model::Cloud c = ipam::resolve(dhcpTopology(), "dhcp.yaml");
  const model::Port* port = dhcpPortOf(c, "net-a");
  ASSERT_NE(port, nullptr);
  EXPECT_EQ(port->host, "controller01");
  EXPECT_EQ(port->ip.str(), "10.16.0.2");
  EXPECT_EQ(c.findVm("vm1")->ip.str(), "10.16.0.3");
  EXPECT_EQ(port->device_id.rfind("dhcp", 0), 0u);
  EXPECT_EQ(dhcpPortOf(c, "net-b"), nullptr);  // enable_dhcp: false
}

TEST(DhcpPort, NoDhcpHostNoPort) {
  model::Topology t = dhcpTopology();
  for (auto& h : t.hosts)
    h.dhcp = false;
  model::Cloud c = ipam::resolve(t, "dhcp.yaml");
  EXPECT_EQ(dhcpPortOf(c, "net-a"), nullptr);
  EXPECT_EQ(c.findVm("vm1")->ip.str(), "10.16.0.2");
  for (const auto& p : testing::planAllHosts(c))
    EXPECT_TRUE(p.daemons.empty()) << p.host;
}

TEST(DhcpPort, NetworksSpreadOverTheDhcpHosts) {
  model::Topology t = dhcpTopology();
  t.hosts[1].dhcp = true;
  t.subnets[1].enable_dhcp = true;
  model::Cloud c = ipam::resolve(t, "dhcp.yaml");
  ASSERT_NE(dhcpPortOf(c, "net-a"), nullptr);
  ASSERT_NE(dhcpPortOf(c, "net-b"), nullptr);
  EXPECT_NE(dhcpPortOf(c, "net-a")->host, dhcpPortOf(c, "net-b")->host);
}

TEST(DhcpPort, APinThatNoLongerFitsIsDroppedNotRefused) {
  model::Topology t = dhcpTopology();
  model::Cloud c = ipam::resolve(t, "dhcp.yaml");
  const model::Port* port = dhcpPortOf(c, "net-a");
  t.dhcp_ports.push_back({"net-a", "controller01", {port->id, port->mac, port->ip}, 0});
  EXPECT_EQ(*dhcpPortOf(ipam::resolve(t, "pinned"), "net-a"), *port);
  t.subnets[0].enable_dhcp = false;
  model::Cloud off = ipam::resolve(t, "dhcp off");
  EXPECT_EQ(dhcpPortOf(off, "net-a"), nullptr);
  EXPECT_EQ(off.findVm("vm1")->ip.str(), "10.16.0.2");  // the address is free again
}

TEST(DhcpPlan, TheDhcpHostRunsDnsmasqInQdhcpWithTheNetworksPorts) {
  model::Cloud c = ipam::resolve(dhcpTopology(), "dhcp.yaml");
  auto plans = testing::planAllHosts(c);
  const plan::HostPlan& ctl = testing::planOf(plans, "controller01");
  const model::Port& port = *dhcpPortOf(c, "net-a");
  const model::Network& net = *c.findNetwork(port.network_id);
  std::string ns = plan::qdhcpNs(net.id), dev = plan::names::dhcpDev(port.id);
  EXPECT_NE(std::find(ctl.namespaces.begin(), ctl.namespaces.end(), ns), ctl.namespaces.end());
  const plan::Link* inside = ctl.findLink(ns, dev);
  ASSERT_NE(inside, nullptr);
  EXPECT_EQ(inside->mac, port.mac);
  const plan::Link* tap = ctl.findLink("", plan::names::tap(port.id));
  ASSERT_NE(tap, nullptr);
  EXPECT_EQ(tap->master, plan::names::bridge(net.id));
  EXPECT_NE(std::find(ctl.addresses.begin(), ctl.addresses.end(),
                      plan::Address{ns, dev, *Cidr::parse("10.16.0.2/24")}),
            ctl.addresses.end());
  const plan::Daemon* d = daemonNamed(ctl, "dnsmasq-" + net.id);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->ns, ns);
  const model::Port& vm1 = *c.findVm("vm1");
  const model::Port& vm2 = *c.findVm("vm2");
  EXPECT_EQ(d->files.at("host"), vm1.mac.str() + ",host-10-16-0-3,10.16.0.3,set:port-" + vm1.id +
                                     "\n" + vm2.mac.str() + ",host-10-16-0-4,10.16.0.4,set:port-" +
                                     vm2.id + "\n");
  const std::string& opts = d->files.at("opts");
  EXPECT_NE(opts.find(",option:router,10.16.0.1\n"), std::string::npos) << opts;
  EXPECT_NE(opts.find(",option:dns-server,10.16.0.53,10.16.0.54\n"), std::string::npos) << opts;
  EXPECT_NE(opts.find("tag:port-" + vm1.id + ",option:domain-name,lab.example\n"),
            std::string::npos)
      << opts;
  // net-b (DHCP disabled) has no server anywhere; the compute hosts run none.
  EXPECT_EQ(ctl.daemons.size(), 1u);
  EXPECT_TRUE(testing::planOf(plans, "compute01").daemons.empty());
}

TEST(DhcpPlan, OtherHostsOfTheNetworkReachTheDhcpPortOverTheTunnel) {
  model::Cloud c = ipam::resolve(dhcpTopology(), "dhcp.yaml");
  auto plans = testing::planAllHosts(c);
  const model::Port& port = *dhcpPortOf(c, "net-a");
  for (const std::string host : {"compute01", "compute02"}) {
    const plan::HostPlan& p = testing::planOf(plans, host);
    EXPECT_NE(std::find(p.fdb.begin(), p.fdb.end(),
                        plan::FdbEntry{"vxlan-1001", port.mac, *Ipv4::parse("172.16.0.10")}),
              p.fdb.end())
        << host;
  }
  // And the DHCP host floods the network's frames (a client's broadcast DISCOVER) to them.
  const plan::HostPlan& ctl = testing::planOf(plans, "controller01");
  EXPECT_NE(std::find(ctl.fdb.begin(), ctl.fdb.end(),
                      plan::FdbEntry{"vxlan-1001", Mac(), *Ipv4::parse("172.16.0.11")}),
            ctl.fdb.end());
}

TEST(DhcpPlan, APortsNewOptionChangesTheFilesOnlyAndDnsmasqStartsAgain) {
  model::Topology t = dhcpTopology();
  auto daemonOf = [](const model::Topology& topo) {
    model::Cloud c = ipam::resolve(topo, "dhcp.yaml");
    auto plans = testing::planAllHosts(c);
    return testing::planOf(plans, "controller01").daemons.at(0);
  };
  plan::Daemon before = daemonOf(t);
  t.vms[0].extra_dhcp_opts[0].value = "other.example";
  plan::Daemon after = daemonOf(t);
  EXPECT_EQ(after.argv, before.argv);
  EXPECT_NE(after.files.at("opts"), before.files.at("opts"));
  EXPECT_NE(after.files.at("opts").find("other.example"), std::string::npos);
  EXPECT_EQ(after.reload, plan::Daemon::Reload::kRestart);  // dnsmasq 2.90 aborts on SIGHUP
}

TEST(DhcpTopology, SurvivesTheAgentsJsonTopology) {
  model::Topology t = dhcpTopology();
  model::Cloud c = ipam::resolve(t, "dhcp.yaml");
  const model::Port* port = dhcpPortOf(c, "net-a");
  t.dhcp_ports.push_back({"net-a", "controller01", {port->id, port->mac, port->ip}, 0});
  model::Topology back = model::topologyFromJson(model::toJson(t));
  EXPECT_EQ(model::toJson(back), model::toJson(t));
  EXPECT_TRUE(back.hosts[0].dhcp);
  EXPECT_FALSE(back.subnets[1].enable_dhcp);
  EXPECT_EQ(back.subnets[0].dns_nameservers.size(), 2u);
  EXPECT_EQ(back.vms[0].extra_dhcp_opts, t.vms[0].extra_dhcp_opts);
  EXPECT_EQ(back.dhcp_ports, t.dhcp_ports);
}

}  // namespace
}  // namespace dvr
