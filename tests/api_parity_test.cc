// Neutron parity, from Tempest's failures on dvr (issue 13): each behaviour here is what
// the real neutron-server answers. Every refusal is checked to change nothing a client
// can list.
#include <gtest/gtest.h>

#include <set>

#include "api_fixture.h"

namespace dvr {
namespace {

using nlohmann::json;
using testing::Api;

class ApiParity : public Api {
 protected:
  // The request is refused with `status` and Neutron's `type`, and nothing changes.
  json refused(const char* method, const std::string& path, const std::string& body, int status,
               const std::string& type) {
    std::string before = everything();
    json err = call(method, path, body, status);
    EXPECT_EQ(err["NeutronError"]["type"], type) << method << " " << path << ": " << err;
    EXPECT_EQ(everything(), before) << method << " " << path << " changed the database";
    return err;
  }
  std::string message(const json& err) { return err["NeutronError"]["message"]; }
  std::string newNetwork(const std::string& name) {
    return id(call("POST", "/v2.0/networks", json{{"network", {{"name", name}}}}.dump(), 201),
              "network");
  }
  std::string newSubnet(const std::string& net, const std::string& cidr) {
    return id(
        call("POST", "/v2.0/subnets",
             json{{"subnet", {{"network_id", net}, {"cidr", cidr}, {"ip_version", 4}}}}.dump(),
             201),
        "subnet");
  }
};

TEST_P(ApiParity, APortOnANetworkWithoutSubnetHasNoAddressAndKeepsNone) {
  Cloud c = basicCloud();
  std::string bare = newNetwork("bare");
  json port = call("POST", "/v2.0/ports", json{{"port", {{"network_id", bare}}}}.dump(), 201);
  EXPECT_EQ(port["port"]["fixed_ips"], json::array());
  std::string pid = id(port, "port");
  newSubnet(bare, "10.40.0.0/24");
  EXPECT_EQ(call("GET", "/v2.0/ports/" + pid, "", 200)["port"]["fixed_ips"], json::array())
      << "a port made without an address stays without one, as in Neutron";
  // fixed_ips: [] asks for no address on a network that has a subnet.
  json none =
      call("POST", "/v2.0/ports",
           json{{"port", {{"network_id", c.net}, {"fixed_ips", json::array()}}}}.dump(), 201);
  EXPECT_EQ(none["port"]["fixed_ips"], json::array());
  // Bound to a host, it is plugged and reached at L2 only: the agent's slice carries it.
  call("PUT", "/v2.0/ports/" + id(none, "port"),
       json{{"port", {{"binding:host_id", "compute01"}}}}.dump(), 200);
  EXPECT_EQ(call("GET", "/v2.0/ports/" + id(none, "port"), "", 200)["port"]["binding:vif_type"],
            "ovs");
  // What needs an address is refused.
  std::string fip = id(call("POST", "/v2.0/floatingips",
                            json{{"floatingip", {{"floating_network_id", c.ext}}}}.dump(), 201),
                       "floatingip");
  json err =
      refused("PUT", "/v2.0/floatingips/" + fip,
              json{{"floatingip", {{"port_id", id(none, "port")}}}}.dump(), 400, "BadRequest");
  EXPECT_NE(message(err).find("no global IPv4 addresses"), std::string::npos) << err;
  std::string r2 = id(call("POST", "/v2.0/routers", R"({"router":{"name":"r2"}})", 201), "router");
  err = refused("PUT", "/v2.0/routers/" + r2 + "/add_router_interface",
                json{{"port_id", pid}}.dump(), 400, "BadRequest");
  EXPECT_EQ(message(err), "Bad router request: Router port must have at least one fixed IP.");
  // Two fixed IPs: dvr's data path gives a port one address; refused, saying so.
  err = refused("POST", "/v2.0/ports",
                json{{"port",
                      {{"network_id", c.net},
                       {"fixed_ips", {{{"subnet_id", c.sub}}, {{"subnet_id", c.sub}}}}}}}
                    .dump(),
                400, "HTTPBadRequest");
  EXPECT_NE(message(err).find("at most one fixed IP (2 given)"), std::string::npos) << err;
  for (const auto& p : {pid, id(none, "port")})
    call("DELETE", "/v2.0/ports/" + p, "", 204);
  call("DELETE", "/v2.0/floatingips/" + fip, "", 204);
  call("DELETE", "/v2.0/routers/" + r2, "", 204);
  call("DELETE", "/v2.0/networks/" + bare, "", 204);
}

TEST_P(ApiParity, BulkCreateIsAllOrNothing) {
  Cloud c = basicCloud();
  json nets =
      call("POST", "/v2.0/networks", R"({"networks":[{"name":"bulk-a"},{"name":"bulk-b"}]})", 201);
  ASSERT_EQ(nets["networks"].size(), 2u) << nets;
  EXPECT_EQ(nets["networks"][0]["name"], "bulk-a");
  EXPECT_EQ(nets["networks"][1]["name"], "bulk-b");
  std::string a = nets["networks"][0]["id"], b = nets["networks"][1]["id"];
  json subs = call("POST", "/v2.0/subnets",
                   json{{"subnets",
                         {{{"network_id", a}, {"cidr", "10.41.0.0/24"}, {"ip_version", 4}},
                          {{"network_id", b}, {"cidr", "10.42.0.0/24"}, {"ip_version", 4}}}}}
                       .dump(),
                   201);
  ASSERT_EQ(subs["subnets"].size(), 2u) << subs;
  EXPECT_EQ(subs["subnets"][1]["cidr"], "10.42.0.0/24");
  json ports = call("POST", "/v2.0/ports",
                    json{{"ports", {{{"network_id", a}}, {{"network_id", b}}}}}.dump(), 201);
  ASSERT_EQ(ports["ports"].size(), 2u) << ports;
  EXPECT_EQ(ports["ports"][1]["fixed_ips"][0]["ip_address"], "10.42.0.2");
  // One bad item refuses them all: its error, and nothing stored.
  json err = refused(
      "POST", "/v2.0/ports",
      json{{"ports",
            {{{"network_id", a}},
             {{"network_id", b},
              {"fixed_ips", {{{"ip_address", ports["ports"][1]["fixed_ips"][0]["ip_address"]}}}}}}}}
          .dump(),
      409, "IpAddressAlreadyAllocated");
  err = refused("POST", "/v2.0/networks", R"({"networks":[{"name":"ok"},{"colour":"red"}]})", 400,
                "HTTPBadRequest");
  EXPECT_NE(message(err).find("item 2 of 2; none was created"), std::string::npos) << err;
  refused("POST", "/v2.0/networks", R"({"networks":[]})", 400, "HTTPBadRequest");
  refused("POST", "/v2.0/networks", R"({"networks":{"name":"x"}})", 400, "HTTPBadRequest");
  refused("POST", "/v2.0/routers", R"({"routers":[{"name":"x"}]})", 400, "HTTPBadRequest");
  for (const auto& p : ports["ports"])
    call("DELETE", "/v2.0/ports/" + p["id"].get<std::string>(), "", 204);
  for (const auto& n : {a, b})
    call("DELETE", "/v2.0/networks/" + n, "", 204);
  (void)c;
}

TEST_P(ApiParity, SubnetHostRoutesAreKeptAndGatewayIpIsUpdatable) {
  Cloud c = basicCloud();
  std::string net = newNetwork("routes");
  json routes = json::array({{{"destination", "10.20.0.0/32"}, {"nexthop", "10.43.0.9"}}});
  json sub = call("POST", "/v2.0/subnets",
                  json{{"subnet",
                        {{"network_id", net},
                         {"cidr", "10.43.0.0/24"},
                         {"ip_version", 4},
                         {"host_routes", routes},
                         {"allocation_pools", {{{"start", "10.43.0.10"}, {"end", "10.43.0.99"}}}}}}}
                      .dump(),
                  201);
  std::string sid = id(sub, "subnet");
  EXPECT_EQ(sub["subnet"]["host_routes"], routes);
  EXPECT_EQ(call("GET", "/v2.0/subnets/" + sid, "", 200)["subnet"]["host_routes"], routes);
  json more = json::array({{{"destination", "10.21.0.0/16"}, {"nexthop", "10.43.0.8"}}});
  json up =
      call("PUT", "/v2.0/subnets/" + sid,
           json{{"subnet", {{"host_routes", more}, {"gateway_ip", "10.43.0.2"}}}}.dump(), 200);
  EXPECT_EQ(up["subnet"]["host_routes"], more);
  EXPECT_EQ(up["subnet"]["gateway_ip"], "10.43.0.2");
  EXPECT_EQ(call("GET", "/v2.0/subnets/" + sid, "", 200)["subnet"]["gateway_ip"], "10.43.0.2");
  // Inside the allocation pools, outside the subnet, or the subnet's own address: refused.
  json err = refused("PUT", "/v2.0/subnets/" + sid, R"({"subnet":{"gateway_ip":"10.43.0.50"}})",
                     409, "GatewayConflictWithAllocationPools");
  refused("PUT", "/v2.0/subnets/" + sid, R"({"subnet":{"gateway_ip":"10.44.0.1"}})", 400,
          "InvalidInput");
  refused("PUT", "/v2.0/subnets/" + sid, R"({"subnet":{"gateway_ip":"10.43.0.0"}})", 400,
          "InvalidInput");
  // A second subnet overlapping the first on its network: Neutron's words, which clients
  // read to try the next cidr.
  err = refused(
      "POST", "/v2.0/subnets",
      json{{"subnet", {{"network_id", net}, {"cidr", "10.43.0.128/25"}, {"ip_version", 4}}}}.dump(),
      400, "InvalidInput");
  EXPECT_EQ(message(err),
            "Invalid input for operation: Requested subnet with cidr: 10.43.0.128/25 "
            "for network: " +
                net + " overlaps with another subnet.");
  // A router's interface holds the gateway: Neutron's GatewayIpInUse.
  err = refused("PUT", "/v2.0/subnets/" + c.sub, R"({"subnet":{"gateway_ip":"10.16.0.254"}})", 409,
                "GatewayIpInUse");
  EXPECT_NE(message(err).find("Current gateway ip 10.16.0.1 already in use by port"),
            std::string::npos)
      << err;
  // null: no gateway.
  EXPECT_TRUE(call("PUT", "/v2.0/subnets/" + sid, R"({"subnet":{"gateway_ip":null}})",
                   200)["subnet"]["gateway_ip"]
                  .is_null());
  call("DELETE", "/v2.0/networks/" + net, "", 204);
}

TEST_P(ApiParity, ShowTakesFieldsAndMissingResourcesAreNamed) {
  Cloud c = basicCloud();
  json shown = call("GET", "/v2.0/networks/" + c.net + "?fields=id&fields=name", "", 200);
  EXPECT_EQ(shown, json({{"network", {{"id", c.net}, {"name", "net1"}}}}));
  shown = call("GET", "/v2.0/subnets/" + c.sub + "?fields=network_id", "", 200);
  EXPECT_EQ(shown, json({{"subnet", {{"network_id", c.net}}}}));
  std::string missing = "8d6c1f3e-0000-4000-8000-000000000001";
  for (auto [collection, type, noun] :
       std::initializer_list<std::tuple<const char*, const char*, const char*>>{
           {"networks", "NetworkNotFound", "Network"},
           {"subnets", "SubnetNotFound", "Subnet"},
           {"ports", "PortNotFound", "Port"},
           {"routers", "RouterNotFound", "Router"},
           {"floatingips", "FloatingIPNotFound", "Floating IP"}}) {
    json err = refused("GET", std::string("/v2.0/") + collection + "/" + missing, "", 404, type);
    EXPECT_EQ(message(err), std::string(noun) + " " + missing + " could not be found.");
  }
  json root = call("GET", "/v2.0/", "", 200);
  std::set<std::string> collections;
  for (const auto& r : root["resources"])
    collections.insert(r["collection"]);
  EXPECT_EQ(collections, (std::set<std::string>{"networks", "subnets", "ports"})) << root;
  json ext = call("GET", "/v2.0/extensions", "", 200);
  std::set<std::string> aliases;
  for (const auto& e : ext["extensions"])
    aliases.insert(e["alias"]);
  EXPECT_EQ(aliases, (std::set<std::string>{"agent",
                                            "allowed-address-pairs",
                                            "binding",
                                            "dvr",
                                            "ext-gw-mode",
                                            "external-net",
                                            "fip-port-details",
                                            "port-security",
                                            "security-group",
                                            "filter-validation",
                                            "ip-substring-filtering",
                                            "net-mtu",
                                            "net-mtu-writable",
                                            "project-id",
                                            "provider",
                                            "router",
                                            "service-type",
                                            "standard-attr-description",
                                            "standard-attr-revisions",
                                            "standard-attr-timestamp",
                                            "tag"}));
  EXPECT_EQ(call("GET", "/v2.0/service-providers", "", 200),
            json({{"service_providers", json::array()}}));
}

TEST_P(ApiParity, PortsOnExternalNetworksHoldAddressesUnbound) {
  Cloud c = basicCloud();
  json port = call("POST", "/v2.0/ports", json{{"port", {{"network_id", c.ext}}}}.dump(), 201);
  std::string ip = port["port"]["fixed_ips"][0]["ip_address"];
  EXPECT_EQ(port["port"]["fixed_ips"][0]["subnet_id"], c.ext_sub);
  // The address is taken: a router gateway asking for it is refused.
  std::string r2 = id(call("POST", "/v2.0/routers", R"({"router":{"name":"r2"}})", 201), "router");
  refused("PUT", "/v2.0/routers/" + r2,
          json{{"router",
                {{"external_gateway_info",
                  {{"network_id", c.ext}, {"external_fixed_ips", {{{"ip_address", ip}}}}}}}}}
              .dump(),
          409, "IpAddressAlreadyAllocated");
  // dvr plugs VMs into internal networks only: binding it is refused.
  json err = refused("PUT", "/v2.0/ports/" + id(port, "port"),
                     json{{"port", {{"binding:host_id", "compute01"}}}}.dump(), 400, "BadRequest");
  EXPECT_NE(message(err).find("attach to internal networks"), std::string::npos) << err;
  call("DELETE", "/v2.0/ports/" + id(port, "port"), "", 204);
  // Freed, the address can be the gateway's.
  json gw = call("PUT", "/v2.0/routers/" + r2,
                 json{{"router",
                       {{"external_gateway_info",
                         {{"network_id", c.ext}, {"external_fixed_ips", {{{"ip_address", ip}}}}}}}}}
                     .dump(),
                 200);
  EXPECT_EQ(gw["router"]["external_gateway_info"]["external_fixed_ips"][0]["ip_address"], ip);
  call("DELETE", "/v2.0/routers/" + r2, "", 204);
}

TEST_P(ApiParity, ARouterInterfaceByAPortKeepsItsAddressAndCanBeUpdated) {
  Cloud c = basicCloud();
  std::string net = newNetwork("side"), sub = newSubnet(net, "10.44.0.0/24");
  json port = call("POST", "/v2.0/ports", json{{"port", {{"network_id", net}}}}.dump(), 201);
  std::string pid = id(port, "port");
  ASSERT_EQ(port["port"]["fixed_ips"][0]["ip_address"], "10.44.0.2");
  json info = call("PUT", "/v2.0/routers/" + c.router + "/add_router_interface",
                   json{{"port_id", pid}}.dump(), 200);
  EXPECT_EQ(info["port_id"], pid);
  EXPECT_EQ(info["subnet_id"], sub);
  json shown = call("GET", "/v2.0/ports/" + pid, "", 200)["port"];
  EXPECT_EQ(shown["device_id"], c.router);
  EXPECT_EQ(shown["device_owner"], "network:router_interface_distributed");
  EXPECT_EQ(shown["fixed_ips"][0]["ip_address"], "10.44.0.2") << "the router answers there";
  // The address stays the router's: a new port cannot take it.
  refused(
      "POST", "/v2.0/ports",
      json{{"port", {{"network_id", net}, {"fixed_ips", {{{"ip_address", "10.44.0.2"}}}}}}}.dump(),
      409, "IpAddressAlreadyAllocated");
  // Updating the interface's port: its name, its address on its subnet.
  json up = call(
      "PUT", "/v2.0/ports/" + pid,
      json{{"port", {{"name", "qr-side"}, {"fixed_ips", {{{"subnet_id", sub}}}}}}}.dump(), 200);
  EXPECT_EQ(up["port"]["name"], "qr-side");
  EXPECT_EQ(up["port"]["fixed_ips"][0]["subnet_id"], sub);
  EXPECT_EQ(up["port"]["fixed_ips"][0]["ip_address"], "10.44.0.2");
  up = call(
      "PUT", "/v2.0/ports/" + pid,
      json{{"port", {{"fixed_ips", {{{"subnet_id", sub}, {"ip_address", "10.44.0.1"}}}}}}}.dump(),
      200);
  EXPECT_EQ(up["port"]["fixed_ips"][0]["ip_address"], "10.44.0.1");
  refused("PUT", "/v2.0/ports/" + pid,
          json{{"port", {{"fixed_ips", {{{"subnet_id", c.sub}}}}}}}.dump(), 400, "BadRequest");
  refused("PUT", "/v2.0/ports/" + pid, json{{"port", {{"binding:host_id", "compute01"}}}}.dump(),
          400, "HTTPBadRequest");
  // The network of a distributed interface is in use.
  json err = refused("DELETE", "/v2.0/networks/" + net, "", 409, "NetworkInUse");
  EXPECT_NE(message(err).find(pid), std::string::npos) << err;
  call("PUT", "/v2.0/routers/" + c.router + "/remove_router_interface",
       json{{"port_id", pid}}.dump(), 200);
  call("DELETE", "/v2.0/networks/" + net, "", 204);
}

TEST_P(ApiParity, NetworksTakeRouterExternalAndMtuUpdates) {
  Cloud c = basicCloud();
  std::string net = newNetwork("flip");
  json up = call("PUT", "/v2.0/networks/" + net, R"({"network":{"router:external":true}})", 200);
  EXPECT_EQ(up["network"]["router:external"], true);
  EXPECT_EQ(up["network"]["provider:network_type"], "flat");
  up = call("PUT", "/v2.0/networks/" + net, R"({"network":{"router:external":false}})", 200);
  EXPECT_EQ(up["network"]["router:external"], false);
  EXPECT_EQ(up["network"]["mtu"], 1450);
  up = call("PUT", "/v2.0/networks/" + net, R"({"network":{"mtu":1400}})", 200);
  EXPECT_EQ(up["network"]["mtu"], 1400);
  json err =
      refused("PUT", "/v2.0/networks/" + net, R"({"network":{"mtu":1451}})", 400, "InvalidInput");
  EXPECT_NE(message(err).find("maximum is 1450"), std::string::npos) << err;
  // An external network a floating IP uses stays external.
  std::string fip = id(call("POST", "/v2.0/floatingips",
                            json{{"floatingip", {{"floating_network_id", c.ext}}}}.dump(), 201),
                       "floatingip");
  call("PUT", "/v2.0/routers/" + c.router, R"({"router":{"external_gateway_info":null}})", 200);
  refused("PUT", "/v2.0/networks/" + c.ext, R"({"network":{"router:external":false}})", 409,
          "ExternalNetworkInUse");
  call("DELETE", "/v2.0/floatingips/" + fip, "", 204);
  call("DELETE", "/v2.0/networks/" + net, "", 204);
}

TEST_P(ApiParity, PortListFiltersByFixedIp) {
  Cloud c = basicCloud();
  std::string net = newNetwork("other"), sub = newSubnet(net, "10.45.0.0/24");
  auto make = [&](const std::string& n, const std::string& ip) {
    return id(
        call("POST", "/v2.0/ports",
             json{{"port", {{"network_id", n}, {"fixed_ips", {{{"ip_address", ip}}}}}}}.dump(),
             201),
        "port");
  };
  std::string a = make(c.net, "10.16.0.50"), b = make(net, "10.45.0.50"),
              d = make(net, "10.45.0.51");
  auto ids = [&](const std::string& query) {
    std::set<std::string> out;
    json listed = call("GET", "/v2.0/ports?" + query, "", 200);
    for (const auto& p : listed["ports"])
      out.insert(p["id"]);
    return out;
  };
  EXPECT_EQ(ids("fixed_ips=ip_address=10.45.0.50"), std::set<std::string>{b});
  EXPECT_EQ(ids("fixed_ips=subnet_id=" + sub), (std::set<std::string>{b, d}));
  EXPECT_EQ(ids("fixed_ips=subnet_id=" + sub + "&fixed_ips=ip_address=10.45.0.51"),
            std::set<std::string>{d});
  EXPECT_EQ(ids("fixed_ips=subnet_id=" + c.sub + "&fixed_ips=ip_address=10.45.0.51"),
            std::set<std::string>{})
      << "both on the same fixed IP, as Neutron matches them";
  EXPECT_EQ(ids("fixed_ips=ip_address=10.16.0.50&fixed_ips=ip_address=10.45.0.51"),
            (std::set<std::string>{a, d}));
  EXPECT_EQ(ids("fixed_ips=ip_address_substr=10.45.0.5"), (std::set<std::string>{b, d}));
  EXPECT_EQ(ids("fixed_ips=ip_address_substr=0.45.0.51"), std::set<std::string>{d});
  json err = call("GET", "/v2.0/ports?fixed_ips=mac=x", "", 400);
  EXPECT_EQ(err["NeutronError"]["type"], "HTTPBadRequest");
  // The real client sends what Neutron's does.
  auto cli = server.openstack("port list --fixed-ip ip-address=10.45.0.51 -f value -c ID");
  EXPECT_EQ(cli.rc, 0) << cli.out;
  EXPECT_EQ(cli.out, d + "\n");
  cli = server.openstack("port list --fixed-ip subnet=" + sub + " -f value -c ID");
  EXPECT_EQ(cli.rc, 0) << cli.out;
  EXPECT_NE(cli.out.find(b), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find(d), std::string::npos) << cli.out;
  for (const auto& p : {a, b, d})
    call("DELETE", "/v2.0/ports/" + p, "", 204);
  call("DELETE", "/v2.0/networks/" + net, "", 204);
}

TEST_P(ApiParity, APortForAHostWithoutAgentIsKeptAsBindingFailed) {
  Cloud c = basicCloud();
  json port =
      call("POST", "/v2.0/ports",
           json{{"port", {{"network_id", c.net}, {"binding:host_id", "compute99"}}}}.dump(), 201);
  EXPECT_EQ(port["port"]["binding:host_id"], "compute99");
  EXPECT_EQ(port["port"]["binding:vif_type"], "binding_failed");
  EXPECT_EQ(port["port"]["status"], "DOWN");
  json slice = call("GET", "/dvr/v1/topology?since=0&host=compute01&wait=0", "", 200);
  EXPECT_EQ(slice.dump().find(id(port, "port")), std::string::npos) << "planned nowhere";
  json up = call("PUT", "/v2.0/ports/" + id(port, "port"),
                 json{{"port", {{"binding:host_id", "compute01"}}}}.dump(), 200);
  EXPECT_EQ(up["port"]["binding:vif_type"], "ovs");
  EXPECT_EQ(up["port"]["binding:host_id"], "compute01");
  call("DELETE", "/v2.0/ports/" + id(port, "port"), "", 204);
}

TEST_P(ApiParity, TagsAreSetListedCheckedAndRemoved) {
  Cloud c = basicCloud();
  std::string base = "/v2.0/networks/" + c.net + "/tags";
  EXPECT_EQ(call("PUT", base + "/blue", "", 201), json()) << "201 with no body, as Neutron";
  EXPECT_EQ(call("GET", base, "", 200), json({{"tags", {"blue"}}}));
  call("GET", base + "/blue", "", 204);
  refused("GET", base + "/red", "", 404, "TagNotFound");
  json all = call("PUT", base, R"({"tags":["a","b","a"]})", 200);
  EXPECT_EQ(all, json({{"tags", {"a", "b"}}}));
  EXPECT_EQ(call("GET", "/v2.0/networks/" + c.net, "", 200)["network"]["tags"], json({"a", "b"}));
  std::set<std::string> listed;
  json tagged = call("GET", "/v2.0/networks?tags=a", "", 200);
  for (const auto& n : tagged["networks"])
    listed.insert(n["id"]);
  EXPECT_EQ(listed, std::set<std::string>{c.net});
  call("DELETE", base + "/a", "", 204);
  refused("DELETE", base + "/a", "", 404, "TagNotFound");
  refused("PUT", base + "/" + std::string(61, 'x'), "", 400, "InvalidInput");
  refused("PUT", base, R"({"tags":"a"})", 400, "HTTPBadRequest");
  refused("PUT", "/v2.0/networks/8d6c1f3e-0000-4000-8000-000000000001/tags/x", "", 404,
          "NetworkNotFound");
  json listed_ports =
      call("GET", "/v2.0/ports?device_owner=network:router_interface_distributed", "", 200);
  std::string rport = listed_ports["ports"][0]["id"];
  call("PUT", "/v2.0/ports/" + rport + "/tags/qr", "", 201);
  EXPECT_EQ(call("GET", "/v2.0/ports/" + rport + "/tags", "", 200), json({{"tags", {"qr"}}}));
  call("PUT", "/v2.0/routers/" + c.router + "/tags/edge", "", 201);
  call("DELETE", base, "", 204);
  EXPECT_EQ(call("GET", base, "", 200), json({{"tags", json::array()}}));
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiParity, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace dvr
