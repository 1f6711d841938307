// The incremental write paths (server/incremental_port.h, incremental_port_edit.h,
// incremental_fip.h: ports added, deleted and bound to another host, attributes changed,
// floating IPs made, (dis)associated and deleted) against the
// full one: a fixed-seed random sequence of Neutron writes through the API handler, after
// each of which the server's cached state and cloud must equal what a server that reads
// the same rows and resolves them whole makes of them, and a refused write must leave
// every row as it was.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "ipam/resolve.h"
#include "server/incremental_fip.h"
#include "server/incremental_port.h"
#include "server/incremental_port_edit.h"
#include "server/neutron_api.h"
#include "store/store.h"

namespace dvr::testing {
namespace {

using nlohmann::json;
using server::ApiRequest;
using server::ApiResponse;
using server::NeutronApi;

// A SQLite database removed when the test ends, passed or not.
struct TempDatabase {
  std::string path = "/tmp/dvr-incremental-test-" + std::to_string(::getpid()) + ".db";
  TempDatabase() { std::remove(path.c_str()); }
  ~TempDatabase() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
      std::remove((path + suffix).c_str());
  }
};

struct Client {
  NeutronApi& api;
  ApiResponse call(const std::string& method, const std::string& path, const json& body) {
    ApiRequest r;
    r.method = method;
    r.path = path;
    r.body = body.is_null() ? "" : body.dump();
    r.context = server::noauthContext(r);
    return api.handle(r);
  }
};

std::string rowsOf(store::Store& store) {
  std::string all;
  for (const auto& r : store.read().rows)
    all += r.key + "=" + r.body + "\n";
  return all;
}

void registerAgent(NeutronApi& api, const std::string& host, const std::string& mode,
                   const std::string& tunnel_ip) {
  api.registerAgent(
      host,
      json{{"agent_mode", mode}, {"tunnel_ip", tunnel_ip}, {"uplinks", {{"*", "eth1"}}}}.dump());
}

TEST(IncrementalWrite, EveryStepEqualsTheFullPathFromTheSameRows) {
  TempDatabase db;
  auto store = store::openStore("sqlite:" + db.path);
  NeutronApi api(*store, 3600);
  Client c{api};
  registerAgent(api, "snat1", "dvr_snat", "172.16.0.10");
  for (int h = 1; h <= 3; ++h)
    registerAgent(api, "compute" + std::to_string(h), "dvr", "172.16.0." + std::to_string(10 + h));
  auto idOf = [](const ApiResponse& r, const char* kind) {
    return json::parse(r.body).at(kind).at("id").get<std::string>();
  };
  std::string ext = idOf(
      c.call("POST", "/v2.0/networks", {{"network", {{"name", "ext"}, {"router:external", true}}}}),
      "network");
  c.call("POST", "/v2.0/subnets",
         {{"subnet", {{"network_id", ext}, {"cidr", "192.168.74.0/24"}, {"ip_version", 4}}}});

  std::mt19937 rng(12);
  auto pick = [&](const std::vector<std::string>& v) {
    return v.empty() ? std::string("no-such-id") : v[rng() % v.size()];
  };
  std::vector<std::string> networks, subnets, ports, routers, fips;
  const std::vector<std::string> hosts{"compute1", "compute2", "compute3", "", "unknown-host"};
  int refused = 0;
  for (int step = 0; step < 300; ++step) {
    std::string before = rowsOf(*store);
    std::string what;
    ApiResponse r;
    // What this write allocated for the port or floating IP it created (not what it asked
    // for): unpinned, the full path must allocate the same again.
    std::string created_port, created_fip;
    switch (rng() % 13) {
      case 0: {
        what = "network";
        r = c.call("POST", "/v2.0/networks", {{"network", {{"name", "n"}}}});
        if (r.status == 201)
          networks.push_back(idOf(r, "network"));
        break;
      }
      case 1: {  // small subnets, so that pools run out
        what = "subnet";
        int k = static_cast<int>(rng() % 200);
        r = c.call("POST", "/v2.0/subnets",
                   {{"subnet",
                     {{"network_id", pick(networks)},
                      {"cidr", "10." + std::to_string(k) + ".0.0/29"},
                      {"ip_version", 4}}}});
        if (r.status == 201)
          subnets.push_back(idOf(r, "subnet"));
        break;
      }
      case 2:
      case 3:
      case 4: {
        what = "port";
        json p{{"network_id", rng() % 10 ? pick(networks) : ext}, {"binding:host_id", pick(hosts)}};
        // Now and then a few before it on the same network, one after another: each
        // allocates from what the one before left (the kept index of the incremental path).
        for (int more = rng() % 3 == 0 ? 3 : 0; more > 0; --more) {
          auto q = c.call("POST", "/v2.0/ports", {{"port", p}});
          if (q.status == 201)
            ports.push_back(idOf(q, "port"));
        }
        before = rowsOf(*store);  // what the last one may not change if refused
        if (rng() % 6 == 0)
          p["fixed_ips"] = json::array({{{"subnet_id", pick(subnets)}}});
        if (rng() % 10 == 0)
          p["mac_address"] = "fa:16:3e:00:00:0" + std::to_string(rng() % 3);
        if (rng() % 8 == 0)
          p["port_security_enabled"] = false;
        r = c.call("POST", "/v2.0/ports", {{"port", p}});
        if (r.status == 201)
          ports.push_back(idOf(r, "port"));
        if (r.status == 201 && !p.contains("mac_address"))
          created_port = ports.back();
        break;
      }
      case 5: {
        what = "port update";
        // A name alone (attribute rows), a host alone (Nova binding a port), or both.
        json p{{"name", "x" + std::to_string(rng() % 3)}};
        if (rng() % 3 != 0)
          p["binding:host_id"] = pick(hosts);
        if (rng() % 3 == 0)
          p.erase("name");
        r = c.call("PUT", "/v2.0/ports/" + pick(ports), {{"port", p}});
        break;
      }
      case 6: {
        what = "port delete";
        std::string id = pick(ports);
        auto shown = c.call("GET", "/v2.0/ports/" + id, nullptr);
        std::string network = shown.status == 200
                                  ? json::parse(shown.body)["port"]["network_id"].get<std::string>()
                                  : pick(networks);
        r = c.call("DELETE", "/v2.0/ports/" + id, nullptr);
        if (r.status == 204)
          std::erase(ports, id);
        if (r.status != 204 || rng() % 2)
          break;
        // Now and then one more port made where it was: it takes the address freed (the
        // kept index of the incremental paths must have released it).
        what = "port delete, then a port on its network";
        before = rowsOf(*store);
        r = c.call("POST", "/v2.0/ports",
                   {{"port", {{"network_id", network}, {"binding:host_id", pick(hosts)}}}});
        if (r.status == 201) {
          ports.push_back(idOf(r, "port"));
          created_port = ports.back();
        }
        break;
      }
      case 7: {
        what = "router";
        r = c.call("POST", "/v2.0/routers",
                   {{"router", {{"external_gateway_info", {{"network_id", ext}}}}}});
        if (r.status == 201)
          routers.push_back(idOf(r, "router"));
        break;
      }
      case 8: {
        what = "interface";
        r = c.call("PUT", "/v2.0/routers/" + pick(routers) + "/add_router_interface",
                   {{"subnet_id", pick(subnets)}});
        break;
      }
      case 9: {
        what = "floating IP";
        json f{{"floating_network_id", ext}};
        if (rng() % 2)
          f["port_id"] = pick(ports);
        r = c.call("POST", "/v2.0/floatingips", {{"floatingip", f}});
        if (r.status == 201)
          fips.push_back(idOf(r, "floatingip"));
        if (r.status == 201)
          created_fip = fips.back();
        break;
      }
      case 10: {
        what = "floating IP (dis)association";
        json port = rng() % 2 ? json(pick(ports)) : json(nullptr);
        r = c.call("PUT", "/v2.0/floatingips/" + pick(fips), {{"floatingip", {{"port_id", port}}}});
        break;
      }
      case 12: {
        what = "floating IP delete";
        std::string id = pick(fips);
        r = c.call("DELETE", "/v2.0/floatingips/" + id, nullptr);
        if (r.status == 204)
          std::erase(fips, id);
        break;
      }
      case 11: {
        what = "network delete";
        std::string id = pick(networks);
        r = c.call("DELETE", "/v2.0/networks/" + id, nullptr);
        if (r.status == 204)
          std::erase(networks, id);
        break;
      }
    }
    SCOPED_TRACE("step " + std::to_string(step) + ": " + what + " -> " + std::to_string(r.status) +
                 " " + r.body);
    ASSERT_LT(r.status, 500);
    if (r.status >= 400) {
      ++refused;
      EXPECT_EQ(rowsOf(*store), before) << "a refused write changed rows";
    }
    // The full path from the same rows: a server that has cached nothing.
    NeutronApi full(*store, 3600);
    auto is = api.snapshot();
    auto should = full.snapshot();
    ASSERT_EQ(is->revision, should->revision);
    EXPECT_TRUE(is->state.topo == should->state.topo) << "the cached topology differs";
    EXPECT_EQ(is->state.attrs, should->state.attrs);
    EXPECT_EQ(is->state.agents, should->state.agents);
    ASSERT_TRUE(is->cloud == should->cloud) << "the cached cloud differs from a whole resolve";
    server::ApiState repinned = should->state;
    repinned.pinAllocations(should->cloud);
    EXPECT_TRUE(repinned.topo == should->state.topo) << "a stored allocation is not pinned";
    server::ApiState unpinned = should->state;
    for (auto& v : unpinned.topo.vms) {
      if (v.name == created_port) {
        v.mac.reset();
        v.ip.reset();
      }
    }
    for (auto& f : unpinned.topo.floating_ips) {
      if (f.id == created_fip)
        f.address.reset();
    }
    EXPECT_TRUE(ipam::resolve(unpinned.topologyForResolve(), "unpinned") == is->cloud)
        << "the write allocated otherwise than the full path";
  }
  // The sequence took every path, and refused some writes.
  EXPECT_GT(server::appendedPortsResolved(), 10u);
  EXPECT_GT(server::floatingIpsResolved(), 10u);
  EXPECT_GT(server::floatingIpDeletesResolved(), 5u);
  EXPECT_GT(server::removedPortsResolved(), 5u);
  EXPECT_GT(server::reboundPortsResolved(), 5u);
  EXPECT_GT(server::attributeWritesResolved(), 5u);
  EXPECT_GT(refused, 10);
}

// The incremental paths one after another, as a VM's life makes them: a port made
// unbound, bound by Nova, renamed, deleted; the next port on that network takes the
// address it freed, as Neutron's lowest-free allocation gives it.
TEST(IncrementalWrite, ADeletedPortsAddressGoesToTheNextPortOnItsSubnet) {
  TempDatabase db;
  auto store = store::openStore("sqlite:" + db.path);
  NeutronApi api(*store, 3600);
  Client c{api};
  registerAgent(api, "compute1", "dvr", "172.16.0.11");
  auto body = [](const ApiResponse& r) { return json::parse(r.body); };
  std::string net =
      body(c.call("POST", "/v2.0/networks", {{"network", {{"name", "n"}}}})).at("network").at("id");
  c.call("POST", "/v2.0/subnets",
         {{"subnet", {{"network_id", net}, {"cidr", "10.9.0.0/24"}, {"ip_version", 4}}}});
  auto addressOf = [&](const ApiResponse& r) {
    return body(r).at("port").at("fixed_ips").at(0).at("ip_address").get<std::string>();
  };
  std::vector<std::string> ids, addresses;
  for (int i = 0; i < 3; ++i) {
    auto r = c.call("POST", "/v2.0/ports", {{"port", {{"network_id", net}}}});
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(body(r).at("port").at("id"));
    addresses.push_back(addressOf(r));
  }
  uint64_t appended = server::appendedPortsResolved(), removed = server::removedPortsResolved(),
           rebound = server::reboundPortsResolved(), attributes = server::attributeWritesResolved();
  auto bound =
      c.call("PUT", "/v2.0/ports/" + ids[0], {{"port", {{"binding:host_id", "compute1"}}}});
  ASSERT_EQ(bound.status, 200) << bound.body;
  EXPECT_EQ(body(bound)["port"]["binding:host_id"], "compute1");
  auto named = c.call("PUT", "/v2.0/ports/" + ids[0], {{"port", {{"name", "vm-a"}}}});
  ASSERT_EQ(named.status, 200) << named.body;
  EXPECT_EQ(body(named)["port"]["name"], "vm-a");
  ASSERT_EQ(c.call("DELETE", "/v2.0/ports/" + ids[0], nullptr).status, 204);
  auto next = c.call("POST", "/v2.0/ports", {{"port", {{"network_id", net}}}});
  ASSERT_EQ(next.status, 201) << next.body;
  EXPECT_EQ(addressOf(next), addresses[0]) << "the freed address is the lowest free one";
  EXPECT_EQ(server::reboundPortsResolved(), rebound + 1);
  EXPECT_EQ(server::attributeWritesResolved(), attributes + 1);
  EXPECT_EQ(server::removedPortsResolved(), removed + 1);
  EXPECT_EQ(server::appendedPortsResolved(), appended + 1);
  NeutronApi full(*store, 3600);
  EXPECT_TRUE(api.snapshot()->cloud == full.snapshot()->cloud);
}

// A link-local pair moved on from its first MAC by MACs in use: deleting a port whose MAC
// it passed over gives the full path's pair that MAC, so only those MACs take the full
// path. The probe wraps at 2^24 as MacPool's does.
TEST(IncrementalWrite, APairsProbePassesTheMacsBetweenItsFirstAndTheOneItTook) {
  server::PortIndex::Probe p{0x000010, 0x000012};
  EXPECT_TRUE(p.passes(0xfa163e000010ULL));
  EXPECT_TRUE(p.passes(0xfa163e000011ULL));
  EXPECT_FALSE(p.passes(0xfa163e000012ULL)) << "its own MAC";
  EXPECT_FALSE(p.passes(0xfa163e00000fULL));
  server::PortIndex::Probe wrapped{0xfffffe, 0x000001};
  EXPECT_TRUE(wrapped.passes(0xfa163efffffeULL));
  EXPECT_TRUE(wrapped.passes(0xfa163effffffULL));
  EXPECT_TRUE(wrapped.passes(0xfa163e000000ULL));
  EXPECT_FALSE(wrapped.passes(0xfa163e000001ULL));
  EXPECT_FALSE(wrapped.passes(0xfa163e000005ULL));
}

}  // namespace
}  // namespace dvr::testing
