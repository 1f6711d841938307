// The fixture of the API tests: a `dvr server` on each back end (SQLite always,
// PostgreSQL when DVR_TEST_PG=1), raw HTTP calls, everything a client can list (which a
// rejected request must leave as it was), a refusal checked to change nothing, the plan
// a host's agent would make from its slice, and a small routed cloud to start from.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "api_support.h"
#include "ipam/resolve.h"
#include "model/topology_json.h"
#include "plan/cloud_index.h"
#include "plan/planner.h"

namespace dvr::testing {

using nlohmann::json;

// The same suite on each back end: SQLite always, PostgreSQL when DVR_TEST_PG=1 (set by
// .ci/run and scripts/test.sh after scripts/start-postgres.sh).
class Api : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql" && !std::getenv("DVR_TEST_PG"))
      GTEST_SKIP() << "DVR_TEST_PG is not set";
    ASSERT_TRUE(db.ok()) << "cannot create a " << GetParam() << " database";
  }
  testing::TestDatabase db{GetParam()};
  ServerProcess server{db.ok() ? db.url() : ""};
  httplib::Client http{server.url()};

  json call(const char* method, const std::string& path, const std::string& body,
            int expect_status) {
    httplib::Result res = std::string(method) == "GET" ? http.Get(path)
                          : std::string(method) == "POST"
                              ? http.Post(path, body, "application/json")
                          : std::string(method) == "PUT" ? http.Put(path, body, "application/json")
                                                         : http.Delete(path);
    EXPECT_TRUE(res) << method << " " << path;
    if (!res)
      return json();
    EXPECT_EQ(res->status, expect_status)
        << method << " " << path << " " << body << " -> " << res->body;
    return res->body.empty() ? json() : json::parse(res->body);
  }
  void registerAgent(const std::string& host, const std::string& mode, const std::string& tunnel) {
    call("PUT", "/dvr/v1/agents/" + host,
         json{{"agent_mode", mode}, {"tunnel_ip", tunnel}, {"uplinks", {{"*", "eth1"}}}}.dump(),
         200);
  }
  // Everything a client can list: a rejected request must not change it.
  std::string everything() {
    std::string all;
    for (const char* c : {"networks", "subnets", "ports", "routers", "floatingips", "agents"})
      all += http.Get(std::string("/v2.0/") + c)->body;
    return all;
  }
  std::string id(const json& j, const char* kind) { return j.at(kind).at("id").get<std::string>(); }
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
  // The plan of `host` from the slice its agent reads.
  plan::HostPlan planOf(const std::string& host) {
    auto topo = model::topologyFromJson(
        json::parse(http.Get("/dvr/v1/topology?since=0&host=" + host)->body).at("topology"));
    model::Cloud cloud = ipam::resolve(topo, "slice");
    plan::CloudIndex index(cloud);
    return plan::planHost(index, host);
  }

  // ext-net 192.168.74.0/24, net1 10.16.0.0/24, router r1 (gateway + interface), two agents.
  struct Cloud {
    std::string ext, ext_sub, net, sub, router;
  };
  Cloud basicCloud() {
    registerAgent("controller01", "dvr_snat", "172.16.0.10");
    registerAgent("compute01", "dvr", "172.16.0.11");
    Cloud c;
    c.ext = id(call("POST", "/v2.0/networks",
                    R"({"network":{"name":"ext-net","router:external":true}})", 201),
               "network");
    c.ext_sub = id(call("POST", "/v2.0/subnets",
                        json{{"subnet",
                              {{"network_id", c.ext},
                               {"cidr", "192.168.74.0/24"},
                               {"ip_version", 4},
                               {"gateway_ip", "192.168.74.1"}}}}
                            .dump(),
                        201),
                   "subnet");
    c.net = id(call("POST", "/v2.0/networks", R"({"network":{"name":"net1"}})", 201), "network");
    c.sub = id(
        call("POST", "/v2.0/subnets",
             json{{"subnet", {{"network_id", c.net}, {"cidr", "10.16.0.0/24"}, {"ip_version", 4}}}}
                 .dump(),
             201),
        "subnet");
    c.router = id(call("POST", "/v2.0/routers",
                       json{{"router",
                             {{"name", "r1"},
                              {"distributed", true},
                              {"external_gateway_info", {{"network_id", c.ext}}}}}}
                           .dump(),
                       201),
                  "router");
    call("PUT", "/v2.0/routers/" + c.router + "/add_router_interface",
         json{{"subnet_id", c.sub}}.dump(), 200);
    return c;
  }
};

}  // namespace dvr::testing
