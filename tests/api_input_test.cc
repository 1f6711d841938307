// Bad input, one test per class: every one gets Neutron's status, NeutronError type and
// message, and changes nothing a client can list. Values Neutron converts ("true",
// "1400") are accepted as Neutron accepts them.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>
#include <sstream>

#include "api_fixture.h"

namespace dvr {
namespace {

using nlohmann::json;

class ApiInput : public testing::Api {
 protected:
  struct Refusal {
    std::string method, path, body;
    int status;
    std::string type, message;
  };

  httplib::Result send(const std::string& method, const std::string& path,
                       const std::string& body) {
    if (method == "GET")
      return http.Get(path);
    if (method == "POST")
      return http.Post(path, body, "application/json");
    if (method == "PUT")
      return http.Put(path, body, "application/json");
    if (method == "PATCH")
      return http.Patch(path, body, "application/json");
    if (method == "OPTIONS")
      return http.Options(path);
    return http.Delete(path);
  }

  // Each request is refused as Neutron refuses it, and nothing changes.
  void expectRefused(const std::vector<Refusal>& cases) {
    for (const auto& bad : cases) {
      SCOPED_TRACE(bad.method + " " + bad.path + " " + bad.body.substr(0, 200));
      std::string before = everything();
      httplib::Result res = send(bad.method, bad.path, bad.body);
      ASSERT_TRUE(res) << "no answer: the server is down";
      EXPECT_EQ(res->status, bad.status) << res->body;
      json err = json::parse(res->body, nullptr, false);
      ASSERT_TRUE(err.contains("NeutronError")) << res->body;
      EXPECT_EQ(err["NeutronError"]["type"], bad.type) << res->body;
      EXPECT_EQ(err["NeutronError"]["message"], bad.message) << res->body;
      EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
      EXPECT_EQ(everything(), before) << "the refused request changed the database";
    }
  }

