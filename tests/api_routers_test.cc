// Routers beyond the distributed default, through the API as Neutron answers: extra
// routes (the extraroute extension) and centralized routers (`distributed: false`), each
// checked in the plan of the hosts that must carry it. A refusal changes nothing.
#include <gtest/gtest.h>

#include <algorithm>

#include "api_fixture.h"
#include "plan/render.h"

namespace dvr {
namespace {

using nlohmann::json;
using testing::Api;

class ApiRouters : public Api {
 protected:
  static const plan::Route* routeTo(const plan::HostPlan& p, const std::string& ns_prefix,
                                    const std::string& dst) {
    for (const auto& r : p.routes) {
      if (r.ns.rfind(ns_prefix, 0) == 0 && r.table == plan::kMainTable && r.dst.str() == dst)
        return &r;
    }
    return nullptr;
  }
  json routes(std::initializer_list<std::pair<const char*, const char*>> list) {
    json j = json::array();
    for (const auto& [d, n] : list)
      j.push_back({{"destination", d}, {"nexthop", n}});
    return j;
  }
  std::string putRoutes(const std::string& router, const json& r) {
    return json{{"router", {{"routes", r}}}}.dump();
  }
};

// Neutron's extraroute: routes on update, shown, planned in the router's namespaces
// (qrouter- on each host, snat- on the SNAT host), cleared by null; checked as Neutron.
TEST_P(ApiRouters, ExtraRoutesAreCheckedShownAndPlannedInTheRoutersNamespaces) {
  Cloud c = basicCloud();
  call("POST", "/v2.0/ports",
       json{{"port", {{"network_id", c.net}, {"binding:host_id", "compute01"}}}}.dump(), 201);
  std::string path = "/v2.0/routers/" + c.router;
  json want = routes({{"10.30.0.0/24", "10.16.0.5"}, {"10.31.0.0/16", "10.16.0.6"}});
  json made = call("PUT", path, putRoutes(c.router, want), 200)["router"];
  EXPECT_EQ(made["routes"], want);
  EXPECT_EQ(call("GET", path, "", 200)["router"]["routes"], want);
  json ext = call("GET", "/v2.0/extensions", "", 200)["extensions"];
  EXPECT_TRUE(std::any_of(ext.begin(), ext.end(),
                          [](const json& e) { return e["alias"] == "extraroute"; }));

  // The data path: in qrouter- on the VM's host, and in snat- on the SNAT host, through
  // the router's port on the nexthop's subnet.
  plan::HostPlan compute = planOf("compute01");
  const plan::Route* r = routeTo(compute, "qrouter-", "10.30.0.0/24");
  ASSERT_TRUE(r) << plan::renderText(compute);
  EXPECT_EQ(r->via->str(), "10.16.0.5");
  EXPECT_EQ(r->dev.rfind("qr-", 0), 0u) << r->dev;
  ASSERT_TRUE(routeTo(compute, "qrouter-", "10.31.0.0/16"));
  plan::HostPlan snat = planOf("controller01");
  const plan::Route* s = routeTo(snat, "snat-", "10.30.0.0/24");
  ASSERT_TRUE(s) << plan::renderText(snat);
  EXPECT_EQ(s->dev.rfind("sg-", 0), 0u) << s->dev;

  // Neutron's checks: a nexthop off the router's subnets, the router's own address.
  json err = refused("PUT", path, putRoutes(c.router, routes({{"10.40.0.0/24", "10.99.0.5"}})), 400,
                     "InvalidRoutes");
  EXPECT_NE(message(err).find("the nexthop is not connected with router"), std::string::npos)
      << err;
  err = refused("PUT", path, putRoutes(c.router, routes({{"10.40.0.0/24", "10.16.0.1"}})), 400,
                "InvalidRoutes");
  EXPECT_NE(message(err).find("the nexthop is used by router"), std::string::npos) << err;
  refused("PUT", path, putRoutes(c.router, routes({{"10.40.0.0/33", "10.16.0.5"}})), 400,
          "HTTPBadRequest");
  json many = json::array();
  for (int i = 0; i < 31; ++i)
    many.push_back(
        {{"destination", "10.50." + std::to_string(i) + ".0/24"}, {"nexthop", "10.16.0.5"}});
  err = refused("PUT", path, putRoutes(c.router, many), 400, "RoutesExhausted");
  EXPECT_NE(message(err).find("exceeds the maximum 30"), std::string::npos) << err;
  // Not on create (Neutron's allow_post is False).
  refused("POST", "/v2.0/routers", json{{"router", {{"routes", want}}}}.dump(), 400,
          "HTTPBadRequest");
  // The interface a nexthop needs stays.
  err = refused("PUT", path + "/remove_router_interface", json{{"subnet_id", c.sub}}.dump(), 409,
                "RouterInterfaceInUseByRoute");

  // null clears them, in the API and in the plan.
  EXPECT_EQ(call("PUT", path, R"({"router":{"routes":null}})", 200)["router"]["routes"],
            json::array());
  EXPECT_FALSE(routeTo(planOf("compute01"), "qrouter-", "10.30.0.0/24"));
  call("PUT", path + "/remove_router_interface", json{{"subnet_id", c.sub}}.dump(), 200);
}

// Neutron's legacy router: `distributed: false` puts the whole router on one dvr_snat
// host; a router moves between the two kinds only while administratively down.
TEST_P(ApiRouters, ACentralizedRouterIsOnItsHostOnlyAndMigratesWhileDownAndOnNoHost) {
  Cloud c = basicCloud();
  json made = call("POST", "/v2.0/routers",
                   json{{"router",
                         {{"name", "legacy"},
                          {"distributed", false},
                          {"external_gateway_info", {{"network_id", c.ext}}}}}}
                       .dump(),
                   201)["router"];
  EXPECT_EQ(made["distributed"], false);
  std::string rid = made["id"], path = "/v2.0/routers/" + rid;
  EXPECT_EQ(call("GET", path, "", 200)["router"]["distributed"], false);
  std::string net =
      id(call("POST", "/v2.0/networks", R"({"network":{"name":"n2"}})", 201), "network");
  std::string sub =
      id(call("POST", "/v2.0/subnets",
              json{{"subnet", {{"network_id", net}, {"cidr", "10.20.0.0/24"}, {"ip_version", 4}}}}
                  .dump(),
              201),
         "subnet");
  call("PUT", path + "/add_router_interface", json{{"subnet_id", sub}}.dump(), 200);
  std::string port =
      id(call("POST", "/v2.0/ports",
              json{{"port", {{"network_id", net}, {"binding:host_id", "compute01"}}}}.dump(), 201),
         "port");
  json fip = call("POST", "/v2.0/floatingips",
                  json{{"floatingip", {{"floating_network_id", c.ext}, {"port_id", port}}}}.dump(),
                  201)["floatingip"];
  EXPECT_EQ(fip["router_id"], rid);
  std::string qrouter = "qrouter-" + rid;
  auto hasNs = [](const plan::HostPlan& p, const std::string& ns) {
    return std::find(p.namespaces.begin(), p.namespaces.end(), ns) != p.namespaces.end();
  };
  // On controller01 only: its qrouter- holds the gateway and the floating IP; no snat-.
  plan::HostPlan ctl = planOf("controller01"), cmp = planOf("compute01");
  EXPECT_TRUE(hasNs(ctl, qrouter)) << plan::renderText(ctl);
  EXPECT_FALSE(hasNs(ctl, "snat-" + rid));
  EXPECT_FALSE(hasNs(cmp, qrouter)) << plan::renderText(cmp);
  std::string floating = fip["floating_ip_address"];
  EXPECT_TRUE(std::any_of(ctl.floating_nat.begin(), ctl.floating_nat.end(), [&](const auto& f) {
    return f.ns == qrouter && f.floating.str() == floating && f.rfp_dev.rfind("qg-", 0) == 0;
  })) << plan::renderText(ctl);
  json agents = call("GET", path + "/l3-agents", "", 200)["agents"];
  ASSERT_EQ(agents.size(), 1u) << agents;
  EXPECT_EQ(agents[0]["host"], "controller01");

  // HA routers are distributed in dvr.
  refused("POST", "/v2.0/routers", R"({"router":{"distributed":false,"ha":true}})", 400,
          "BadRequest");
  // Migration needs the router down (in the state the update asks for).
  json err = refused("PUT", path, R"({"router":{"distributed":true}})", 400, "BadRequest");
  EXPECT_NE(message(err).find("set router admin_state_up to False"), std::string::npos) << err;
  json down = call("PUT", path, R"({"router":{"distributed":true,"admin_state_up":false}})", 200);
  EXPECT_EQ(down["router"]["distributed"], true);
  EXPECT_EQ(down["router"]["admin_state_up"], false);
  // Down, it is on no host, as Neutron's L3 agents drop a router that is not active.
  for (const char* host : {"controller01", "compute01"}) {
    plan::HostPlan p = planOf(host);
    EXPECT_FALSE(hasNs(p, qrouter)) << host << "\n" << plan::renderText(p);
    EXPECT_FALSE(hasNs(p, "snat-" + rid)) << host;
    EXPECT_TRUE(std::none_of(p.floating_nat.begin(), p.floating_nat.end(),
                             [&](const auto& f) { return f.floating.str() == floating; }))
        << host << ": a down router's floating IP is served nowhere";
  }
  EXPECT_TRUE(hasNs(planOf("controller01"), "snat-" + c.router)) << "the other router stays";
  call("PUT", path, R"({"router":{"admin_state_up":true}})", 200);
  ctl = planOf("controller01");
  cmp = planOf("compute01");
  EXPECT_TRUE(hasNs(cmp, qrouter)) << "distributed now: on the VM's host";
  EXPECT_TRUE(hasNs(ctl, "snat-" + rid)) << plan::renderText(ctl);
  EXPECT_TRUE(std::any_of(cmp.floating_nat.begin(), cmp.floating_nat.end(), [&](const auto& f) {
    return f.floating.str() == floating && f.rfp_dev.rfind("rfp-", 0) == 0;
  })) << plan::renderText(cmp);
  // And back, down again, then up on its host only.
  EXPECT_EQ(call("PUT", path, R"({"router":{"distributed":false,"admin_state_up":false}})",
                 200)["router"]["distributed"],
            false);
  EXPECT_FALSE(hasNs(planOf("controller01"), qrouter));
  call("PUT", path, R"({"router":{"admin_state_up":true}})", 200);
  EXPECT_FALSE(hasNs(planOf("compute01"), qrouter));
  EXPECT_TRUE(hasNs(planOf("controller01"), qrouter));
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiRouters, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace dvr
