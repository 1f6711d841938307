// Neutron parity, from Tempest's failures on dvr (issue 13): each behaviour here is what
// the real neutron-server answers. Every refusal is checked to change nothing a client
// can list.
#include <gtest/gtest.h>

#include <set>

#include "api_fixture.h"
#include "plan/render.h"

namespace dvr {
namespace {

using nlohmann::json;
using testing::Api;

class ApiParity : public Api {
 protected:
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
  for (const auto& p : {pid, id(none, "port")})
    call("DELETE", "/v2.0/ports/" + p, "", 204);
  call("DELETE", "/v2.0/floatingips/" + fip, "", 204);
  call("DELETE", "/v2.0/routers/" + r2, "", 204);
  call("DELETE", "/v2.0/networks/" + bare, "", 204);
}

// Neutron's fixed_ips may hold several addresses, on one subnet or several of the port's
// network. dvr allocates, shows and releases them all; routers reach each of them and a
// floating IP NATs to the one it names.
TEST_P(ApiParity, APortTakesSeveralFixedIpsAndAFloatingIpNatsToTheOneItNames) {
  Cloud c = basicCloud();
  std::string sub2 = newSubnet(c.net, "10.17.0.0/24");
  json made = call("POST", "/v2.0/ports",
                   json{{"port",
                         {{"network_id", c.net},
                          {"binding:host_id", "compute01"},
                          {"fixed_ips",
                           {{{"subnet_id", c.sub}, {"ip_address", "10.16.0.50"}},
                            {{"subnet_id", sub2}},
                            {{"ip_address", "10.16.0.77"}}}}}}}
                       .dump(),
                   201)["port"];
  std::string pid = made["id"];
  json want = json::array({{{"subnet_id", c.sub}, {"ip_address", "10.16.0.50"}},
                           {{"subnet_id", sub2}, {"ip_address", "10.17.0.2"}},
                           {{"subnet_id", c.sub}, {"ip_address", "10.16.0.77"}}});
  EXPECT_EQ(made["fixed_ips"], want);
  EXPECT_EQ(call("GET", "/v2.0/ports/" + pid, "", 200)["port"]["fixed_ips"], want);
  // Each is held: another port cannot take one, and lists filter on any of them.
  refused("POST", "/v2.0/ports",
          json{{"port", {{"network_id", c.net}, {"fixed_ips", {{{"ip_address", "10.17.0.2"}}}}}}}
              .dump(),
          409, "IpAddressAlreadyAllocated");
  json listed = call("GET", "/v2.0/ports?fixed_ips=ip_address=10.16.0.77", "", 200)["ports"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], pid);
  // A subnet holding one of them cannot be deleted.
  refused("DELETE", "/v2.0/subnets/" + sub2, "", 409, "SubnetInUse");
  // A floating IP names one of the port's addresses: another one is refused; the second is
  // NATed to as asked, in the plan of the port's host, and the first is NATed to nothing.
  refused(
      "POST", "/v2.0/floatingips",
      json{{"floatingip",
            {{"floating_network_id", c.ext}, {"port_id", pid}, {"fixed_ip_address", "10.16.0.9"}}}}
          .dump(),
      400, "BadRequest");
  json fip = call(
      "POST", "/v2.0/floatingips",
      json{{"floatingip",
            {{"floating_network_id", c.ext}, {"port_id", pid}, {"fixed_ip_address", "10.16.0.77"}}}}
          .dump(),
      201)["floatingip"];
  EXPECT_EQ(fip["fixed_ip_address"], "10.16.0.77");
  std::string fip_id = fip["id"];
  EXPECT_EQ(call("GET", "/v2.0/floatingips/" + fip_id, "", 200)["floatingip"]["fixed_ip_address"],
            "10.16.0.77");
  plan::HostPlan hp = planOf("compute01");
  std::string floating = fip["floating_ip_address"];
  ASSERT_EQ(hp.floating_nat.size(), 1u) << plan::renderText(hp);
  EXPECT_EQ(hp.floating_nat[0].floating.str(), floating);
  EXPECT_EQ(hp.floating_nat[0].fixed.str(), "10.16.0.77");
  // Its router reaches the further address without ARP, as it does the first.
  auto neighbour = [&](const std::string& ip) {
    return std::any_of(hp.neighbours.begin(), hp.neighbours.end(), [&](const plan::Neighbour& n) {
      return n.ip.str() == ip && n.mac.str() == made["mac_address"];
    });
  };
  EXPECT_TRUE(neighbour("10.16.0.50"));
  EXPECT_TRUE(neighbour("10.16.0.77"));
  // Moved to the first address by naming it.
  json moved =
      call("PUT", "/v2.0/floatingips/" + fip_id,
           json{{"floatingip", {{"port_id", pid}, {"fixed_ip_address", "10.16.0.50"}}}}.dump(),
           200)["floatingip"];
  EXPECT_EQ(moved["fixed_ip_address"], "10.16.0.50");
  hp = planOf("compute01");
  ASSERT_EQ(hp.floating_nat.size(), 1u);
  EXPECT_EQ(hp.floating_nat[0].fixed.str(), "10.16.0.50");
  call("DELETE", "/v2.0/floatingips/" + fip_id, "", 204);

