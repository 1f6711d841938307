// Security groups in topology files: what a file's groups, rules and VM filtering become
// in the Cloud (ids, normalized prefixes, remote groups, address pairs), that the JSON
// form the server stores and the agents read keeps all of it, and every bad input
// refused naming the object, what is wrong and its line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ipam/ids.h"
#include "ipam/resolve.h"
#include "model/error.h"
#include "model/topology_json.h"
#include "model/topology_yaml.h"

namespace dvr {
namespace {

const std::string kBase = R"(hosts:
  - {name: cmp1, tunnel_ip: 172.16.0.2}
networks:
  - name: a
    subnets: [{name: a-sub, cidr: 10.0.0.0/24}]
)";  // 5 lines

const std::string kGroups = R"(security_groups:
  - name: web
    rules:
      - {direction: ingress, protocol: tcp, port_range_min: 22, port_range_max: 22}
      - {direction: ingress, protocol: icmp, port_range_min: 8, port_range_max: 0,
         remote_ip_prefix: 192.168.74.5/24}
      - {direction: ingress, protocol: "17", remote_group: web}
      - {direction: egress}
  - name: db
    id: 11111111-2222-4333-8444-555555555555
    stateful: false
    rules:
      - {direction: ingress, protocol: any, remote_ip_prefix: 8.8.8.8}
)";  // 13 lines: lines 6..18

model::Cloud load(const std::string& yaml) {
  return ipam::resolve(model::parseTopology(yaml, "t.yaml"), "t.yaml");
}

void expectRejected(const std::string& yaml, const std::string& object, const std::string& message,
                    int line) {
  try {
    load(yaml);
    FAIL() << "accepted:\n" << yaml;
  } catch (const InputError& e) {
    bool found = false;
    for (const auto& p : e.problems()) {
      if (p.object.find(object) != std::string::npos &&
          p.message.find(message) != std::string::npos && p.line == line)
        found = true;
    }
    EXPECT_TRUE(found) << "expected [" << object << "] [" << message << "] line " << line
                       << ", got:\n"
                       << e.what();
  }
}

const model::Port& vm(const model::Cloud& c, const std::string& name) {
  const model::Port* p = c.findVm(name);
  EXPECT_NE(p, nullptr) << name;
  return *p;
}

TEST(SecurityGroupTopology, GroupsRulesAndVmFilteringResolve) {
  auto c = load(kBase + kGroups +
                "vms:\n"
                "  - {name: vm1, network: a, host: cmp1, security_groups: [web, db],\n"
                "     allowed_address_pairs: [{ip_address: 10.0.0.200},\n"
                "                             {ip_address: 10.1.0.0/16, mac_address: "
                "fa:16:3e:00:00:99}]}\n"
                "  - {name: vm2, network: a, host: cmp1}\n"
                "  - {name: vm3, network: a, host: cmp1, port_security: true}\n");
  ASSERT_EQ(c.security_groups.size(), 2u);
  const auto& web = c.security_groups[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.id, ipam::uuidFor("security-group:web"));  // deterministic, like other ids
  EXPECT_TRUE(web.stateful);
  ASSERT_EQ(web.rules.size(), 4u);
  EXPECT_TRUE(web.rules[0].ingress);
  EXPECT_EQ(web.rules[0].protocol, 6);
  EXPECT_EQ(web.rules[0].port_min, 22);
  EXPECT_EQ(web.rules[0].port_max, 22);
  EXPECT_EQ(web.rules[1].protocol, 1);
  EXPECT_EQ(web.rules[1].port_min, 8);                                 // ICMP type
  EXPECT_EQ(web.rules[1].port_max, 0);                                 // ICMP code
  EXPECT_EQ(web.rules[1].remote_ip_prefix->str(), "192.168.74.0/24");  // normalized
  EXPECT_EQ(web.rules[2].protocol, 17);
  EXPECT_EQ(web.rules[2].remote_group_id, web.id);
  EXPECT_FALSE(web.rules[3].ingress);
  EXPECT_FALSE(web.rules[3].protocol);
  EXPECT_NE(web.rules[0].id, web.rules[1].id);
  const auto& db = c.security_groups[1];
  EXPECT_EQ(db.id, "11111111-2222-4333-8444-555555555555");
  EXPECT_FALSE(db.stateful);
  EXPECT_FALSE(db.rules[0].protocol);  // any
  EXPECT_EQ(db.rules[0].remote_ip_prefix->str(), "8.8.8.8/32");
  EXPECT_EQ(c.findSecurityGroup(db.id), &db);

  const auto& p1 = vm(c, "vm1");
  EXPECT_TRUE(p1.port_security);  // groups given: filtered
  EXPECT_EQ(p1.security_group_ids, (std::vector<std::string>{web.id, db.id}));
  ASSERT_EQ(p1.allowed_address_pairs.size(), 2u);
  EXPECT_EQ(p1.allowed_address_pairs[0].ip.str(), "10.0.0.200/32");
  EXPECT_EQ(p1.allowed_address_pairs[0].mac, p1.mac);  // the port's own when none given
  EXPECT_EQ(p1.allowed_address_pairs[1].ip.str(), "10.1.0.0/16");
  EXPECT_EQ(p1.allowed_address_pairs[1].mac.str(), "fa:16:3e:00:00:99");
  EXPECT_FALSE(vm(c, "vm2").port_security);  // a file from before groups: open
  EXPECT_TRUE(vm(c, "vm3").port_security);   // filtered with no group: nothing allowed
  EXPECT_TRUE(vm(c, "vm3").security_group_ids.empty());
}

