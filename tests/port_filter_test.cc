// Security groups without root: what the plan says a host's filter is (plan/port_filter),
// that the reconciler on the fake kernel makes it and then changes only what a change
// touches (one group's chain for a rule, set elements and one port's chains for a port),
// that full and incremental reconciles agree, and the tracer's verdicts.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "fake_kernel.h"
#include "ipam/resolve.h"
#include "kernel/reconciler.h"
#include "model/error.h"
#include "model/topology_yaml.h"
#include "plan/cloud_index.h"
#include "plan/names.h"
#include "plan/nft_tables.h"
#include "plan/planner.h"
#include "plan/port_filter.h"
#include "trace/tracer.h"

namespace dvr {
namespace {

using test::FakeKernel;

const std::string kFile = std::string(DVR_SOURCE_DIR) + "/examples/security-groups.yaml";

std::string fileText() {
  std::ifstream in(kFile);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string edited(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  if (at == std::string::npos)
    throw std::runtime_error("no '" + from + "' in the file");
  return text.replace(at, from.size(), to);
}

struct Planned {
  model::Cloud cloud;
  std::vector<plan::HostPlan> plans;
  const plan::HostPlan& host(const std::string& name) const {
    for (const auto& p : plans) {
      if (p.host == name)
        return p;
    }
    throw std::runtime_error("no plan for " + name);
  }
};

Planned planned(const std::string& yaml) {
  Planned p{ipam::resolve(model::parseTopology(yaml, "sg.yaml"), "sg.yaml"), {}};
  plan::CloudIndex index(p.cloud);
  p.plans = plan::planAll(index);
  return p;
}

const plan::FilteredPort& portOf(const Planned& p, const std::string& host, const std::string& vm) {
  const plan::FilteredPort* f =
      p.host(host).port_filter.findByDev(plan::names::tap(p.cloud.findVm(vm)->id));
  if (!f)
    throw std::runtime_error(vm + " is not filtered on " + host);
  return *f;
}

void withBrNetfilter(FakeKernel& k) {
  plan::Sysctl loaded{"", "net.bridge.bridge-nf-call-iptables", "0"};
  k.ns("").writeSysctls({&loaded});
}

void plug(FakeKernel& k, const plan::HostPlan& p) {
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

TEST(PortFilterPlan, OnlyVmsWithPortSecurityAreFilteredOnTheirBridgesOwnHooks) {
  Planned p = planned(fileText());
  const plan::HostPlan& c1 = p.host("compute01");
  // vm1 (default) and vm2 (ssh) are filtered; vm3 has no groups: port security off.
  EXPECT_EQ(c1.port_filter.ports.size(), 2u);
  EXPECT_EQ(c1.port_filter.findByDev(plan::names::tap(p.cloud.findVm("vm3")->id)), nullptr);
  for (const auto& l : c1.links) {
    if (l.kind != plan::LinkKind::Bridge)
      continue;
    bool has_filtered = false;
    for (const auto& f : c1.port_filter.ports)
      has_filtered = has_filtered || plan::names::bridge(f.network_id) == l.name;
    EXPECT_EQ(l.nf_call_iptables, has_filtered) << l.name;
  }
  // Every port of vm1's bridge is zoned by its network: vm1's tap, the qr- veth, VXLAN.
  const plan::FilteredPort& vm1 = portOf(p, "compute01", "vm1");
  EXPECT_EQ(c1.port_filter.zones.at(vm1.dev), 1001);
  EXPECT_EQ(c1.port_filter.zones.at("vxlan-1001"), 1001);
  // The default group's members on every host: vm1 here and vm4 on compute02.
  const std::string def = p.cloud.findSecurityGroup("default")->id;
  std::set<Cidr> members{{*Ipv4::parse("10.16.0.3"), 32}, {*Ipv4::parse("10.16.1.3"), 32}};
  EXPECT_EQ(c1.port_filter.remote_groups.at(def), members);
  // Anti-spoofing: vm1 may send from its MAC and fixed IP only.
  ASSERT_EQ(vm1.sources.size(), 1u);
  EXPECT_EQ(vm1.sources[0].mac, p.cloud.findVm("vm1")->mac);
}

TEST(PortFilterPlan, AddressPairsJoinTheSourcesAndTheRemoteGroupWithoutOverlaps) {
  Planned p = planned(
      edited(fileText(), "ip: 10.16.0.3, security_groups: [default]}",
             "ip: 10.16.0.3, security_groups: [default], allowed_address_pairs: [{ip_address: "
             "10.16.0.0/28}, {ip_address: 10.16.0.99, mac_address: \"fa:16:3e:00:00:99\"}]}"));
  const plan::FilteredPort& vm1 = portOf(p, "compute01", "vm1");
  ASSERT_EQ(vm1.sources.size(), 2u);  // 10.16.0.3 is inside 10.16.0.0/28 with the same MAC
  const std::string def = p.cloud.findSecurityGroup("default")->id;
  const auto& members = p.host("compute02").port_filter.remote_groups.at(def);
  EXPECT_TRUE(members.count({*Ipv4::parse("10.16.0.0"), 28}));
  EXPECT_FALSE(members.count({*Ipv4::parse("10.16.0.3"), 32}));  // covered: one element
  EXPECT_TRUE(members.count({*Ipv4::parse("10.16.0.99"), 32}));
}

class PortFilterReconcile : public ::testing::Test {
 protected:
  // compute01 built from the file, then `yaml`'s plan applied incrementally; returns
  // the change lines of the incremental run, after checking that a full reconcile of
  // the new plan on a fresh kernel gives the same kernel.
  std::string changeTo(const std::string& yaml) {
    Planned before = planned(fileText()), after = planned(yaml);
    const plan::HostPlan &was = before.host("compute01"), &is = after.host("compute01");
    FakeKernel k;
    withBrNetfilter(k);
    plug(k, was);
    kernel::Reconciler(k).apply(was);
    plug(k, is);
    int listings = k.nftListings();
    kernel::ReconcileResult r = kernel::Reconciler(k).apply(is, &was);
    // From the plans alone: had the kernel refused the change, it would have been listed.
    EXPECT_EQ(k.nftListings(), listings) << "the incremental change was refused";
    FakeKernel fresh;
    withBrNetfilter(fresh);
    plug(fresh, is);
    kernel::Reconciler(fresh).apply(is);
    EXPECT_EQ(joined(k.dump()), joined(fresh.dump()));
    // And a full reconcile of the changed kernel has nothing left to do.
    kernel::ReconcileResult again = kernel::Reconciler(k).apply(is);
    EXPECT_EQ(again.changes, 0) << joined(again.log);
    return joined(r.log);
  }
};

TEST_F(PortFilterReconcile, ARuleAddedRewritesThatGroupsChainOnly) {
  std::string log = changeTo(edited(
      fileText(), "      - {direction: ingress, protocol: icmp, remote_ip_prefix: 8.8.8.8/32}",
      "      - {direction: ingress, protocol: icmp, remote_ip_prefix: 8.8.8.8/32}\n"
      "      - {direction: ingress, protocol: udp, port_range_min: 53, port_range_max: 53}"));
  Planned p = planned(fileText());
  const std::string ssh = p.cloud.findSecurityGroup("ssh")->id;
  EXPECT_NE(log.find("flush chain inet dvr sg-in-" + ssh), std::string::npos) << log;
  EXPECT_EQ(log.find("nft -f -"), std::string::npos) << log;            // no table rewritten
  EXPECT_EQ(log.find("chain inet dvr in-"), std::string::npos) << log;  // no port's chain
  EXPECT_EQ(log.find("element"), std::string::npos) << log;
}

TEST_F(PortFilterReconcile, APortJoiningARemoteGroupAddsElementsOnly) {
  // vm6 joins default on compute01, where other ports are in default already: its
  // elements (its verdicts jump to their chains) and one member more.
  std::string log =
      changeTo(edited(fileText(), "  - {name: vm4,",
                      "  - {name: vm6, network: net-a, host: compute01, ip: 10.16.0.6, "
                      "security_groups: [default]}\n  - {name: vm4,"));
  EXPECT_EQ(log.find("nft -f -"), std::string::npos) << log;
  EXPECT_EQ(log.find("flush chain"), std::string::npos) << log;  // no chain rewritten
  EXPECT_NE(log.find("add element inet dvr rg-"), std::string::npos) << log;
  EXPECT_NE(log.find("10.16.0.6"), std::string::npos) << log;
  EXPECT_EQ(log.find("add chain"), std::string::npos) << log;
  EXPECT_EQ(log.find("add rule"), std::string::npos) << log;
  EXPECT_NE(log.find("add element inet dvr ingress_ports"), std::string::npos) << log;
}

TEST_F(PortFilterReconcile, ThePortsLastGroupGoneTakesItsSetAndChainsAway) {
  // vm2 leaves ssh for closed: ssh's chains go; its port chain now jumps elsewhere.
  std::string log =
      changeTo(edited(fileText(), "security_groups: [ssh]", "security_groups: [closed]"));
  Planned p = planned(fileText());
  const std::string ssh = p.cloud.findSecurityGroup("ssh")->id;
  EXPECT_NE(log.find("delete chain inet dvr sg-in-" + ssh), std::string::npos) << log;
}

TEST(PortFilterReconcileGuard, WithoutBrNetfilterNothingIsChangedAndTheErrorSaysWhy) {
  Planned p = planned(fileText());
  FakeKernel k;
  plug(k, p.host("compute01"));
  auto before = k.dump();
  try {
    kernel::Reconciler(k).apply(p.host("compute01"));
    FAIL() << "reconciled without br_netfilter";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("br_netfilter"), std::string::npos) << e.what();
  }
  EXPECT_EQ(k.dump(), before);
}

TEST(PortFilterTrace, SaysWhichRuleAcceptedOrThatNoneDidAndRepliesPassAsEstablished) {
  Planned p = planned(fileText());
  auto ssh = trace::tracePacket(p.cloud, p.plans,
                                {"internet", "192.168.74.104", trace::Proto::Tcp, 22, true});
  ASSERT_TRUE(ssh.forward.delivered) << ssh.forward.verdict;
  std::string all;
  for (const auto& h : ssh.forward.hops)
    for (const auto& d : h.decisions)
      all += d + "\n";
  EXPECT_NE(all.find("accepted by rule"), std::string::npos) << all;
  EXPECT_NE(all.find("of group ssh (tcp dport 22)"), std::string::npos) << all;
  ASSERT_TRUE(ssh.reply && ssh.reply->delivered);
  std::string reply;
  for (const auto& h : ssh.reply->hops)
    for (const auto& d : h.decisions)
      reply += d + "\n";
  EXPECT_NE(reply.find("ct state established"), std::string::npos) << reply;

  auto telnet = trace::tracePacket(p.cloud, p.plans,
                                   {"internet", "192.168.74.104", trace::Proto::Tcp, 23, true});
  EXPECT_FALSE(telnet.forward.delivered);
  EXPECT_NE(telnet.forward.verdict.find("no rule of ssh allows tcp/23 from 8.8.8.8"),
            std::string::npos)
      << telnet.forward.verdict;
  // vm1 -> vm5: vm5's group lets nothing in.
  auto closed = trace::tracePacket(p.cloud, p.plans, {"vm1", "vm5", trace::Proto::Icmp, 0, true});
  EXPECT_FALSE(closed.forward.delivered);
  EXPECT_NE(closed.forward.verdict.find("no rule of closed allows icmp from 10.16.0.3"),
            std::string::npos)
      << closed.forward.verdict;
}

}  // namespace
}  // namespace dvr