  // Updated: a subnet alone keeps the address the port has there; the others are released.
  json one = call("PUT", "/v2.0/ports/" + pid,
                  json{{"port", {{"fixed_ips", {{{"subnet_id", sub2}}}}}}}.dump(), 200)["port"];
  EXPECT_EQ(one["fixed_ips"], json::array({{{"subnet_id", sub2}, {"ip_address", "10.17.0.2"}}}));
  std::string other = id(
      call("POST", "/v2.0/ports",
           json{{"port", {{"network_id", c.net}, {"fixed_ips", {{{"ip_address", "10.16.0.77"}}}}}}}
               .dump(),
           201),
      "port");
  // Back to two; a bad subnet or an address in use changes nothing.
  json two =
      call("PUT", "/v2.0/ports/" + pid,
           json{{"port", {{"fixed_ips", {{{"subnet_id", c.sub}}, {{"subnet_id", sub2}}}}}}}.dump(),
           200)["port"];
  ASSERT_EQ(two["fixed_ips"].size(), 2u);
  EXPECT_EQ(two["fixed_ips"][0]["subnet_id"], c.sub);
  EXPECT_EQ(two["fixed_ips"][1], json({{"subnet_id", sub2}, {"ip_address", "10.17.0.2"}}));
  refused("PUT", "/v2.0/ports/" + pid,
          json{{"port", {{"fixed_ips", {{{"subnet_id", c.ext_sub}}}}}}}.dump(), 400,
          "InvalidInput");
  refused("PUT", "/v2.0/ports/" + pid,
          json{{"port", {{"fixed_ips", {{{"subnet_id", sub2}}, {{"ip_address", "10.16.0.77"}}}}}}}
              .dump(),
          409, "IpAddressAlreadyAllocated");
  call("DELETE", "/v2.0/ports/" + pid, "", 204);
  call("DELETE", "/v2.0/ports/" + other, "", 204);
  // Released with the port: the subnet is free to go.
  call("DELETE", "/v2.0/subnets/" + sub2, "", 204);
}

// Neutron's quotas extension: an admin sets a project's limits; a create beyond one is
// 409 OverQuota and changes nothing; reset, the project is back to the defaults (-1).
TEST_P(ApiParity, QuotasLimitWhatAProjectCreates) {
  json defaults = call("GET", "/v2.0/quotas/p1/default", "", 200)["quota"];
  EXPECT_EQ(defaults["network"], -1);
  EXPECT_EQ(defaults["port"], -1);
  EXPECT_EQ(call("GET", "/v2.0/quotas", "", 200)["quotas"], json::array());
  json set = call("PUT", "/v2.0/quotas/p1", R"({"quota":{"network":2,"port":0}})", 200)["quota"];
  EXPECT_EQ(set["network"], 2);
  EXPECT_EQ(set["port"], 0);
  EXPECT_EQ(set["router"], -1);
  json listed = call("GET", "/v2.0/quotas", "", 200)["quotas"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["project_id"], "p1");
  EXPECT_EQ(call("GET", "/v2.0/quotas/p1", "", 200)["quota"], set);
  std::string made;
  for (int i = 0; i < 2; ++i)
    made =
        id(call("POST", "/v2.0/networks",
                json{{"network", {{"name", "q" + std::to_string(i)}, {"project_id", "p1"}}}}.dump(),
                201),
           "network");
  json err =
      refused("POST", "/v2.0/networks",
              json{{"network", {{"name", "q2"}, {"project_id", "p1"}}}}.dump(), 409, "OverQuota");
  EXPECT_EQ(message(err), "Quota exceeded for resources: ['network'].");
  refused("POST", "/v2.0/ports",
          json{{"port", {{"network_id", made}, {"project_id", "p1"}}}}.dump(), 409, "OverQuota");
  // Bulk: all or nothing.
  refused("POST", "/v2.0/networks", R"({"networks":[{"name":"b1","project_id":"p1"}]})", 409,
          "OverQuota");
  // Other projects are not limited.
  call("POST", "/v2.0/networks", json{{"network", {{"name", "free"}}}}.dump(), 201);
  json details = call("GET", "/v2.0/quotas/p1/details.json", "", 200)["quota"];
  EXPECT_EQ(details["network"], json({{"limit", 2}, {"used", 2}, {"reserved", 0}}));
  // Bad limits are refused.
  refused("PUT", "/v2.0/quotas/p1", R"({"quota":{"network":-2}})", 400, "HTTPBadRequest");
  refused("PUT", "/v2.0/quotas/p1", R"({"quota":{"network":"many"}})", 400, "InvalidInput");
  refused("PUT", "/v2.0/quotas/p1", R"({"quota":{"volumes":1}})", 400, "HTTPBadRequest");
  EXPECT_EQ(call("GET", "/v2.0/quotas/p1", "", 200)["quota"], set) << "a refusal changed nothing";
  call("DELETE", "/v2.0/quotas/p1", "", 204);
  EXPECT_EQ(call("GET", "/v2.0/quotas", "", 200)["quotas"], json::array());
  EXPECT_EQ(call("GET", "/v2.0/quotas/p1", "", 200)["quota"], defaults);
  call("POST", "/v2.0/networks", json{{"network", {{"name", "q2"}, {"project_id", "p1"}}}}.dump(),
       201);
}

// Neutron's sorting and pagination: sort_key/sort_dir order the list; limit and marker
// cut it into pages, with networks_links (next, previous) to follow.
TEST_P(ApiParity, ListsAreSortedAndPaged) {
  std::vector<std::string> ids;
  for (const char* name : {"c", "a", "d", "b", "e"})
    ids.push_back(newNetwork(name));
  auto names = [&](const std::string& query) {
    json list = call("GET", "/v2.0/networks?" + query, "", 200);
    std::string out;
    for (const auto& n : list["networks"])
      out += n["name"].get<std::string>();
    return out;
  };
  EXPECT_EQ(names("sort_key=name&sort_dir=asc"), "abcde");
  EXPECT_EQ(names("sort_key=name&sort_dir=desc"), "edcba");
  EXPECT_EQ(names("sort_key=name&sort_dir=desc&fields=id&fields=name"), "edcba");
  EXPECT_EQ(names("sort_key=name&sort_dir=asc&name=b&name=d"), "bd");
  EXPECT_EQ(names(""), "cadbe") << "without sort keys: creation order";

  json first = call("GET", "/v2.0/networks?limit=2&sort_key=name&sort_dir=asc", "", 200);
  EXPECT_EQ(first["networks"].size(), 2u);
  EXPECT_EQ(first["networks"][1]["name"], "b");
  ASSERT_EQ(first["networks_links"].size(), 2u) << first;
  EXPECT_EQ(first["networks_links"][0]["rel"], "next");
  std::string next = first["networks_links"][0]["href"];
  std::string b_id = first["networks"][1]["id"];
  EXPECT_NE(next.find("marker=" + b_id), std::string::npos) << next;
  EXPECT_EQ(next.rfind("http://127.0.0.1:", 0), 0u) << next;
  // Following next to the end: every network once, the last page without a next link.
  std::string seen;
  std::string page = next.substr(next.find("/v2.0/"));
  for (int i = 0; i < 5 && !page.empty(); ++i) {
    json p = call("GET", page, "", 200);
    for (const auto& n : p["networks"])
      seen += n["name"].get<std::string>();
    page.clear();
    for (const auto& l : p.value("networks_links", json::array())) {
      if (l["rel"] == "next")
        page = l["href"].get<std::string>().substr(l["href"].get<std::string>().find("/v2.0/"));
    }
  }
  EXPECT_EQ(seen, "cde");
  EXPECT_EQ(names("limit=2&sort_key=name&sort_dir=asc&marker=" + b_id + "&page_reverse=True"), "a");
  EXPECT_EQ(names("limit=2&sort_key=name&sort_dir=desc&marker=" + b_id), "a");
  EXPECT_EQ(names("limit=0&sort_key=name&sort_dir=asc"), "abcde") << "limit=0: no paging";
  json all = call("GET", "/v2.0/networks?limit=10", "", 200);
  EXPECT_EQ(all["networks"].size(), 5u);
  ASSERT_EQ(all["networks_links"].size(), 1u) << "a short forward page has no next";
  EXPECT_EQ(all["networks_links"][0]["rel"], "previous");
  // A marker that names no network: Neutron's 404.
  std::string missing = "6b1ab2a4-0000-4000-8000-000000000000";
  json err = refused("GET", "/v2.0/networks?limit=2&marker=" + missing, "", 404, "NetworkNotFound");
  EXPECT_EQ(message(err), "Network " + missing + " could not be found.");
  refused("GET", "/v2.0/networks?limit=2&page_reverse=maybe", "", 400, "InvalidInput");
  for (const auto& i : ids)
    call("DELETE", "/v2.0/networks/" + i, "", 204);
}

// Neutron's subnet pools: subnets are carved from a pool's prefixes, never overlapping.
TEST_P(ApiParity, SubnetPoolsGiveSubnetsTheirCidrs) {
  json pool = call(
      "POST", "/v2.0/subnetpools",
      R"({"subnetpool":{"name":"p","prefixes":["10.60.0.0/16","10.50.0.5/16"],"default_prefixlen":24}})",
      201)["subnetpool"];
  EXPECT_EQ(pool["prefixes"], json::array({"10.50.0.0/16", "10.60.0.0/16"})) << "normalised";
  EXPECT_EQ(pool["min_prefixlen"], 8);
  EXPECT_EQ(pool["max_prefixlen"], 32);
  EXPECT_EQ(pool["ip_version"], 4);
  std::string pid = pool["id"];
  std::string net = newNetwork("pooled");
  auto carve = [&](const json& more, int status) {
    json body{{"network_id", net}, {"ip_version", 4}, {"subnetpool_id", pid}};
    body.update(more);
    return call("POST", "/v2.0/subnets", json{{"subnet", body}}.dump(), status);
  };
  json a = carve(json::object(), 201)["subnet"];
  EXPECT_EQ(a["cidr"], "10.50.0.0/24");
  EXPECT_EQ(a["subnetpool_id"], pid);
  json b = carve({{"prefixlen", 28}}, 201)["subnet"];
  EXPECT_EQ(b["cidr"], "10.50.1.0/28");
  json c = carve({{"cidr", "10.60.7.0/24"}}, 201)["subnet"];
  EXPECT_EQ(c["cidr"], "10.60.7.0/24");
  // Outside the pool, overlapping one of its subnets, a bad length: refused, nothing made.
  std::string before = everything();
  EXPECT_EQ(carve({{"cidr", "10.70.0.0/24"}}, 400)["NeutronError"]["type"], "InvalidInput");
  EXPECT_EQ(carve({{"cidr", "10.60.7.128/25"}}, 400)["NeutronError"]["type"],
            "SubnetAllocationError");
  EXPECT_EQ(carve({{"prefixlen", 4}}, 400)["NeutronError"]["type"], "InvalidInput");
  EXPECT_EQ(everything(), before);
  refused("DELETE", "/v2.0/subnetpools/" + pid, "", 409, "SubnetPoolInUse");
  // Updated: a name, more prefixes; never fewer.
  json up = call(
      "PUT", "/v2.0/subnetpools/" + pid,
      R"({"subnetpool":{"name":"q","prefixes":["10.50.0.0/16","10.60.0.0/16","10.80.0.0/16"]}})",
      200)["subnetpool"];
  EXPECT_EQ(up["name"], "q");
  EXPECT_EQ(up["prefixes"].size(), 3u);
  refused("PUT", "/v2.0/subnetpools/" + pid, R"({"subnetpool":{"prefixes":["10.80.0.0/16"]}})", 400,
          "IllegalSubnetPoolPrefixUpdate");
  refused("POST", "/v2.0/subnetpools", R"({"subnetpool":{"name":"x","prefixes":["nope"]}})", 400,
          "HTTPBadRequest");
  refused(
      "POST", "/v2.0/subnetpools",
      R"({"subnetpool":{"prefixes":["10.90.0.0/16"],"min_prefixlen":24,"default_prefixlen":20}})",
      400, "IllegalSubnetPoolPrefixBounds");
  // Tags, as on every resource with standard attributes.
  call("PUT", "/v2.0/subnetpools/" + pid + "/tags/blue", "", 201);
  EXPECT_EQ(call("GET", "/v2.0/subnetpools/" + pid + "/tags", "", 200)["tags"],
            json::array({"blue"}));
  EXPECT_EQ(call("GET", "/v2.0/subnetpools?name=q", "", 200)["subnetpools"].size(), 1u);
  for (const auto& s : {a, b, c})
    call("DELETE", "/v2.0/subnets/" + s["id"].get<std::string>(), "", 204);
  call("DELETE", "/v2.0/subnetpools/" + pid, "", 204);
  json err = refused("GET", "/v2.0/subnetpools/" + pid, "", 404, "SubnetPoolNotFound");
  EXPECT_EQ(message(err), "Subnet pool " + pid + " could not be found.");
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
                                            "extra_dhcp_opt",
                                            "extraroute",
                                            "l3-ha",
                                            "fip-port-details",
                                            "port-security",
                                            "security-group",
                                            "filter-validation",
                                            "ip-substring-filtering",
                                            "net-mtu",
                                            "net-mtu-writable",
                                            "pagination",
                                            "project-id",
                                            "provider",
                                            "quota_details",
                                            "quotas",
                                            "router",
                                            "service-type",
                                            "sorting",
                                            "standard-attr-description",
                                            "standard-attr-revisions",
                                            "standard-attr-tag",
                                            "standard-attr-timestamp",
                                            "subnet_allocation",
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