TEST(SecurityGroupTopology, JsonKeepsEverything) {
  auto topo = model::parseTopology(
      kBase + kGroups +
          "vms:\n  - {name: vm1, network: a, host: cmp1, security_groups: [web],\n"
          "     allowed_address_pairs: [{ip_address: 10.0.0.200, mac_address: "
          "fa:16:3e:00:00:99}]}\n"
          "  - {name: vm2, network: a, host: cmp1}\n",
      "t.yaml");
  auto back = model::topologyFromJson(model::toJson(topo));
  ASSERT_EQ(back.security_groups.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    model::SecurityGroupSpec a = topo.security_groups[i], b = back.security_groups[i];
    for (auto& r : a.rules)
      r.line = 0;  // lines are the file's, not the document's
    a.line = 0;
    EXPECT_EQ(a, b) << i;
  }
  EXPECT_EQ(back.vms[0].security_groups, topo.vms[0].security_groups);
  EXPECT_TRUE(back.vms[0].port_security);
  EXPECT_EQ(back.vms[0].allowed_address_pairs, topo.vms[0].allowed_address_pairs);
  EXPECT_FALSE(back.vms[1].port_security);
  // An unfiltered VM's document is what it was before security groups.
  EXPECT_FALSE(model::toJson(topo)["vms"][1].contains("port_security"));
}

TEST(SecurityGroupTopology, UnknownGroupOnVmNamesVmAndLine) {
  expectRejected(kBase + kGroups +
                     "vms:\n  - {name: vm1, network: a, host: cmp1, "
                     "security_groups: [web, nope]}\n",
                 "vm 'vm1'", "unknown security group 'nope'", 20);
}

TEST(SecurityGroupTopology, GroupsWithoutPortSecurity) {
  expectRejected(kBase + kGroups +
                     "vms:\n  - {name: vm1, network: a, host: cmp1, "
                     "security_groups: [web], port_security: false}\n",
                 "vm 'vm1'", "Port security must be enabled", 20);
  expectRejected(kBase +
                     "vms:\n  - {name: vm1, network: a, host: cmp1, port_security: false,\n"
                     "     allowed_address_pairs: [{ip_address: 10.0.0.9}]}\n",
                 "vm 'vm1'", "Port Security must be enabled in order to have allowed address", 7);
}

