// Every kind of bad input is rejected with a message that names the object, what is
// wrong and the line, and with the problem's kind; nothing is produced from it.
#include <gtest/gtest.h>

#include "ipam/resolve.h"
#include "model/error.h"
#include "model/topology_yaml.h"

namespace dvr {
namespace {

// A small valid cloud; tests append or replace pieces of it.
const std::string kHosts = R"(hosts:
  - {name: net1, agent_mode: dvr_snat, tunnel_ip: 172.16.0.1, uplinks: {ext: eth1}}
  - {name: cmp1, tunnel_ip: 172.16.0.2, uplinks: {ext: eth1}}
)";
const std::string kNetworks = R"(networks:
  - name: ext
    external: true
    subnets: [{name: ext-sub, cidr: 192.168.74.0/24, gateway: 192.168.74.1}]
  - name: a
    vni: 10
    subnets: [{name: a-sub, cidr: 10.0.0.0/24}]
)";
const std::string kRouters = R"(routers:
  - {name: r1, external_gateway: ext, interfaces: [{subnet: a-sub}]}
)";

model::Cloud load(const std::string& yaml) {
  return ipam::resolve(model::parseTopology(yaml, "t.yaml"), "t.yaml");
}

// Expects rejection naming `object` with `message`, on `line` if given, of `kind`.
void expectRejected(const std::string& yaml, const std::string& object, const std::string& message,
                    int line = 0, ProblemKind kind = ProblemKind::Invalid) {
  try {
    load(yaml);
    FAIL() << "accepted:\n" << yaml;
  } catch (const InputError& e) {
    bool found = false;
    for (const auto& p : e.problems()) {
      if (p.object.find(object) != std::string::npos &&
          p.message.find(message) != std::string::npos && (line == 0 || p.line == line) &&
          p.kind == kind) {
        found = true;
      }
    }
    EXPECT_TRUE(found) << "expected [" << object << "] [" << message << "] line " << line
                       << " kind " << int(kind) << ", got:\n"
                       << e.what();
  }
}

TEST(TopologyErrors, ValidBaseIsAccepted) {
  auto cloud = load(kHosts + kNetworks + kRouters + "vms: [{name: vm1, network: a, host: cmp1}]\n");
  EXPECT_EQ(cloud.ports.size(), 4u);  // qr-, qg-, sg-, vm1
}

TEST(TopologyErrors, MalformedYaml) {
  expectRejected("hosts: [\n  - {name: x\n", "YAML", "", 0);
}

TEST(TopologyErrors, UnknownTopLevelKey) {
  expectRejected(kHosts + "switches: []\n", "topology", "unknown key 'switches'", 4);
}

TEST(TopologyErrors, UnknownKeyInHost) {
  expectRejected("hosts:\n  - {name: h, tunnel_ip: 1.1.1.1, colour: red}\n", "host 'h'",
                 "unknown key 'colour'", 2);
}

TEST(TopologyErrors, BadIp) {
  expectRejected("hosts:\n  - {name: h, tunnel_ip: 1.1.1.300}\n", "host 'h'",
                 "'1.1.1.300' is not a valid IPv4 address", 2);
}

TEST(TopologyErrors, BadCidr) {
  expectRejected(kHosts + "networks:\n  - name: a\n    subnets: [{name: s, cidr: 10.0.0.0/40}]\n",
                 "subnet 's'", "not a valid CIDR", 6);
}

TEST(TopologyErrors, BadMac) {
  expectRejected(
      kHosts + kNetworks + "vms: [{name: vm1, network: a, host: cmp1, mac: 'fa:16:3e:zz:00:01'}]\n",
      "vm 'vm1'", "not a valid MAC address", 11);
}

TEST(TopologyErrors, GatewayOutsideSubnet) {
  expectRejected(kHosts +
                     "networks:\n  - name: a\n    subnets: [{name: s, cidr: 10.0.0.0/24, gateway: "
                     "10.0.1.1}]\n",
                 "subnet 's'", "gateway 10.0.1.1 is outside subnet 10.0.0.0/24", 6,
                 ProblemKind::OutsideSubnet);
}

TEST(TopologyErrors, FixedIpOutsideSubnet) {
  expectRejected(kHosts + kNetworks + "vms: [{name: vm1, network: a, host: cmp1, ip: 10.0.9.5}]\n",
                 "vm 'vm1'", "IP 10.0.9.5 is outside every subnet of network 'a'", 11,
                 ProblemKind::OutsideSubnet);
}

TEST(TopologyErrors, DuplicateIp) {
  expectRejected(kHosts + kNetworks +
                     "vms:\n  - {name: vm1, network: a, host: cmp1, ip: 10.0.0.9}\n  - {name: vm2, "
                     "network: a, host: cmp1, ip: 10.0.0.9}\n",
                 "vm 'vm2'", "IP 10.0.0.9 is already in use in subnet 'a-sub'", 13,
                 ProblemKind::IpInUse);
}

