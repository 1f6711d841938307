// The API server as clients see it: Debian's `openstack` CLI doing what an operator
// does, and raw HTTP for Neutron's status codes and error bodies. A rejected request
// leaves the database as it was.
#include <gtest/gtest.h>

#include <atomic>

#include <set>

#include "api_fixture.h"
#include "model/net.h"

namespace dvr {
namespace {

using nlohmann::json;
using testing::Api;
using testing::ServerProcess;

TEST_P(Api, OpenstackCliBuildsARoutedCloudWithAFloatingIp) {
  registerAgent("controller01", "dvr_snat", "172.16.0.10");
  registerAgent("compute01", "dvr", "172.16.0.11");
  ASSERT_EQ(server.openstack("network create --external ext-net -f value -c id").rc, 0);
  ASSERT_EQ(
      server
          .openstack(
              "subnet create ext-sub --network ext-net --subnet-range 192.168.74.0/24 --gateway "
              "192.168.74.1 "
              "--allocation-pool start=192.168.74.100,end=192.168.74.200 --no-dhcp -f value -c id")
          .rc,
      0);
  ASSERT_EQ(server.openstack("network create net1 -f value -c id").rc, 0);
  ASSERT_EQ(
      server
          .openstack("subnet create sub1 --network net1 --subnet-range 10.16.0.0/24 -f value -c id")
          .rc,
      0);
  ASSERT_EQ(server.openstack("router create --distributed r1 -f value -c id").rc, 0);
  ASSERT_EQ(server.openstack("router set --external-gateway ext-net r1").rc, 0);
  ASSERT_EQ(server.openstack("router add subnet r1 sub1").rc, 0);
  auto port = server.openstack(
      "port create --network net1 --host compute01 --fixed-ip subnet=sub1,ip-address=10.16.0.50 p1 "
      "-f json");
  ASSERT_EQ(port.rc, 0) << port.out;
  json p = json::parse(port.out);
  EXPECT_EQ(p["binding_host_id"], "compute01");
  EXPECT_NE(p["mac_address"].get<std::string>().rfind("fa:16:3e:", 0), std::string::npos);
  auto fip = server.openstack("floating ip create ext-net -f value -c floating_ip_address");
  ASSERT_EQ(fip.rc, 0) << fip.out;
  std::string address = fip.out.substr(0, fip.out.find('\n'));
  EXPECT_TRUE(Cidr::parse("192.168.74.0/24")->contains(*Ipv4::parse(address))) << address;
  ASSERT_EQ(server.openstack("floating ip set --port p1 " + address).rc, 0);
  json fips = json::parse(server.openstack("floating ip list -f json").out);
  ASSERT_EQ(fips.size(), 1u);
  EXPECT_EQ(fips[0]["Fixed IP Address"], "10.16.0.50");
  json router = json::parse(server.openstack("router show r1 -f json").out);
  EXPECT_EQ(router["interfaces_info"][0]["ip_address"], "10.16.0.1");
  json agents = json::parse(server.openstack("network agent list -f json").out);
  ASSERT_EQ(agents.size(), 2u);
  std::set<std::string> hosts;
  for (const auto& a : agents) {
    hosts.insert(a["Host"]);
    EXPECT_EQ(a["Alive"], true);
    EXPECT_EQ(a["Agent Type"], "L3 agent");
  }
  EXPECT_EQ(hosts, (std::set<std::string>{"controller01", "compute01"}));
  // Tear down like an operator, and the server agrees at each step.
  EXPECT_EQ(server.openstack("floating ip unset --port " + address).rc, 0);
  EXPECT_EQ(server.openstack("floating ip delete " + address).rc, 0);
  EXPECT_EQ(server.openstack("port delete p1").rc, 0);
  EXPECT_EQ(server.openstack("router remove subnet r1 sub1").rc, 0);
  EXPECT_EQ(server.openstack("router unset --external-gateway r1").rc, 0);
  EXPECT_EQ(server.openstack("router delete r1").rc, 0);
  EXPECT_EQ(server.openstack("network delete net1").rc, 0);
  EXPECT_EQ(server.openstack("network list -f value -c Name").out, "ext-net\n");
}

// `openstack router add port`: a port made for the purpose becomes the router's interface.
TEST_P(Api, OpenstackCliAddsARouterInterfaceByPort) {
  registerAgent("controller01", "dvr_snat", "172.16.0.10");
  ASSERT_EQ(server.openstack("network create net2 -f value -c id").rc, 0);
  ASSERT_EQ(
      server
          .openstack("subnet create sub2 --network net2 --subnet-range 10.17.0.0/24 -f value -c id")
          .rc,
      0);
  ASSERT_EQ(server.openstack("router create --distributed r2 -f value -c id").rc, 0);
  // A port off the gateway IP becomes an interface at its own address, as in Neutron (the
  // router answers there on every host); removing the interface removes the port.
  auto off = server.openstack(
      "port create --network net2 --fixed-ip subnet=sub2,ip-address=10.17.0.9 off -f value -c id");
  ASSERT_EQ(off.rc, 0) << off.out;
  auto added = server.openstack("router add port r2 off");
  EXPECT_EQ(added.rc, 0) << added.out;
  EXPECT_EQ(server.openstack("port show off -f value -c device_owner").out,
            "network:router_interface_distributed\n");
  json with_off = json::parse(server.openstack("router show r2 -f json").out);
  ASSERT_EQ(with_off["interfaces_info"].size(), 1u) << with_off;
  EXPECT_EQ(with_off["interfaces_info"][0]["ip_address"], "10.17.0.9");
  EXPECT_EQ(server.openstack("router remove port r2 off").rc, 0);

  auto gw = server.openstack(
      "port create --network net2 --fixed-ip subnet=sub2,ip-address=10.17.0.1 gw -f json");
  ASSERT_EQ(gw.rc, 0) << gw.out;
  json made = json::parse(gw.out);
  ASSERT_EQ(server.openstack("router add port r2 gw").rc, 0);
  json port = json::parse(server.openstack("port show gw -f json").out);
  EXPECT_EQ(port["id"], made["id"]);
  EXPECT_EQ(port["mac_address"], made["mac_address"]);
  EXPECT_EQ(port["device_owner"], "network:router_interface_distributed");
  json router = json::parse(server.openstack("router show r2 -f json").out);
  ASSERT_EQ(router["interfaces_info"].size(), 1u);
  EXPECT_EQ(router["interfaces_info"][0]["ip_address"], "10.17.0.1");
  EXPECT_EQ(router["interfaces_info"][0]["port_id"], made["id"]);
  EXPECT_EQ(server.openstack("router remove port r2 gw").rc, 0);
  EXPECT_EQ(json::parse(server.openstack("router show r2 -f json").out)["interfaces_info"].size(),
            0u);
}

// Only what concerns its host travels to an agent: a port on another host's network,
// behind no router of its own, stays away from compute01.
TEST_P(Api, AnAgentGetsOnlyItsHostsPartOfTheCloud) {
  Cloud c = basicCloud();
  registerAgent("compute02", "dvr", "172.16.0.12");
  std::string mine = id(
      call("POST", "/v2.0/ports",
           json{{"port", {{"network_id", c.net}, {"binding:host_id", "compute01"}}}}.dump(), 201),
      "port");
  std::string other_net =
      id(call("POST", "/v2.0/networks", R"({"network":{"name":"elsewhere"}})", 201), "network");
  call("POST", "/v2.0/subnets",
       json{{"subnet", {{"network_id", other_net}, {"cidr", "10.99.0.0/24"}, {"ip_version", 4}}}}
           .dump(),
       201);
  // Unfiltered: a port in the default group would be a member of a remote group of
  // compute01's port (the default group admits its members), and travel there too.
  std::string theirs = id(call("POST", "/v2.0/ports",
                               json{{"port",
                                     {{"network_id", other_net},
                                      {"binding:host_id", "compute02"},
                                      {"port_security_enabled", false}}}}
                                   .dump(),
                               201),
                          "port");
  auto names = [](const json& items) {
    std::set<std::string> out;
    for (const auto& i : items)
      out.insert(i.at("name").get<std::string>());
    return out;
  };
  json whole = call("GET", "/dvr/v1/topology?since=0", "", 200)["topology"];
  json slice = call("GET", "/dvr/v1/topology?since=0&host=compute01", "", 200)["topology"];
  EXPECT_TRUE(names(whole["vms"]).count(theirs));
  EXPECT_TRUE(names(slice["vms"]).count(mine));
  EXPECT_FALSE(names(slice["vms"]).count(theirs));
  EXPECT_FALSE(names(slice["networks"]).count(other_net));
  EXPECT_FALSE(names(slice["hosts"]).count("compute02"));
  EXPECT_TRUE(names(slice["hosts"]).count("controller01"));  // r1's SNAT is there
}

// An agent that sends the digest of the slice it holds is not woken by writes elsewhere in
// the cloud (its poll runs to the deadline and answers without a topology), and is woken by
// a write that changes its host's slice.
TEST_P(Api, AnAgentHoldingItsSliceSleepsThroughWritesElsewhere) {
  Cloud c = basicCloud();
  registerAgent("compute02", "dvr", "172.16.0.12");
  json held = call("GET", "/dvr/v1/topology?since=0&host=compute02", "", 200);
  std::string digest = held["digest"];
  uint64_t since = held["revision"];
  auto poll = [&](int wait_ms) {
    httplib::Client agent(server.url());
    agent.set_read_timeout(60);
    auto res = agent.Get("/dvr/v1/topology?since=" + std::to_string(since) +
                         "&wait=" + std::to_string(wait_ms) + "&host=compute02&digest=" + digest);
    EXPECT_TRUE(res && res->status == 200);
    return res ? json::parse(res->body) : json();
  };

  json quiet;
  std::thread elsewhere([&] { quiet = poll(1500); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the poll is waiting
  call("POST", "/v2.0/networks", R"({"network":{"name":"not-on-compute02"}})", 201);
  call("POST", "/v2.0/ports",
       json{{"port", {{"network_id", c.net}, {"binding:host_id", "compute01"}}}}.dump(), 201);
  elsewhere.join();
  EXPECT_FALSE(quiet.contains("topology")) << quiet.dump();
  EXPECT_EQ(quiet["digest"], digest);
  EXPECT_GT(quiet["revision"].get<uint64_t>(), since);  // it saw the writes, and slept on

  json woken;
  std::thread mine([&] { woken = poll(30000); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string port = id(
      call("POST", "/v2.0/ports",
           json{{"port", {{"network_id", c.net}, {"binding:host_id", "compute02"}}}}.dump(), 201),
      "port");
  mine.join();
  ASSERT_TRUE(woken.contains("topology")) << woken.dump();
  EXPECT_NE(woken["digest"], digest);
  bool has_port = false;
  for (const auto& vm : woken["topology"]["vms"])
    has_port = has_port || vm["name"] == port;
  EXPECT_TRUE(has_port);
}

TEST_P(Api, VersionDocumentAndExtensions) {
  json v = call("GET", "/", "", 200);
  EXPECT_EQ(v["versions"][0]["status"], "CURRENT");
  json e = call("GET", "/v2.0/extensions", "", 200);
  std::set<std::string> aliases;
  for (const auto& x : e["extensions"])
    aliases.insert(x["alias"]);
  EXPECT_TRUE(aliases.count("router") && aliases.count("dvr") && aliases.count("external-net") &&
              aliases.count("agent"));
  EXPECT_FALSE(aliases.count("metering"));  // not implemented, so not advertised
  call("GET", "/v2.0/extensions/metering", "", 404);
  call("GET", "/v2.0/networks/no-such-network", "", 404);  // find-by-name relies on this
}

TEST_P(Api, HostsGetUniqueDvrMacsThatLast) {
  registerAgent("compute01", "dvr", "172.16.0.11");
  registerAgent("compute02", "dvr", "172.16.0.12");
  auto mac = [&](const std::string& host) {
    return call("PUT", "/dvr/v1/agents/" + host,
                json{{"agent_mode", "dvr"},
                     {"tunnel_ip", host == "compute01" ? "172.16.0.11" : "172.16.0.12"},
                     {"uplinks", {{"*", "eth1"}}}}
                    .dump(),
                200)["agent"]["dvr_mac"]
        .get<std::string>();
  };
  std::string m1 = mac("compute01"), m2 = mac("compute02");
  EXPECT_NE(m1, m2);
  EXPECT_EQ(m1.rfind("fa:16:3f:", 0), 0u);
  EXPECT_EQ(mac("compute01"), m1);  // re-registration keeps it
  json agents = call("GET", "/v2.0/agents", "", 200)["agents"];
  EXPECT_EQ(agents.size(), 2u);
  for (const auto& a : agents) {
    EXPECT_EQ(a["configurations"]["dvr_mac_address"], a["host"] == "compute01" ? m1 : m2);
  }
  // The table as the seed shows Neutron's, through the dvr CLI.
  auto table = testing::sh(testing::kDvr + " host-macs --server " + server.url());
  ASSERT_EQ(table.rc, 0) << table.out;
  EXPECT_EQ(table.out, "host       mac_address\ncompute01  " + m1 + "\ncompute02  " + m2 + "\n");
}

struct BadRequest {
  const char* what;
  const char* method;
  std::string path, body;
  int status;
  const char* type;
};

TEST_P(Api, BadInputGetsNeutronsErrorAndChangesNothing) {
  Cloud c = basicCloud();
  std::string port = id(call("POST", "/v2.0/ports",
                             json{{"port",
                                   {{"network_id", c.net},
                                    {"fixed_ips", {{{"ip_address", "10.16.0.77"}}}},
                                    {"binding:host_id", "compute01"}}}}
                                 .dump(),
                             201),
                        "port");
  std::string isolated =
      id(call("POST", "/v2.0/networks", R"({"network":{"name":"isolated"}})", 201), "network");
  call("POST", "/v2.0/subnets",
       json{{"subnet", {{"network_id", isolated}, {"cidr", "10.99.0.0/24"}, {"ip_version", 4}}}}
           .dump(),
       201);
  std::string lonely =
      id(call("POST", "/v2.0/ports",
              json{{"port", {{"network_id", isolated}, {"binding:host_id", "compute01"}}}}.dump(),
              201),
         "port");
  std::string fip = id(call("POST", "/v2.0/floatingips",
                            json{{"floatingip", {{"floating_network_id", c.ext}}}}.dump(), 201),
                       "floatingip");
  std::vector<BadRequest> cases{
      {"malformed JSON", "POST", "/v2.0/networks", "{\"network\": {", 400, "HTTPBadRequest"},
      {"unknown attribute", "POST", "/v2.0/networks", R"({"network":{"colour":"red"}})", 400,
       "HTTPBadRequest"},
      {"read-only attribute", "PUT", "/v2.0/networks/" + c.net,
       R"({"network":{"provider:segmentation_id":77}})", 400, "HTTPBadRequest"},
      {"external network a router's gateway uses made internal", "PUT", "/v2.0/networks/" + c.ext,
       R"({"network":{"router:external":false}})", 409, "ExternalNetworkInUse"},
      {"bad CIDR", "POST", "/v2.0/subnets",
       json{{"subnet", {{"network_id", c.net}, {"cidr", "10.16.300.0/24"}, {"ip_version", 4}}}}
           .dump(),
       400, "HTTPBadRequest"},
      {"bad MAC", "POST", "/v2.0/ports",
       json{{"port", {{"network_id", c.net}, {"mac_address", "fa:16:3e:zz:00:00"}}}}.dump(), 400,
       "HTTPBadRequest"},
      {"IP in use", "POST", "/v2.0/ports",
       json{{"port", {{"network_id", c.net}, {"fixed_ips", {{{"ip_address", "10.16.0.77"}}}}}}}
           .dump(),
       409, "IpAddressAlreadyAllocated"},
      {"IP outside the subnet", "POST", "/v2.0/ports",
       json{{"port", {{"network_id", c.net}, {"fixed_ips", {{{"ip_address", "10.17.0.5"}}}}}}}
           .dump(),
       400, "InvalidIpForSubnet"},
      {"network in use", "DELETE", "/v2.0/networks/" + c.net, "", 409, "NetworkInUse"},
      {"subnet in use", "DELETE", "/v2.0/subnets/" + c.sub, "", 409, "SubnetInUse"},
      {"floating IP on an internal network", "POST", "/v2.0/floatingips",
       json{{"floatingip", {{"floating_network_id", c.net}}}}.dump(), 400, "BadRequest"},
      {"no router between port and external network", "PUT", "/v2.0/floatingips/" + fip,
       json{{"floatingip", {{"port_id", lonely}}}}.dump(), 404,
       "ExternalGatewayForFloatingIPNotFound"},
      {"gateway on an internal network", "PUT", "/v2.0/routers/" + c.router,
       json{{"router", {{"external_gateway_info", {{"network_id", c.net}}}}}}.dump(), 400,
       "BadRequest"},
      {"router with interfaces", "DELETE", "/v2.0/routers/" + c.router, "", 409, "RouterInUse"},
      {"unknown router action", "PUT", "/v2.0/routers/" + c.router + "/add_gateway_router",
       json{{"subnet_id", c.sub}}.dump(), 404, "HTTPNotFound"},
      {"router interface by POST", "POST", "/v2.0/routers/" + c.router + "/add_router_interface",
       json{{"subnet_id", c.sub}}.dump(), 404, "HTTPNotFound"},
      {"router interface with neither subnet nor port", "PUT",
       "/v2.0/routers/" + c.router + "/add_router_interface", "{}", 400, "HTTPBadRequest"},
      {"router-owned port", "DELETE",
       "/v2.0/ports/" +
           std::string(call("GET", "/v2.0/ports?device_owner=network:router_interface_distributed",
                            "", 200)["ports"][0]["id"]),
       "", 409, "ServicePortInUse"},
      {"unknown network", "GET", "/v2.0/networks/" + std::string(36, 'f'), "", 404,
       "NetworkNotFound"},
      {"oversized body", "POST", "/v2.0/networks", std::string(3 << 20, ' '), 413, ""},
  };
  for (const auto& bad : cases) {
    std::string before = everything();
    httplib::Result res =
        std::string(bad.method) == "GET"    ? http.Get(bad.path)
        : std::string(bad.method) == "POST" ? http.Post(bad.path, bad.body, "application/json")
        : std::string(bad.method) == "PUT"  ? http.Put(bad.path, bad.body, "application/json")
                                            : http.Delete(bad.path);
    ASSERT_TRUE(res) << bad.what;
    EXPECT_EQ(res->status, bad.status) << bad.what << ": " << res->body;
    if (*bad.type) {
      json err = json::parse(res->body, nullptr, false);
      ASSERT_FALSE(err.is_discarded()) << bad.what << ": " << res->body;
      EXPECT_EQ(err["NeutronError"]["type"], bad.type) << bad.what << ": " << res->body;
      EXPECT_FALSE(err["NeutronError"]["message"].get<std::string>().empty());
      EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    }
    EXPECT_EQ(everything(), before) << bad.what << " changed the database";
  }
  (void)port;
}

TEST_P(Api, ConcurrentClientsNeverGetTheSameAddress) {
  Cloud c = basicCloud();
  std::vector<std::thread> clients;
  std::mutex mu;
  std::vector<std::string> ips;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      httplib::Client own(server.url());
      for (int i = 0; i < 10; ++i) {
        auto res = own.Post("/v2.0/ports", json{{"port", {{"network_id", c.net}}}}.dump(),
                            "application/json");
        ASSERT_TRUE(res && res->status == 201);
        std::lock_guard<std::mutex> lock(mu);
        ips.push_back(json::parse(res->body)["port"]["fixed_ips"][0]["ip_address"]);
      }
    });
  }
  for (auto& t : clients)
    t.join();
  EXPECT_EQ(ips.size(), 80u);
  EXPECT_EQ(std::set<std::string>(ips.begin(), ips.end()).size(), 80u);
}

TEST_P(Api, TwoServersOverOneDatabaseNeverCollide) {
  Cloud c = basicCloud();
  ServerProcess second(db.url());
  std::vector<std::thread> clients;
  std::mutex mu;
  std::vector<std::string> ips;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      httplib::Client own(t % 2 ? second.url() : server.url());
      for (int i = 0; i < 10; ++i) {
        auto res = own.Post("/v2.0/ports", json{{"port", {{"network_id", c.net}}}}.dump(),
                            "application/json");
        ASSERT_TRUE(res && res->status == 201) << (res ? res->body : "no answer");
        std::lock_guard<std::mutex> lock(mu);
        ips.push_back(json::parse(res->body)["port"]["fixed_ips"][0]["ip_address"]);
      }
    });
  }
  for (auto& t : clients)
    t.join();
  EXPECT_EQ(std::set<std::string>(ips.begin(), ips.end()).size(), 40u);
  // Both servers see the same cloud.
  EXPECT_EQ(httplib::Client(second.url()).Get("/v2.0/ports")->body, http.Get("/v2.0/ports")->body);
}