TEST(SecurityGroupTopology, BadAddressPair) {
  expectRejected(kBase +
                     "vms:\n  - {name: vm1, network: a, host: cmp1,\n"
                     "     allowed_address_pairs: [{ip_address: 10.0.0.300}]}\n",
                 "vm 'vm1' allowed address pair #1", "'10.0.0.300' is not a valid IPv4 address", 8);
  expectRejected(kBase +
                     "vms:\n  - {name: vm1, network: a, host: cmp1,\n"
                     "     allowed_address_pairs: [{mac_address: fa:16:3e:00:00:01}]}\n",
                 "vm 'vm1' allowed address pair #1", "missing required key 'ip_address'", 8);
  expectRejected(
      kBase +
          "vms:\n  - {name: vm1, network: a, host: cmp1, port_security: true,\n"
          "     allowed_address_pairs: [{ip_address: 10.0.0.9}, {ip_address: 10.0.0.9}]}\n",
      "vm 'vm1'", "Request contains duplicate address pair", 7);
}

std::string oneRule(const std::string& rule) {
  return "security_groups:\n  - name: g\n    rules:\n      - " + rule + "\n";  // rule: line 9
}

TEST(SecurityGroupTopology, BadRules) {
  struct Case {
    std::string rule, message;
  } cases[] = {
      {"{direction: sideways}", "direction 'sideways' must be ingress or egress"},
      {"{protocol: tcp}", "missing required key 'direction'"},
      {"{direction: ingress, protocol: smtp}", "protocol 'smtp' is not one of ah, dccp"},
      {"{direction: ingress, protocol: 256}", "protocol '256' is not one of"},
      {"{direction: ingress, ethertype: IPv6}", "ethertype 'IPv6' is not supported"},
      {"{direction: ingress, protocol: tcp, port_range_min: 30, port_range_max: 20}",
       "For TCP/UDP protocols, port_range_min must be <= port_range_max"},
      {"{direction: ingress, protocol: tcp, port_range_min: 0, port_range_max: 20}",
       "Invalid value for port 0."},
      {"{direction: ingress, protocol: udp, port_range_min: 70000}",
       "'port_range_min': '70000' must be an integer in 0..65535"},
      {"{direction: ingress, port_range_min: 22, port_range_max: 22}",
       "Must also specify protocol if port range is given."},
      {"{direction: ingress, protocol: icmp, port_range_min: 300}",
       "Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255."},
      {"{direction: ingress, protocol: icmp, port_range_max: 3}",
       "ICMP code (port-range-max) 3 is provided but ICMP type (port-range-min) is missing."},
      {"{direction: ingress, protocol: gre, port_range_min: 1, port_range_max: 2}",
       "Invalid protocol gre for port range"},
      {"{direction: ingress, remote_ip_prefix: 10.0.0.0/33}",
       "'10.0.0.0/33' is not a valid IPv4 address or CIDR"},
      {"{direction: ingress, remote_ip_prefix: 10.0.0.0/8, remote_group: g}",
       "Only remote_ip_prefix or remote_group_id may be provided."},
      {"{direction: ingress, remote_group: nope}", "remote_group: unknown security group 'nope'"},
      {"{direction: ingress, colour: red}", "unknown key 'colour'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rule);
    expectRejected(kBase + oneRule(c.rule), "security group 'g' rule #1", c.message, 9);
  }
}

TEST(SecurityGroupTopology, DuplicateRulesAndGroups) {
  expectRejected(kBase +
                     "security_groups:\n  - name: g\n    rules:\n"
                     "      - {direction: egress, protocol: tcp}\n"
                     "      - {direction: egress, protocol: 6}\n",
                 "security group 'g' rule #2", "Security group rule already exists", 10);
  expectRejected(kBase + "security_groups:\n  - {name: g}\n  - {name: g}\n", "security group 'g'",
                 "defined twice", 8);
}

}  // namespace
}  // namespace dvr