TEST(TopologyErrors, DuplicateMac) {
  expectRejected(kHosts + kNetworks +
                     "vms:\n  - {name: vm1, network: a, host: cmp1, mac: 'fa:16:3e:00:00:01'}\n"
                     "  - {name: vm2, network: a, host: cmp1, mac: 'fa:16:3e:00:00:01'}\n",
                 "vm 'vm2'", "MAC fa:16:3e:00:00:01 is already in use", 13, ProblemKind::MacInUse);
}

TEST(TopologyErrors, OverlappingSubnetsOnOneRouter) {
  expectRejected(
      kHosts + kNetworks +
          "  - name: b\n    subnets: [{name: b-sub, cidr: 10.0.0.0/16, gateway: 10.0.200.1}]\n"
          "routers:\n  - name: r1\n    interfaces:\n      - {subnet: a-sub}\n      - {subnet: "
          "b-sub}\n",
      "router 'r1' interface on 'b-sub'", "overlaps with cidr 10.0.0.0/24", 17);
}

TEST(TopologyErrors, GatewayOnNonExternalNetwork) {
  expectRejected(
      kHosts + kNetworks +
          "routers:\n  - {name: r1, external_gateway: a}\n  - {name: r2, external_gateway: a}\n",
      "router 'r2'", "Network a is not an external network", 13);
}

TEST(TopologyErrors, FloatingIpWithoutRouterPath) {
  // vm1's subnet has no router with a gateway on ext: Neutron's 404.
  expectRejected(
      kHosts + kNetworks +
          "vms: [{name: vm1, network: a, host: cmp1}]\nfloating_ips: [{network: ext, vm: vm1}]\n",
      "floating IP #1", "External network ext is not reachable from subnet a-sub", 12,
      ProblemKind::NoExternalGateway);
}

TEST(TopologyErrors, SecondFloatingIpOfAVmOnOneNetwork) {
  expectRejected(kHosts + kNetworks + kRouters +
                     "vms: [{name: vm1, network: a, host: cmp1}]\n"
                     "floating_ips:\n  - {network: ext, vm: vm1}\n  - {network: ext, vm: vm1}\n",
                 "floating IP #2", "vm 'vm1' already has a floating IP on 'ext'", 16,
                 ProblemKind::PortHasFloatingIp);
}

TEST(TopologyErrors, MessagesCarryNoNeutronTypeNames) {
  try {
    load(kHosts + kNetworks +
         "vms: [{name: vm1, network: a, host: cmp1}]\nfloating_ips: [{network: ext, vm: vm1}]\n");
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(e.problems().front().message.find("ExternalGatewayForFloatingIPNotFound"),
              std::string::npos)
        << e.what();
  }
}

TEST(TopologyErrors, FloatingIpOnInternalNetwork) {
  expectRejected(kHosts + kNetworks + "floating_ips: [{network: a}]\n", "floating IP #1",
                 "Network a is not a valid external network", 11, ProblemKind::NotExternalNetwork);
}

TEST(TopologyErrors, VniUsedTwice) {
  expectRejected(kHosts + kNetworks + "  - {name: b, vni: 10}\n", "network 'b'",
                 "vni 10 is already used", 11);
}

TEST(TopologyErrors, PoolExhausted) {
  expectRejected(kHosts +
                     "networks:\n  - name: a\n    subnets: [{name: s, cidr: 10.0.0.0/30}]\n"
                     "vms:\n  - {name: vm1, network: a, host: cmp1}\n  - {name: vm2, network: a, "
                     "host: cmp1}\n",
                 "vm 'vm2'", "allocation pool exhausted", 9, ProblemKind::PoolExhausted);
}

TEST(TopologyErrors, VmOnUnknownHost) {
  expectRejected(kHosts + kNetworks + "vms: [{name: vm1, network: a, host: compute99}]\n",
                 "vm 'vm1'", "unknown host 'compute99'", 11);
}

TEST(TopologyErrors, HostWithoutUplinkForItsFloatingIps) {
  expectRejected(
      "hosts:\n  - {name: net1, agent_mode: dvr_snat, tunnel_ip: 172.16.0.1, uplinks: {ext: "
      "eth1}}\n"
      "  - {name: cmp1, tunnel_ip: 172.16.0.2}\n" +
          kNetworks + kRouters +
          "vms: [{name: vm1, network: a, host: cmp1}]\nfloating_ips: [{network: ext, vm: vm1}]\n",
      "fip gateway of host 'cmp1'", "has no uplink for external network 'ext'");
}

TEST(TopologyErrors, ReportsEveryProblemAtOnce) {
  try {
    load(kHosts + kNetworks +
         "vms:\n  - {name: vm1, network: nope, host: cmp1}\n  - {name: vm2, network: a, host: "
         "nobody}\n");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.problems().size(), 2u) << e.what();
    EXPECT_NE(std::string(e.what()).find("t.yaml:12: vm 'vm1': unknown network 'nope'"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace dvr