  std::string net(const json& attrs) { return json{{"network", attrs}}.dump(); }
  std::string subnet(const std::string& network, const json& attrs) {
    json b{{"network_id", network}, {"ip_version", 4}};
    if (attrs.is_object())
      b.update(attrs);
    return json{{"subnet", b}}.dump();
  }
  std::string port(const std::string& network, const json& attrs) {
    json b{{"network_id", network}};
    if (attrs.is_object())
      b.update(attrs);
    return json{{"port", b}}.dump();
  }
  static std::string reason(const std::string& attr, const std::string& why) {
    return "Invalid input for " + attr + ". Reason: " + why + ".";
  }
  static std::string invalidInput(const std::string& why) {
    return "Invalid input for operation: " + why + ".";
  }
};

TEST_P(ApiInput, DeepNestingIsRefusedBeforeParsing) {
  Cloud c = basicCloud();
  // 70,000 nested arrays (140 KB) used to overflow the stack; 50,000 were stored in tags.
  std::string deep = std::string(70000, '[') + std::string(70000, ']');
  std::string tags = "{\"network\":{\"tags\":" + std::string(33, '[') + std::string(33, ']') + "}}";
  std::string message = "Malformed request body: nested deeper than 32 levels";
  expectRefused({
      {"POST", "/v2.0/networks", deep, 400, "HTTPBadRequest", message},
      {"POST", "/v2.0/networks", "{\"network\":{\"tags\":" + deep + "}}", 400, "HTTPBadRequest",
       message},
      {"PUT", "/v2.0/networks/" + c.net, tags, 400, "HTTPBadRequest", message},
      {"PUT", "/dvr/v1/agents/compute01", deep, 400, "HTTPBadRequest", message},
  });
  EXPECT_TRUE(server.alive());
  // Nesting inside a string is no nesting.
  call("PUT", "/v2.0/networks/" + c.net, net({{"description", std::string(200, '[')}}), 200);
}

TEST_P(ApiInput, AttributesOfTheWrongTypeGetNeutronsReason) {
  Cloud c = basicCloud();
  std::string n = "/v2.0/networks/" + c.net;
  expectRefused({
      {"POST", "/v2.0/networks", net({{"name", 1}}), 400, "HTTPBadRequest",
       reason("name", "'1' is not a valid string")},
      {"PUT", n, net({{"description", {{"a", 1}}}}), 400, "HTTPBadRequest",
       reason("description", "'{'a': 1}' is not a valid string")},
      {"POST", "/v2.0/networks", net({{"tenant_id", 1.5}}), 400, "HTTPBadRequest",
       reason("tenant_id", "'1.5' is not a valid string")},
      {"POST", "/v2.0/routers", json{{"router", {{"name", true}}}}.dump(), 400, "HTTPBadRequest",
       reason("name", "'True' is not a valid string")},
      {"POST", "/v2.0/ports", port(c.net, {{"device_owner", json::array({"x"})}}), 400,
       "HTTPBadRequest", reason("device_owner", "'['x']' is not a valid string")},
      {"POST", "/v2.0/ports", port("net1", {}), 400, "HTTPBadRequest",
       reason("network_id", "'net1' is not a valid UUID")},
      {"POST", "/v2.0/floatingips", json{{"floatingip", {{"floating_network_id", 7}}}}.dump(), 400,
       "HTTPBadRequest", reason("floating_network_id", "'7' is not a valid UUID")},
      {"POST", "/v2.0/ports", port(c.net, {{"security_groups", 1.5}}), 400, "HTTPBadRequest",
       reason("security_groups", "'1.5' is not a valid UUID")},
      {"POST", "/v2.0/ports", port(c.net, {{"binding:profile", "x"}}), 400, "HTTPBadRequest",
       reason("binding:profile", "'x' is not a dictionary")},
      {"POST", "/v2.0/ports", port(c.net, {{"fixed_ips", "10.16.0.9"}}), 400, "HTTPBadRequest",
       reason("fixed_ips", "Invalid data format for fixed IP: '10.16.0.9'")},
      {"POST", "/v2.0/ports", port(c.net, {{"fixed_ips", {{{"ip_address", 5}}}}}), 400,
       "HTTPBadRequest", reason("fixed_ips", "'5' is not a valid IP address")},
      {"PUT", "/v2.0/subnets/" + c.sub, json{{"subnet", {{"host_routes", "str"}}}}.dump(), 400,
       "HTTPBadRequest", reason("host_routes", "Invalid data format for hostroute: 'str'")},
      {"PUT", "/v2.0/subnets/" + c.sub, json{{"subnet", {{"dns_nameservers", {1}}}}}.dump(), 400,
       "HTTPBadRequest",
       reason("dns_nameservers", "'1' is not a valid nameserver. '1' is not a valid IP address")},
      {"POST", "/v2.0/subnets", subnet(c.net, {{"cidr", "10.50.0.0/24"}, {"allocation_pools", 3}}),
       400, "HTTPBadRequest", reason("allocation_pools", "Invalid data format for IP pool: '3'")},
      {"PUT", "/v2.0/routers/" + c.router,
       json{{"router", {{"external_gateway_info", "ext"}}}}.dump(), 400, "HTTPBadRequest",
       reason("external_gateway_info", "'ext' is not a dictionary")},
      {"PUT", "/v2.0/routers/" + c.router + "/add_router_interface", R"({"subnet_id": 12})", 400,
       "BadRequest", "Bad router request: '12' is not a valid UUID."},
      {"POST", "/v2.0/subnets", subnet(c.net, {{"cidr", "10.50.0.0/24"}, {"ip_version", 5}}), 400,
       "HTTPBadRequest", reason("ip_version", "'5' is not in [4, 6]")},
  });
}

TEST_P(ApiInput, BooleansAndIntegersAreConvertedAsNeutronConverts) {
  Cloud c = basicCloud();
  expectRefused({
      {"POST", "/v2.0/networks", net({{"admin_state_up", "maybe"}}), 400, "InvalidInput",
       invalidInput("'maybe' cannot be converted to boolean")},
      {"POST", "/v2.0/networks", net({{"shared", 2}}), 400, "InvalidInput",
       invalidInput("'2' cannot be converted to boolean")},
      {"POST", "/v2.0/networks", net({{"router:external", json::array()}}), 400, "InvalidInput",
       invalidInput("'[]' cannot be converted to boolean")},
      {"POST", "/v2.0/routers",
       json{{"router", {{"external_gateway_info", {{"network_id", c.ext}, {"enable_snat", "x"}}}}}}
           .dump(),
       400, "InvalidInput", invalidInput("'x' cannot be converted to boolean")},
      {"POST", "/v2.0/networks", net({{"mtu", "abc"}}), 400, "InvalidInput",
       invalidInput("'abc' is not an integer")},
      {"POST", "/v2.0/networks", net({{"mtu", 1400.5}}), 400, "InvalidInput",
       invalidInput("'1400.5' is not an integer")},
  });
  // What Neutron converts is accepted: "true" and "1400" as strings.
  json made =
      call("POST", "/v2.0/networks", net({{"admin_state_up", "false"}, {"mtu", "1400"}}), 201);
  EXPECT_EQ(made["network"]["admin_state_up"], false);
  EXPECT_EQ(made["network"]["mtu"], 1400);
  json ext = call("POST", "/v2.0/networks", net({{"router:external", "True"}}), 201);
  EXPECT_EQ(ext["network"]["router:external"], true);
}

TEST_P(ApiInput, NamesDescriptionsAndTagsHaveNeutronsLimits) {
  Cloud c = basicCloud();
  std::string n = "/v2.0/networks/" + c.net;
  std::string long_name(256, 'n');
  expectRefused({
      {"PUT", n, net({{"name", long_name}}), 400, "HTTPBadRequest",
       reason("name", "'" + long_name + "' exceeds maximum length of 255")},
      {"POST", "/v2.0/ports", port(c.net, {{"description", std::string(100000, 'd')}}), 400,
       "HTTPBadRequest",
       reason("description", "'" + std::string(100000, 'd') + "' exceeds maximum length of 255")},
      {"PUT", n, net({{"tags", "red"}}), 400, "HTTPBadRequest",
       reason("tags", "'red' is not a list")},
      {"PUT", n, net({{"tags", {"red", 5}}}), 400, "HTTPBadRequest",
       reason("tags", "'5' is not a valid string")},
      {"PUT", n, net({{"tags", {"red", "red"}}}), 400, "HTTPBadRequest",
       reason("tags", "Duplicate items in the list: 'red, red'")},
      {"PUT", n, net({{"tags", {std::string(61, 't')}}}), 400, "HTTPBadRequest",
       reason("tags", "'" + std::string(61, 't') + "' exceeds maximum length of 60")},
  });
  call("PUT", n, net({{"name", std::string(255, 'n')}, {"tags", {"red", "blue"}}}), 200);
}

TEST_P(ApiInput, OnlyUnicastMacsAreAccepted) {
  Cloud c = basicCloud();
  auto mac = [&](const std::string& m) {
    return Refusal{
        "POST", "/v2.0/ports",    port(c.net, {{"mac_address", m}}),
        400,    "HTTPBadRequest", reason("mac_address", "'" + m + "' is not a valid MAC address")};
  };
  expectRefused({mac("00:00:00:00:00:00"), mac("ff:ff:ff:ff:ff:ff"), mac("01:00:5e:00:00:01"),
                 mac("fb:16:3e:00:00:01"), mac("fa:16:3e:zz:00:00")});
  call("POST", "/v2.0/ports", port(c.net, {{"mac_address", "fa:16:3e:00:00:01"}}), 201);
}

TEST_P(ApiInput, CidrsAreValidatedAsNeutronDoes) {
  Cloud c = basicCloud();
  auto cidr = [&](const std::string& text, int status, const std::string& type,
                  const std::string& message) {
    return Refusal{"POST", "/v2.0/subnets", subnet(c.net, {{"cidr", text}}), status, type, message};
  };
  expectRefused({
      cidr("10.7.0.5/24", 400, "HTTPBadRequest",
           reason("cidr",
                  "'10.7.0.5/24' isn't a recognized IP subnet cidr, '10.7.0.0/24' is "
                  "recommended")),
      cidr("10.7.0.0/024", 400, "HTTPBadRequest",
           reason("cidr",
                  "'10.7.0.0/024' isn't a recognized IP subnet cidr, '10.7.0.0/24' is "
                  "recommended")),
      cidr("10.7.0.0", 400, "HTTPBadRequest",
           reason("cidr",
                  "'10.7.0.0' isn't a recognized IP subnet cidr, '10.7.0.0/32' is recommended")),
      cidr("10.7.0.0/33", 400, "HTTPBadRequest",
           reason("cidr", "'10.7.0.0/33' is not a valid IP subnet")),
      cidr("224.1.0.0/16", 400, "InvalidInput",
           invalidInput("Multicast IP subnet is not supported if enable_dhcp is True")),
      cidr("127.0.0.0/8", 400, "InvalidInput",
           invalidInput("Loopback IP subnet is not supported if enable_dhcp is True")),
      cidr("0.0.0.0/8", 400, "InvalidInput",
           invalidInput("First IP '0.0.0.0' of network is not supported if enable_dhcp is True")),
      cidr("10.7.0.0/31", 400, "InvalidInput",
           invalidInput("Subnet has a prefix length that is incompatible with DHCP service "
                        "enabled")),
      {"POST", "/v2.0/subnets",
       subnet(c.net, {{"cidr", "10.7.0.0/24"}, {"gateway_ip", "10.7.0.255"}}), 400, "InvalidInput",
       invalidInput("Gateway is not valid on subnet")},
      {"POST", "/v2.0/subnets", subnet(c.net, {{"cidr", "10.7.0.0/24"}, {"gateway_ip", "x"}}), 400,
       "HTTPBadRequest", reason("gateway_ip", "'x' is not a valid IP address")},
  });
}

TEST_P(ApiInput, AllocationPoolsMustFitTheSubnetAndNotOverlap) {
  Cloud c = basicCloud();
  auto pools = [&](const json& p) {
    return subnet(c.net, {{"cidr", "10.7.0.0/24"}, {"allocation_pools", p}});
  };
  auto pool = [](const char* a, const char* b) { return json{{"start", a}, {"end", b}}; };
  expectRefused({
      {"POST", "/v2.0/subnets",
       pools(json::array({pool("10.7.0.10", "10.7.0.50"), pool("10.7.0.40", "10.7.0.90")})), 409,
       "OverlappingAllocationPools",
       "Found overlapping allocation pools: 10.7.0.10-10.7.0.50 10.7.0.40-10.7.0.90 for subnet "
       "10.7.0.0/24."},
      {"POST", "/v2.0/subnets", pools(json::array({pool("10.7.0.10", "10.7.0.255")})), 400,
       "OutOfBoundsAllocationPool",
       "The allocation pool 10.7.0.10-10.7.0.255 spans beyond the subnet cidr 10.7.0.0/24."},
      {"POST", "/v2.0/subnets", pools(json::array({pool("10.7.0.50", "10.7.0.10")})), 400,
       "InvalidAllocationPool", "The allocation pool 10.7.0.50-10.7.0.10 is not valid."},
      {"POST", "/v2.0/subnets", pools(json::array({pool("10.7.0.1", "10.7.0.10")})), 409,
       "GatewayConflictWithAllocationPools",
       "Gateway ip 10.7.0.1 conflicts with allocation pool 10.7.0.1-10.7.0.10."},
      {"POST", "/v2.0/subnets", pools(json::array({{{"start", "10.7.0.2"}}})), 400,
       "HTTPBadRequest",
       reason("allocation_pools",
              "Validation of dictionary's keys failed. Expected keys: "
              "{'start', 'end'} Provided keys: {'start'}")},
  });
}

TEST_P(ApiInput, MtuMustFitTheNetworkType) {
  Cloud c = basicCloud();
  expectRefused({
      {"POST", "/v2.0/networks", net({{"mtu", 1}}), 400, "HTTPBadRequest",
       reason("mtu", "'1' is too small - must be at least '68'")},
      {"POST", "/v2.0/networks", net({{"mtu", 1451}}), 400, "InvalidInput",
       invalidInput("Requested MTU is too big, maximum is 1450")},
      {"POST", "/v2.0/networks", net({{"mtu", 1501}, {"router:external", true}}), 400,
       "InvalidInput", invalidInput("Requested MTU is too big, maximum is 1500")},
      {"POST", "/v2.0/networks", net({{"provider:segmentation_id", 16777216}}), 400, "InvalidInput",
       invalidInput("segmentation_id out of range (1 through 16777215)")},
  });
  call("POST", "/v2.0/networks", net({{"mtu", 68}}), 201);
  call("POST", "/v2.0/networks", net({{"mtu", 1500}, {"router:external", true}}), 201);
}

TEST_P(ApiInput, ListQueriesAreCheckedAsNeutronChecksThem) {
  basicCloud();
  expectRefused({
      {"GET", "/v2.0/networks?bogus_filter=1", "", 400, "HTTPBadRequest",
       "[bogus_filter] is invalid attribute for filtering"},
      {"GET", "/v2.0/ports?limit=abc", "", 400, "BadRequest",
       "Bad limit request: Limit must be an integer 0 or greater and not 'abc'."},
      {"GET", "/v2.0/ports?limit=-1", "", 400, "BadRequest",
       "Bad limit request: Limit must be an integer 0 or greater and not '-1'."},
      {"GET", "/v2.0/routers?marker=x", "", 400, "BadRequest",
       "Bad marker request: 'x' is not a valid UUID."},
      {"GET", "/v2.0/subnets?sort_key=bogus&sort_dir=asc", "", 400, "HTTPBadRequest",
       "['bogus'] is invalid attribute for sort_keys"},
      {"GET", "/v2.0/subnets?sort_key=name&sort_dir=up", "", 400, "HTTPBadRequest",
       "['up'] is invalid value for sort_dirs, valid value is 'asc' and 'desc'"},
      {"GET", "/v2.0/subnets?sort_key=name", "", 400, "HTTPBadRequest",
       "The number of sort_keys and sort_dirs must be same"},
      {"GET", "/v2.0/networks?admin_state_up=maybe", "", 400, "InvalidInput",
       invalidInput("'maybe' cannot be converted to boolean")},
  });
  EXPECT_EQ(call("GET", "/v2.0/networks?router:external=True", "", 200)["networks"].size(), 1u);
  EXPECT_EQ(
      call("GET", "/v2.0/networks?limit=10&sort_key=name&sort_dir=asc", "", 200)["networks"].size(),
      2u);
}

TEST_P(ApiInput, UnsupportedMethodsGet405WithNeutronsBody) {
  Cloud c = basicCloud();
  auto no = [](const std::string& method, const std::string& path) {
    return Refusal{method,
                   path,
                   method == "GET" ? "" : "{}",
                   405,
                   "HTTPMethodNotAllowed",
                   "The method " + method + " is not allowed for this resource."};
  };
  expectRefused({no("PATCH", "/v2.0/networks/" + c.net), no("OPTIONS", "/v2.0/networks"),
                 no("DELETE", "/v2.0/extensions"), no("DELETE", "/v2.0/networks"),
                 no("PUT", "/v2.0/ports"), no("POST", "/v2.0/networks/" + c.net), no("POST", "/")});
}

TEST_P(ApiInput, AgentEndpointsCheckTheirParameters) {
  basicCloud();
  auto bad = [](const std::string& path, const std::string& attr, const std::string& why) {
    return Refusal{"GET", path, "", 400, "HTTPBadRequest", reason(attr, why)};
  };
  expectRefused({
      bad("/dvr/v1/topology?since=abc", "since", "'abc' is not an integer"),
      bad("/dvr/v1/topology?since=-1", "since", "'-1' should be non-negative"),
      bad("/dvr/v1/topology?since=99999999999999999999999", "since",
          "'99999999999999999999999' is not a revision"),
      bad("/dvr/v1/topology?since=0&wait=1.5", "wait", "'1.5' is not an integer"),
      bad("/dvr/v1/topology?since=0&host=a%20b", "host", "'a b' is not a valid host name"),
      bad("/dvr/v1/topology?since=0&digest=zz", "digest", "'zz' is not a digest this server gave"),
      {"PUT", "/dvr/v1/agents/compute09", R"({"agent_mode":"dvr","tunnel_ip":7})", 400,
       "HTTPBadRequest", reason("tunnel_ip", "'7' is not a valid IP address")},
      {"PUT", "/dvr/v1/agents/compute09",
       R"({"agent_mode":"dvr","tunnel_ip":"172.16.0.9","uplinks":{"*":5}})", 400, "HTTPBadRequest",
       reason("uplinks", "'5' is not a valid interface name")},
      {"PUT", "/dvr/v1/agents/compute09", R"({"agent_mode":1,"tunnel_ip":"172.16.0.9"})", 400,
       "HTTPBadRequest", reason("agent_mode", "'1' is not in ['dvr', 'dvr_snat']")},
  });
  // An agent's heartbeat carries its last reconcile's outcome.
  call("PUT", "/dvr/v1/agents/compute01",
       json{{"agent_mode", "dvr"},
            {"tunnel_ip", "172.16.0.11"},
            {"uplinks", {{"*", "eth1"}}},
            {"reconcile", {{"result", "ok"}, {"changes", 3}}}}
           .dump(),
       200);
  expectRefused({{"PUT", "/dvr/v1/agents/compute01",
                  R"({"agent_mode":"dvr","tunnel_ip":"172.16.0.11","reconcile":"ok"})", 400,
                  "HTTPBadRequest", reason("reconcile", "'ok' is not a dictionary")}});
  // An oversized wait is clamped to the server's longest (here --max-wait-ms's default,
  // 30 s): with a revision that exists the answer comes at once.
  httplib::Result res = http.Get("/dvr/v1/topology?since=0&wait=99999999999");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiInput, ::testing::Values("sqlite", "postgresql"));

// A database that fails (here a file size limit, as a full disk) answers 503 naming no
// internals, logs the cause, and keeps serving what it holds.
TEST(ApiDatabase, AFullDiskIsA503WithTheCauseInTheLog) {
  testing::TestDatabase db("sqlite");
  std::string log = "/tmp/dvr-api-disk-full-" + std::to_string(::getpid()) + ".log";
  testing::ServerProcess server(
      db.url(), {},
      [] {
        ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails instead of killing
        rlimit small{256 << 10, 256 << 10};
        ::setrlimit(RLIMIT_FSIZE, &small);
      },
      log);
  httplib::Client http(server.url());
  int created = 0, status = 0;
  std::string description(255, 'd'), body;
  for (int i = 0; i < 2000; ++i) {
    httplib::Result res = http.Post(
        "/v2.0/networks",
        json{{"network", {{"name", "n" + std::to_string(i)}, {"description", description}}}}.dump(),
        "application/json");
    ASSERT_TRUE(res) << "the server died after " << created << " networks";
    status = res->status;
    body = res->body;
    if (status != 201)
      break;
    ++created;
  }
  ASSERT_EQ(status, 503) << body;
  EXPECT_GT(created, 0) << "the database failed before it was full";
  json err = json::parse(body);
  EXPECT_EQ(err["NeutronError"]["type"], "ServiceUnavailable");
  EXPECT_EQ(err["NeutronError"]["message"],
            "The database is unavailable; the request was not carried out. Retry later.");
  // Reads go on, and show every network that was acknowledged.
  httplib::Result res = http.Get("/v2.0/networks");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["networks"].size(), size_t(created));
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("POST /v2.0/networks: database error: SQLite " + db.url().substr(7) +
                            ": disk I/O error (SQLite extended code 778)"),
            std::string::npos)
      << text.str();
  EXPECT_EQ(text.str().find("cannot rollback"), std::string::npos) << text.str();
  EXPECT_TRUE(server.alive());
  ::unlink(log.c_str());
}

}  // namespace
}  // namespace dvr
