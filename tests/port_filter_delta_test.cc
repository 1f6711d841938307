// The incremental reconcile of security groups sends the kernel only what a change
// touches (kernel/host_nft_delta.h): on a host with many filtered ports in one group, a
// member more on another host is one set element, a rule more is that group's chain
// refilled, a port more in a combination of groups other ports have is its elements only
// (the chains of a combination come with its first port), a port gone or a group gone
// takes only theirs. The commands are those the fake kernel received; each change is
// also checked against a full reconcile of the new plan on a fresh kernel, and a full
// reconcile after it must find nothing to do.
#include <gtest/gtest.h>

#include <regex>

#include "fake_kernel.h"
#include "ipam/resolve.h"
#include "kernel/reconciler.h"
#include "model/topology_yaml.h"
#include "plan/cloud_index.h"
#include "plan/names.h"
#include "plan/planner.h"
#include "plan/port_filter.h"

namespace dvr {
namespace {

using test::FakeKernel;

// A host h1 with `ports` VMs in group web (rules by port and by remote group web), a
// member of web on h2, and whatever `extra_vms` / `extra_rules` add.
struct Cloud {
  int ports = 20;
  std::string extra_rules, extra_vms, other_groups;
  std::string yaml() const {
    std::string y =
        "hosts:\n  - {name: h1, tunnel_ip: 172.16.0.11}\n  - {name: h2, tunnel_ip: 172.16.0.12}\n"
        "networks:\n  - name: net\n    vni: 1001\n"
        "    subnets: [{name: sub, cidr: 10.0.0.0/16, gateway: 10.0.0.1}]\n"
        "security_groups:\n  - name: web\n    rules:\n"
        "      - {direction: egress}\n"
        "      - {direction: ingress, protocol: tcp, port_range_min: 80, port_range_max: 80}\n"
        "      - {direction: ingress, protocol: udp, port_range_min: 53, port_range_max: 53, "
        "remote_group: web}\n" +
        extra_rules + other_groups + "vms:\n";
    for (int i = 0; i < ports; ++i)
      y += "  - {name: vm" + std::to_string(i) + ", network: net, host: h1, ip: 10.0.2." +
           std::to_string(i + 1) + ", security_groups: [web]}\n";
    return y + "  - {name: far, network: net, host: h2, ip: 10.0.200.1, security_groups: [web]}\n" +
           extra_vms;
  }
};

struct Planned {
  model::Cloud cloud;
  plan::HostPlan h1;
};

Planned planned(const Cloud& c) {
  Planned p{ipam::resolve(model::parseTopology(c.yaml(), "sg.yaml"), "sg.yaml"), {}};
  plan::CloudIndex index(p.cloud);
  p.h1 = plan::planHost(index, "h1");
  return p;
}

void ready(FakeKernel& k, const plan::HostPlan& p) {
  plan::Sysctl loaded{"", "net.bridge.bridge-nf-call-iptables", "0"};
  k.ns("").writeSysctls({&loaded});
  for (const auto& l : p.links) {
    if (l.kind == plan::LinkKind::Adopted && !k.hasLink(l.ns, l.name))
      k.addDevice(l.ns, l.name);
  }
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines)
    out += l + "\n";
  return out;
}

// The nft commands an incremental reconcile from `from` to `to` sends, without the
// namespace prefix ("" for the host's).
std::vector<std::string> commandsFor(const Cloud& from, const Cloud& to) {
  Planned was = planned(from), is = planned(to);
  FakeKernel k;
  ready(k, was.h1);
  kernel::Reconciler(k).apply(was.h1);
  for (const auto& l : was.h1.links) {  // the hypervisor unplugs a VM that goes
    if (l.kind == plan::LinkKind::Adopted && !is.h1.findLink(l.ns, l.name))
      k.removeDevice(l.ns, l.name);
  }
  ready(k, is.h1);
  size_t before = k.nftCommands().size();
  int listings = k.nftListings();
  kernel::ReconcileResult r = kernel::Reconciler(k).apply(is.h1, &was.h1);
  // From the plans alone: had the kernel refused the change, it would have been listed.
  EXPECT_EQ(k.nftListings(), listings) << "the incremental change was refused";
  EXPECT_TRUE(r.nft_relisted.empty());
  std::vector<std::string> out;
  for (size_t i = before; i < k.nftCommands().size(); ++i)
    out.push_back(k.nftCommands()[i].substr(k.nftCommands()[i].find('|') + 1));
  FakeKernel fresh;
  ready(fresh, is.h1);
  kernel::Reconciler(fresh).apply(is.h1);
  EXPECT_EQ(joined(k.dump()), joined(fresh.dump()));
  kernel::ReconcileResult again = kernel::Reconciler(k).apply(is.h1);
  EXPECT_EQ(again.changes, 0) << joined(again.log);
  return out;
}

std::string groupId(const Cloud& c, const std::string& name) {
  return planned(c).cloud.findSecurityGroup(name)->id;
}

std::string portId(const Planned& p, const std::string& vm) {
  return p.cloud.findVm(vm)->id;
}

// The port chain of the ports in exactly these groups (by name).
std::string portChain(const Cloud& c, const std::vector<std::string>& groups, bool ingress) {
  std::vector<std::string> ids;
  for (const auto& g : groups)
    ids.push_back(groupId(c, g));
  return plan::filter_names::portChain(ids, ingress);
}

// Every command matches `pattern`.
void allMatch(const std::vector<std::string>& commands, const std::string& pattern) {
  std::regex re(pattern);
  for (const auto& c : commands)
    EXPECT_TRUE(std::regex_search(c, re)) << c << "\n  not " << pattern;
}

TEST(PortFilterDelta, AMemberMoreOnAnotherHostIsOneElement) {
  Cloud a, b;
  b.extra_vms =
      "  - {name: far2, network: net, host: h2, ip: 10.0.200.2, security_groups: [web]}\n";
  auto commands = commandsFor(a, b);
  std::vector<std::string> want{"add element inet dvr rg-" + groupId(a, "web") + " { 10.0.200.2 }"};
  EXPECT_EQ(commands, want) << joined(commands);
  // And the same one command however many ports the host filters.
  a.ports = b.ports = 60;
  EXPECT_EQ(commandsFor(a, b), want);
}

TEST(PortFilterDelta, ARuleMoreRefillsThatGroupsChainOnly) {
  Cloud a, b;
  b.extra_rules =
      "      - {direction: ingress, protocol: tcp, port_range_min: 443, port_range_max: 443}\n";
  auto commands = commandsFor(a, b);
  const std::string chain = "sg-in-" + groupId(a, "web");
  ASSERT_FALSE(commands.empty());
  EXPECT_EQ(commands.front(), "flush chain inet dvr " + chain);
  allMatch(commands, "^(flush chain|add rule) inet dvr " + chain + "( |$)");
  // The tag, then the group's four ingress rules (tcp/80, udp/53 from web, tcp/443).
  EXPECT_EQ(commands.size(), 1u + 1u + 3u) << joined(commands);
  EXPECT_NE(joined(commands).find("tcp dport 443 accept comment"), std::string::npos);
}

TEST(PortFilterDelta, APortMoreInGroupsOtherPortsHaveIsItsElementsOnly) {
  Cloud a, b;
  b.extra_vms = "  - {name: new, network: net, host: h1, ip: 10.0.3.1, security_groups: [web]}\n";
  Planned p = planned(b);
  const std::string port = portId(p, "new"), dev = plan::names::tap(port);
  const plan::FilteredPort& fp = *p.h1.port_filter.findByDev(dev);
  char mark[16];
  std::snprintf(mark, sizeof mark, "0x%08x", fp.mark);
  auto commands = commandsFor(a, b);
  // Each command is an element that names the new port (its tap or its mark), or the
  // member more in web's set: the chains of web's ports are there already.
  allMatch(commands, "^add element (bridge|inet) dvr .*(" + dev + "|" + mark +
                         "|rg-.* \\{ 10\\.0\\.3\\.1 \\})");
  std::string all = joined(commands);
  for (const char* set :
       {"bridge dvr filtered_ports", "bridge dvr port_sources", "bridge dvr port_marks",
        "inet dvr zones", "inet dvr egress_ports", "inet dvr ingress_ports"})
    EXPECT_NE(all.find(std::string("add element ") + set + " "), std::string::npos) << set << "\n"
                                                                                    << all;
  EXPECT_NE(all.find("add element inet dvr ingress_ports { " + std::string(mark) + " : jump " +
                     portChain(a, {"web"}, true) + " }"),
            std::string::npos)
      << all;
  EXPECT_EQ(all.find("flush"), std::string::npos) << all;
  EXPECT_EQ(all.find("delete"), std::string::npos) << all;
}

TEST(PortFilterDelta, TheFirstPortOfACombinationOfGroupsMakesItsChains) {
  Cloud a, b;
  a.other_groups = b.other_groups =
      "  - name: ssh\n    rules:\n      - {direction: ingress, protocol: tcp, port_range_min: "
      "22, port_range_max: 22}\n";
  b.extra_vms =
      "  - {name: new, network: net, host: h1, ip: 10.0.3.1, security_groups: [web, ssh]}\n";
  std::string all = joined(commandsFor(a, b));
  for (bool ingress : {false, true}) {
    const std::string chain = portChain(a, {"web", "ssh"}, ingress);
    EXPECT_NE(all.find("add chain inet dvr " + chain + "\n"), std::string::npos) << all;
    const std::string jump = std::string("jump sg-") + (ingress ? "in-" : "out-");
    for (const char* g : {"web", "ssh"})
      EXPECT_NE(all.find("add rule inet dvr " + chain + " " + jump + groupId(a, g)),
                std::string::npos)
          << g << "\n"
          << all;
  }
  EXPECT_EQ(all.find("delete"), std::string::npos) << all;
}

TEST(PortFilterDelta, APortGoneTakesItsElementsOnly) {
  Cloud a, b;
  b.ports = a.ports - 1;  // vm19 goes
  Planned p = planned(a);
  const std::string port = portId(p, "vm19"), dev = plan::names::tap(port);
  char mark[16];
  std::snprintf(mark, sizeof mark, "0x%08x", p.h1.port_filter.findByDev(dev)->mark);
  auto commands = commandsFor(a, b);
  // web's other ports keep their chains.
  allMatch(commands, "^delete element (bridge|inet) dvr .*(" + dev + "|" + mark +
                         "|rg-.* \\{ 10\\.0\\.2\\.20 \\})");
  std::string all = joined(commands);
  EXPECT_NE(all.find("delete element inet dvr ingress_ports { " + std::string(mark) + " }"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("delete element inet dvr rg-"), std::string::npos) << all;
}

// A port's single addresses are in a hash set, its address pairs that are networks in an
// interval set (whose kernel set rebuilds itself on every deletion): a port without such
// pairs coming or going never touches the interval set.
TEST(PortFilterDelta, OnlyANetworkAddressPairTouchesTheIntervalSet) {
  Cloud a, b, c;
  b.ports = a.ports - 1;  // vm19 goes
  c.extra_vms =
      "  - {name: vip, network: net, host: h1, ip: 10.0.4.1, security_groups: [web],\n"
      "     allowed_address_pairs: [{ip_address: 10.0.5.0/24}, {ip_address: 10.0.6.7}]}\n";
  EXPECT_EQ(joined(commandsFor(a, b)).find("port_source_nets"), std::string::npos);
  std::string all = joined(commandsFor(a, c));
  Planned p = planned(c);
  const std::string dev = plan::names::tap(portId(p, "vip"));
  const std::string mac = p.cloud.findVm("vip")->mac.str();
  for (const std::string& e : {"port_sources { \"" + dev + "\" . " + mac + " . 10.0.4.1 }",
                               "port_sources { \"" + dev + "\" . " + mac + " . 10.0.6.7 }",
                               "port_source_nets { \"" + dev + "\" . " + mac + " . 10.0.5.0/24 }"})
    EXPECT_NE(all.find("add element bridge dvr " + e), std::string::npos) << e << "\n" << all;
  EXPECT_EQ(all.find("port_source_nets { \"" + dev + "\" . " + mac + " . 10.0.4.1"),
            std::string::npos);
}

TEST(PortFilterDelta, AGroupsLastPortGoneTakesItsChainsAndSetOnly) {
  // vm0 moves from web to db (db: ingress from db's members); db was in use by no port.
  Cloud a, b;
  const std::string db =
      "  - name: db\n    rules:\n      - {direction: ingress, protocol: tcp, port_range_min: "
      "5432, port_range_max: 5432, remote_group: db}\n";
  a.other_groups = b.other_groups = db;
  a.extra_vms = "  - {name: dbvm, network: net, host: h1, ip: 10.0.4.1, security_groups: [db]}\n";
  Planned p = planned(a);
  const std::string id = groupId(a, "db");
  auto commands = commandsFor(a, b);
  std::string all = joined(commands);
  for (const std::string& c :
       {"sg-in-" + id, "sg-out-" + id, portChain(a, {"db"}, false), portChain(a, {"db"}, true)})
    EXPECT_NE(all.find("delete chain inet dvr " + c + "\n"), std::string::npos) << c << "\n" << all;
  EXPECT_NE(all.find("delete set inet dvr rg-" + id), std::string::npos) << all;
  // Nothing of web's or of its ports'.
  EXPECT_EQ(all.find(groupId(a, "web")), std::string::npos) << all;
  EXPECT_EQ(all.find("-" + portId(p, "vm0")), std::string::npos) << all;
}

TEST(PortFilterDelta, APortChangingGroupsMovesToItsNewCombinationsChains) {
  Cloud a, b;
  const std::string ssh =
      "  - name: ssh\n    rules:\n      - {direction: ingress, protocol: tcp, port_range_min: "
      "22, port_range_max: 22}\n";
  a.other_groups = b.other_groups = ssh;
  a.extra_vms = "  - {name: admin, network: net, host: h1, ip: 10.0.4.1, security_groups: [ssh]}\n";
  b.extra_vms =
      "  - {name: admin, network: net, host: h1, ip: 10.0.4.1, security_groups: [ssh, web]}\n";
  Planned p = planned(a);
  char mark[16];
  std::snprintf(mark, sizeof mark, "0x%08x",
                p.h1.port_filter.findByDev(plan::names::tap(portId(p, "admin")))->mark);
  auto commands = commandsFor(a, b);
  // Its verdicts now jump to the chains of ssh and web (made: it is their first port),
  // those of ssh alone go (it was their last), and it joins web's set; nothing of web's
  // other ports, no group's chain.
  const std::string both = "(in|out)-" + portChain(a, {"ssh", "web"}, true).substr(3);
  const std::string ssh_only = "(in|out)-" + portChain(a, {"ssh"}, true).substr(3);
  allMatch(commands, "^(add chain inet dvr " + both + "$|add rule inet dvr " + both +
                         " |(flush|delete) chain inet dvr " + ssh_only +
                         "$|(add|delete) element inet dvr (in|e)gress_ports \\{ " + mark +
                         "[ }]|add element inet dvr rg-" + groupId(a, "web") +
                         " \\{ 10\\.0\\.4\\.1 \\}$)");
  std::string all = joined(commands);
  EXPECT_NE(all.find("add element inet dvr ingress_ports { " + std::string(mark) + " : jump " +
                     portChain(a, {"ssh", "web"}, true) + " }"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("delete chain inet dvr " + portChain(a, {"ssh"}, true) + "\n"),
            std::string::npos)
      << all;
}

// Drift: a full reconcile compares with what the kernel lists, and puts back what was
// changed by hand, and only that.
class PortFilterDrift : public ::testing::Test {
 protected:
  void SetUp() override {
    ready(k_, p_.h1);
    kernel::Reconciler(k_).apply(p_.h1);
  }
  // A full reconcile after `script` was run by hand: its nft commands.
  std::vector<std::string> repairAfter(const std::string& script) {
    k_.ns("").nft().run(script);
    size_t before = k_.nftCommands().size();
    kernel::Reconciler(k_).apply(p_.h1);
    FakeKernel fresh;
    ready(fresh, p_.h1);
    kernel::Reconciler(fresh).apply(p_.h1);
    EXPECT_EQ(joined(k_.dump()), joined(fresh.dump()));
    std::vector<std::string> out;
    for (size_t i = before; i < k_.nftCommands().size(); ++i)
      out.push_back(k_.nftCommands()[i].substr(k_.nftCommands()[i].find('|') + 1));
    return out;
  }
  Cloud c_;
  Planned p_ = planned(c_);
  FakeKernel k_;
};

TEST_F(PortFilterDrift, ARuleAddedByHandToAGroupsChainGoesAgain) {
  const std::string chain = "sg-in-" + groupId(c_, "web");
  auto commands = repairAfter("add rule inet dvr " + chain + " tcp dport 23 accept\n");
  ASSERT_FALSE(commands.empty());
  EXPECT_EQ(commands.front(), "flush chain inet dvr " + chain);
  allMatch(commands, "^(flush chain|add rule) inet dvr " + chain + "( |$)");
  EXPECT_EQ(joined(commands).find("dport 23"), std::string::npos);
}

TEST_F(PortFilterDrift, AnElementDeletedByHandComesBackAlone) {
  const std::string set = "rg-" + groupId(c_, "web");
  auto commands = repairAfter("delete element inet dvr " + set + " { 10.0.200.1 }\n");
  EXPECT_EQ(commands, std::vector<std::string>{"add element inet dvr " + set + " { 10.0.200.1 }"});
}

TEST_F(PortFilterDrift, APortsChainFlushedByHandIsRefilled) {
  const std::string chain = portChain(c_, {"web"}, true);
  auto commands = repairAfter("flush chain inet dvr " + chain + "\n");
  ASSERT_FALSE(commands.empty());
  allMatch(commands, "^(flush chain|add rule) inet dvr " + chain + "( |$)");
}

// An incremental reconcile trusts the last plan; one that meets drift (the kernel
// refuses its change) is made again against the kernel's listing, and says so.
TEST(PortFilterDriftIncremental, AChangeMeetingDriftIsMadeAgainstTheListing) {
  Cloud a, b;  // far2 (on h2) leaves web
  a.extra_vms =
      "  - {name: far2, network: net, host: h2, ip: 10.0.200.2, security_groups: [web]}\n";
  Planned was = planned(a), is = planned(b);
  FakeKernel k;
  ready(k, was.h1);
  kernel::Reconciler(k).apply(was.h1);
  // By hand, the element the change deletes: the kernel refuses the deletion.
  k.ns("").nft().run("delete element inet dvr rg-" + groupId(a, "web") + " { 10.0.200.2 }\n");
  kernel::ReconcileResult r = kernel::Reconciler(k).apply(is.h1, &was.h1);
  EXPECT_EQ(r.nft_relisted, std::vector<std::string>{""});
  FakeKernel fresh;
  ready(fresh, is.h1);
  kernel::Reconciler(fresh).apply(is.h1);
  EXPECT_EQ(joined(k.dump()), joined(fresh.dump()));
}

}  // namespace
}  // namespace dvr
