// HA routers through the API (Neutron's l3-ha): `ha: true` puts a router's SNAT on two
// dvr_snat hosts, the agents' slices carry it, and GET /v2.0/routers/ID/l3-agents (what
// `openstack network agent list --router R --long` shows) lists its hosts with the HA
// state each agent last reported.
#include <gtest/gtest.h>

#include "api_fixture.h"
#include "ipam/resolve.h"
#include "model/topology_json.h"

namespace dvr {
namespace {

using nlohmann::json;

class ApiHa : public testing::Api {};

TEST_P(ApiHa, AnHaRouterIsOnTwoSnatHostsAndItsAgentsReportWhichIsActive) {
  Cloud c = basicCloud();
  registerAgent("controller02", "dvr_snat", "172.16.0.13");
  json r = call(
      "POST", "/v2.0/routers",
      json{{"router",
            {{"name", "ha1"}, {"ha", true}, {"external_gateway_info", {{"network_id", c.ext}}}}}}
          .dump(),
      201)["router"];
  EXPECT_TRUE(r["ha"].get<bool>());
  std::string id = r["id"];
  EXPECT_FALSE(call("GET", "/v2.0/routers/" + c.router, "", 200)["router"]["ha"].get<bool>());
  // The agents' view: both snat hosts hold it.
  json topo = call("GET", "/dvr/v1/topology?since=0", "", 200)["topology"];
  model::Cloud cloud = ipam::resolve(model::topologyFromJson(topo), "server");
  const model::Router* ha = nullptr;
  for (const auto& x : cloud.routers) {
    if (x.id == id)
      ha = &x;
  }
  ASSERT_NE(ha, nullptr);
  EXPECT_EQ(std::set<std::string>(ha->ha_hosts.begin(), ha->ha_hosts.end()),
            (std::set<std::string>{"controller01", "controller02"}));
  // Before any report: unknown; then what each agent says, with its next heartbeat.
  auto states = [&] {
    std::map<std::string, json> out;
    json got = call("GET", "/v2.0/routers/" + id + "/l3-agents", "", 200);
    for (const auto& a : got["agents"])
      out[a["host"].get<std::string>()] = a["ha_state"];
    return out;
  };
  EXPECT_EQ(states(), (std::map<std::string, json>{{"controller01", "unknown"},
                                                   {"controller02", "unknown"}}));
  auto beat = [&](const std::string& host, const std::string& tunnel, const std::string& state) {
    call("PUT", "/dvr/v1/agents/" + host,
         json{{"agent_mode", "dvr_snat"},
              {"tunnel_ip", tunnel},
              {"uplinks", {{"*", "eth1"}}},
              {"ha_state", {{id, state}}}}
             .dump(),
         200);
  };
  beat("controller01", "172.16.0.10", "active");
  beat("controller02", "172.16.0.13", "standby");
  EXPECT_EQ(states(),
            (std::map<std::string, json>{{"controller01", "active"}, {"controller02", "standby"}}));
  beat("controller01", "172.16.0.10", "standby");  // a failover
  beat("controller02", "172.16.0.13", "active");
  EXPECT_EQ(states(),
            (std::map<std::string, json>{{"controller01", "standby"}, {"controller02", "active"}}));
  call("GET", "/v2.0/routers/no-such-router/l3-agents", "", 404);
}

// Neutron's rule for changing HA mode: only a router that is down; the agents' view
// follows (two snat hosts, then one again).
TEST_P(ApiHa, HaModeChangesOnlyWhileTheRouterIsDown) {
  Cloud c = basicCloud();
  registerAgent("controller02", "dvr_snat", "172.16.0.13");
  auto haHosts = [&] {
    json topo = call("GET", "/dvr/v1/topology?since=0", "", 200)["topology"];
    model::Cloud cloud = ipam::resolve(model::topologyFromJson(topo), "server");
    for (const auto& x : cloud.routers) {
      if (x.id == c.router)
        return x.ha_hosts.size();
    }
    return size_t{99};
  };
  json before = call("GET", "/v2.0/routers/" + c.router, "", 200);
  json e = call("PUT", "/v2.0/routers/" + c.router, R"({"router": {"ha": true}})", 400);
  EXPECT_EQ(e["NeutronError"]["type"], "BadRequest");
  EXPECT_EQ(e["NeutronError"]["message"],
            "Bad router request: Cannot change HA attribute of active routers. Please set "
            "router admin_state_up to False prior to upgrade.");
  EXPECT_EQ(call("GET", "/v2.0/routers/" + c.router, "", 200), before);  // nothing changed
  // Down in the same request: allowed.
  json r = call("PUT", "/v2.0/routers/" + c.router,
                R"({"router": {"ha": true, "admin_state_up": false}})", 200)["router"];
  EXPECT_TRUE(r["ha"].get<bool>());
  EXPECT_EQ(haHosts(), 2u);
  call("PUT", "/v2.0/routers/" + c.router, R"({"router": {"admin_state_up": true}})", 200);
  call("PUT", "/v2.0/routers/" + c.router, R"({"router": {"ha": false}})", 400);
  call("PUT", "/v2.0/routers/" + c.router, R"({"router": {"admin_state_up": false}})", 200);
  r = call("PUT", "/v2.0/routers/" + c.router, R"({"router": {"ha": false}})", 200)["router"];
  EXPECT_FALSE(r["ha"].get<bool>());
  EXPECT_EQ(haHosts(), 0u);
}

// Neutron's l3_ha: with `dvr server --l3-ha`, a router created without `ha` is HA; one
// that says `ha: false` is not.
TEST_P(ApiHa, TheServersL3HaDefaultMakesNewRoutersHa) {
  testing::ServerProcess ha_server(db.url(), {"--l3-ha"});
  httplib::Client c(ha_server.url());
  auto create = [&](const std::string& body) {
    auto res = c.Post("/v2.0/routers", body, "application/json");
    EXPECT_TRUE(res);
    if (!res)
      return json();
    EXPECT_EQ(res->status, 201) << res->body;
    return json::parse(res->body)["router"];
  };
  EXPECT_TRUE(create(R"({"router": {"name": "r-default"}})")["ha"].get<bool>());
  EXPECT_FALSE(create(R"({"router": {"name": "r-legacy", "ha": false}})")["ha"].get<bool>());
  // The fixture's server, without the option: not HA unless asked.
  EXPECT_FALSE(
      call("POST", "/v2.0/routers", R"({"router": {"name": "r-plain"}})", 201)["router"]["ha"]
          .get<bool>());
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiHa, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace dvr