// An agent long-polling one server learns of a write made through another server over
// the same database while it waits, not when its wait runs out.
TEST_P(Api, ALongPollOnOneServerWakesForAWriteOnAnother) {
  registerAgent("compute01", "dvr", "172.16.0.11");
  ServerProcess second(db.url());
  uint64_t since = call("GET", "/dvr/v1/topology?since=0", "", 200)["revision"];
  std::atomic<uint64_t> seen{0};
  std::atomic<bool> answered{false};
  std::thread poll([&] {
    httplib::Client agent(server.url());
    agent.set_read_timeout(60);
    auto res =
        agent.Get("/dvr/v1/topology?since=" + std::to_string(since) + "&wait=30000&host=compute01");
    if (res && res->status == 200)
      seen = json::parse(res->body)["revision"].get<uint64_t>();
    answered = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the poll is waiting
  EXPECT_FALSE(answered);
  auto made =
      httplib::Client(second.url())
          .Post("/v2.0/networks", R"({"network":{"name":"via-second"}})", "application/json");
  ASSERT_TRUE(made && made->status == 201);
  // The wait is 30 s: an answer within 10 s can only come from the change.
  for (int i = 0; i < 1000 && !answered; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(answered) << "the long-poll did not wake for the other server's write";
  poll.join();
  EXPECT_GT(seen.load(), since);
}

// Neutron schedules a router's SNAT to an alive dvr_snat agent and keeps it there.
TEST_P(Api, SnatIsPlacedOnAnAliveDvrSnatAgentAndStays) {
  ServerProcess quick(db.url(), {"--agent-down-time", "1"});
  httplib::Client c(quick.url());
  auto put = [&](const std::string& path, const json& body, int status) {
    auto res = c.Put(path, body.dump(), "application/json");
    EXPECT_TRUE(res && res->status == status) << path << " -> " << (res ? res->body : "");
    return res ? json::parse(res->body) : json();
  };
  auto post = [&](const std::string& path, const json& body) {
    auto res = c.Post(path, body.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 201) << path << " -> " << (res ? res->body : "");
    return res ? json::parse(res->body) : json();
  };
  auto agent = [&](const std::string& host, const char* mode, const char* tunnel) {
    put("/dvr/v1/agents/" + host,
        {{"agent_mode", mode}, {"tunnel_ip", tunnel}, {"uplinks", {{"*", "eth1"}}}}, 200);
  };
  // The host of the router's gateway (qg-) port is where its SNAT runs.
  auto snatHost = [&](const std::string& router) {
    auto res = c.Get("/v2.0/ports?device_owner=network:router_gateway&device_id=" + router);
    EXPECT_TRUE(res && res->status == 200);
    json ports = json::parse(res->body)["ports"];
    EXPECT_EQ(ports.size(), 1u) << res->body;
    return ports.empty() ? std::string() : ports[0]["binding:host_id"].get<std::string>();
  };
  auto alive = [&](const std::string& host) {
    json agents = json::parse(c.Get("/v2.0/agents")->body);
    for (const auto& a : agents["agents"]) {
      if (a["host"] == host)
        return a["alive"].get<bool>();
    }
    return false;
  };

  // network-a sorts first and has no router: every tie would go to it, were it alive.
  agent("network-a", "dvr_snat", "172.16.0.9");
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // network-a is down now
  agent("network-b", "dvr_snat", "172.16.0.10");
  agent("compute01", "dvr", "172.16.0.11");
  ASSERT_FALSE(alive("network-a"));
  ASSERT_TRUE(alive("network-b"));
  std::string ext =
      post("/v2.0/networks",
           {{"network", {{"name", "ext"}, {"router:external", true}}}})["network"]["id"];
  post("/v2.0/subnets",
       {{"subnet", {{"network_id", ext}, {"cidr", "192.168.74.0/24"}, {"ip_version", 4}}}});
  auto router = [&](const char* name) {
    return post("/v2.0/routers",
                {{"router",
                  {{"name", name},
                   {"external_gateway_info", {{"network_id", ext}}}}}})["router"]["id"]
        .get<std::string>();
  };
  std::string r1 = router("r1"), r2 = router("r2");
  EXPECT_EQ(snatHost(r1), "network-b");
  EXPECT_EQ(snatHost(r2), "network-b");

  // network-b goes down, network-a comes back: r1 and r2 stay where they are (no failover
  // without HA, as Neutron), a new router goes to the alive agent.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  agent("network-a", "dvr_snat", "172.16.0.9");
  ASSERT_FALSE(alive("network-b"));
  std::string r3 = router("r3");
  EXPECT_EQ(snatHost(r3), "network-a");
  EXPECT_EQ(snatHost(r1), "network-b");
  EXPECT_EQ(snatHost(r2), "network-b");
}

INSTANTIATE_TEST_SUITE_P(Backends, Api, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace dvr
