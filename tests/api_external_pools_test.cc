// An external subnet's allocation pools changed through the API (`openstack subnet set
// --allocation-pool` / `--no-allocation-pool`): as in Neutron, what was given out stays
// where it is, inside the new pools or not (a router's qg- address, a floating IP), so
// their traffic does not move; only new allocations come from the new pools. A bad pool
// is refused with Neutron's error and changes nothing.
#include <gtest/gtest.h>

#include "api_fixture.h"
#include "model/net.h"

namespace dvr {
namespace {

using nlohmann::json;

class ApiExternalPools : public testing::Api {
 protected:
  std::string gatewayIp(const std::string& router) {
    json r = call("GET", "/v2.0/routers/" + router, "", 200)["router"];
    return r["external_gateway_info"]["external_fixed_ips"][0]["ip_address"];
  }
  json newFip(const std::string& ext) {
    return call("POST", "/v2.0/floatingips",
                json{{"floatingip", {{"floating_network_id", ext}}}}.dump(), 201)["floatingip"];
  }
  json setPools(const std::string& subnet, const json& pools, int status) {
    return call("PUT", "/v2.0/subnets/" + subnet,
                json{{"subnet", {{"allocation_pools", pools}}}}.dump(), status);
  }
};

TEST_P(ApiExternalPools, ANewPoolKeepsWhatWasGivenOutAndAllocatesTheRestFromItself) {
  Cloud c = basicCloud();
  std::string qg = gatewayIp(c.router);
  json fip = newFip(c.ext);
  std::string fip_ip = fip["floating_ip_address"];
  // dvr places external addresses by a hash of their owner: the new pool is a window of
  // the subnet that holds neither.
  auto last = [](const std::string& ip) { return Ipv4::parse(ip)->value() & 0xff; };
  uint32_t from = 2;
  auto inWindow = [&](const std::string& ip) { return last(ip) >= from && last(ip) <= from + 18; };
  while (inWindow(qg) || inWindow(fip_ip))
    from += 20;
  const std::string start = "192.168.74." + std::to_string(from),
                    end = "192.168.74." + std::to_string(from + 18);
  const json pools = json::array({{{"start", start}, {"end", end}}});
  json sn = setPools(c.ext_sub, pools, 200)["subnet"];
  EXPECT_EQ(sn["allocation_pools"], pools);
  // Nothing given out moved.
  EXPECT_EQ(gatewayIp(c.router), qg);
  EXPECT_EQ(call("GET", "/v2.0/floatingips/" + fip["id"].get<std::string>(), "",
                 200)["floatingip"]["floating_ip_address"],
            fip_ip);
  // A new floating IP comes from the new pool.
  std::string next = newFip(c.ext)["floating_ip_address"];
  EXPECT_TRUE(inWindow(next)) << next;
}

TEST_P(ApiExternalPools, ABadPoolIsRefusedWithNeutronsErrorAndChangesNothing) {
  Cloud c = basicCloud();
  std::string before = everything();
  json e =
      setPools(c.ext_sub, json::array({{{"start", "192.168.74.10"}, {"end", "192.168.75.20"}}}),
               400)["NeutronError"];
  EXPECT_EQ(e["type"], "OutOfBoundsAllocationPool") << e;
  e = setPools(c.ext_sub, json::array({{{"start", "192.168.74.30"}, {"end", "192.168.74.20"}}}),
               400)["NeutronError"];
  EXPECT_EQ(e["type"], "InvalidAllocationPool") << e;
  e = setPools(c.ext_sub, json::array({{{"start", "192.168.74.1"}, {"end", "192.168.74.20"}}}),
               409)["NeutronError"];  // holds the gateway
  EXPECT_EQ(e["type"], "GatewayConflictWithAllocationPools") << e;
  setPools(c.ext_sub, json::array(), 400);
  EXPECT_EQ(everything(), before);
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiExternalPools, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace dvr
