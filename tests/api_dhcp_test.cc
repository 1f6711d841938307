// Neutron's DHCP port through the API: with a DHCP agent (`dvr agent --dhcp`) registered,
// a network with a DHCP-enabled subnet gets a port owned by network:dhcp, bound to that
// host, with an address from the subnet's pool, listed as Neutron lists it; it goes with
// the subnet, the network, or enable_dhcp turned off. Without a DHCP agent there is no
// such port, as before. The agent's host slice carries what its dnsmasq serves. A bad
// registration is a 400 that changes nothing. SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include "api_fixture.h"

namespace dvr {
namespace {

using nlohmann::json;

class DhcpApi : public testing::Api {
 protected:
  void registerDhcpAgent(const std::string& host, const std::string& tunnel) {
    call("PUT", "/dvr/v1/agents/" + host,
         json{{"agent_mode", "dvr"}, {"tunnel_ip", tunnel}, {"dhcp", true}}.dump(), 200);
  }
  std::string network() {
    return id(call("POST", "/v2.0/networks", R"({"network":{"name":"n"}})", 201), "network");
  }
  std::string subnet(const std::string& net, json extra = json::object()) {
    json body{{"network_id", net}, {"cidr", "10.9.0.0/24"}, {"ip_version", 4}};
    body.update(extra);
    return id(call("POST", "/v2.0/subnets", json{{"subnet", body}}.dump(), 201), "subnet");
  }
  json dhcpPorts() {
    json out = json::array();
    json all =
        call("GET", "/v2.0/ports", "", 200);  // a range-for over a temporary's member dangles
    for (const auto& p : all["ports"]) {
      if (p["device_owner"] == "network:dhcp")
        out.push_back(p);
    }
    return out;
  }
};

TEST_P(DhcpApi, WithoutADhcpAgentThereIsNoDhcpPort) {
  registerAgent("compute01", "dvr", "172.16.0.11");
  subnet(network());
  EXPECT_EQ(dhcpPorts().size(), 0u);
  json all = call("GET", "/v2.0/agents", "", 200);
  for (const auto& a : all["agents"])
    EXPECT_EQ(a["agent_type"], "L3 agent");
}

TEST_P(DhcpApi, ADhcpAgentGetsTheNetworksDhcpPortFromThePool) {
  registerAgent("compute01", "dvr", "172.16.0.11");
  registerDhcpAgent("net01", "172.16.0.20");
  json agents = json::array();
  json all = call("GET", "/v2.0/agents", "", 200);
  for (const auto& a : all["agents"]) {
    if (a["agent_type"] == "DHCP agent")
      agents.push_back(a);
  }
  ASSERT_EQ(agents.size(), 1u) << agents;
  EXPECT_EQ(agents[0]["host"], "net01");
  EXPECT_EQ(agents[0]["binary"], "neutron-dhcp-agent");
  EXPECT_EQ(agents[0]["alive"], true);

  std::string net = network();
  std::string sub = subnet(net, {{"dns_nameservers", {"10.9.0.53"}}});
  json ports = dhcpPorts();
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0]["network_id"], net);
  EXPECT_EQ(ports[0]["binding:host_id"], "net01");
  EXPECT_EQ(ports[0]["fixed_ips"], json::array({{{"subnet_id", sub}, {"ip_address", "10.9.0.2"}}}));
  EXPECT_EQ(ports[0]["status"], "ACTIVE");
  std::string dhcp_id = ports[0]["id"];
  EXPECT_EQ(call("GET", "/v2.0/ports/" + dhcp_id, "", 200)["port"]["device_owner"], "network:dhcp");
  // A VM port takes the next address; the DHCP host's slice carries it and its options.
  json vm = call(
      "POST", "/v2.0/ports",
      json{{"port",
            {{"network_id", net},
             {"binding:host_id", "compute01"},
             {"extra_dhcp_opts", {{{"opt_name", "domain-name"}, {"opt_value", "lab.example"}}}}}}}
          .dump(),
      201)["port"];
  EXPECT_EQ(vm["fixed_ips"][0]["ip_address"], "10.9.0.3");
  auto slice = http.Get("/dvr/v1/topology?since=0&host=net01");
  ASSERT_TRUE(slice);
  json topo = json::parse(slice->body)["topology"];
  ASSERT_EQ(topo["dhcp_ports"].size(), 1u) << topo;
  EXPECT_EQ(topo["dhcp_ports"][0]["host"], "net01");
  EXPECT_EQ(topo["dhcp_ports"][0]["port"]["ip"], "10.9.0.2");
  EXPECT_EQ(topo["subnets"][0]["dns_nameservers"], json::array({"10.9.0.53"}));
  bool carried = false;
  for (const auto& v : topo["vms"])
    carried = carried ||
              (v["port_id"] == vm["id"] && v["extra_dhcp_opts"][0]["opt_value"] == "lab.example");
  EXPECT_TRUE(carried) << topo;
  // The port stays where it is while the network changes around it.
  call("PUT", "/v2.0/ports/" + std::string(vm["id"]),
       json{{"port", {{"extra_dhcp_opts", {{{"opt_name", "domain-name"}, {"opt_value", "x"}}}}}}}
           .dump(),
       200);
  ASSERT_EQ(dhcpPorts().size(), 1u);
  EXPECT_EQ(dhcpPorts()[0]["id"], dhcp_id);
  EXPECT_EQ(dhcpPorts()[0]["fixed_ips"][0]["ip_address"], "10.9.0.2");
}

TEST_P(DhcpApi, TheDhcpPortGoesWithEnableDhcpTheSubnetAndTheNetwork) {
  registerDhcpAgent("net01", "172.16.0.20");
  std::string net = network();
  std::string sub = subnet(net, {{"enable_dhcp", false}});
  EXPECT_EQ(dhcpPorts().size(), 0u);
  call("PUT", "/v2.0/subnets/" + sub, R"({"subnet":{"enable_dhcp":true}})", 200);
  EXPECT_EQ(dhcpPorts().size(), 1u);
  call("PUT", "/v2.0/subnets/" + sub, R"({"subnet":{"enable_dhcp":false}})", 200);
  EXPECT_EQ(dhcpPorts().size(), 0u);
  call("PUT", "/v2.0/subnets/" + sub, R"({"subnet":{"enable_dhcp":true}})", 200);
  ASSERT_EQ(dhcpPorts().size(), 1u);
  call("DELETE", "/v2.0/subnets/" + sub, "", 204);  // Neutron deletes the DHCP port with it
  EXPECT_EQ(dhcpPorts().size(), 0u);
  subnet(net);
  EXPECT_EQ(dhcpPorts().size(), 1u);
  call("DELETE", "/v2.0/networks/" + net, "", 204);
  EXPECT_EQ(dhcpPorts().size(), 0u);
  EXPECT_EQ(call("GET", "/v2.0/ports", "", 200)["ports"].size(), 0u);
}

TEST_P(DhcpApi, ABadDhcpFlagIsRefusedAndChangesNothing) {
  registerDhcpAgent("net01", "172.16.0.20");
  subnet(network());
  std::string before = everything();
  json e =
      call("PUT", "/dvr/v1/agents/net01",
           json{{"agent_mode", "dvr"}, {"tunnel_ip", "172.16.0.20"}, {"dhcp", "yes"}}.dump(), 400);
  EXPECT_NE(e.dump().find("dhcp"), std::string::npos) << e;
  EXPECT_EQ(everything(), before);
}

INSTANTIATE_TEST_SUITE_P(Backends, DhcpApi, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace dvr
