// `dvr server --auth keystone` against Debian's real Keystone (scripts/start-keystone.sh,
// whose directory DVR_TEST_KEYSTONE names; scripts/test.sh starts one when root): tokens
// are required and checked, the `openstack` CLI with password authentication drives dvr,
// and two projects (demo, alt) see and change only their own resources, plus shared and
// external networks. Each refusal is checked to change nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api_support.h"
#include "server/agent_credential.h"

namespace dvr::testing {
namespace {

using nlohmann::json;

const std::string kAgentSecret = "the-keystone-tests-agent-secret-0123456789";

// A user's OS_* variables, from DIR/env.<user> (export NAME=VALUE lines).
std::map<std::string, std::string> readEnv(const std::string& file) {
  std::map<std::string, std::string> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("export ", 0) != 0)
      continue;
    auto eq = line.find('=');
    out[line.substr(7, eq - 7)] = line.substr(eq + 1);
  }
  return out;
}

class Keystone : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const char* dir = std::getenv("DVR_TEST_KEYSTONE");
    if (!dir || !*dir)
      GTEST_SKIP() << "DVR_TEST_KEYSTONE is not set (scripts/start-keystone.sh DIR, then "
                      "DVR_TEST_KEYSTONE=DIR)";
    if (GetParam() == "postgresql" && !std::getenv("DVR_TEST_PG"))
      GTEST_SKIP() << "DVR_TEST_PG is not set";
    dir_ = dir;
    for (const char* u : {"admin", "demo", "alt", "dvr"})
      env_[u] = readEnv(dir_ + (std::string(u) == "admin" ? "/env" : "/env." + std::string(u)));
    ASSERT_FALSE(env_["dvr"]["OS_AUTH_URL"].empty()) << "no " << dir_ << "/env.dvr";
    db_ = std::make_unique<TestDatabase>(GetParam());
    ASSERT_TRUE(db_->ok());
    secret_file_ = "/tmp/dvr-keystone-test-secret-" + std::to_string(::getpid());
    std::ofstream(secret_file_) << kAgentSecret;
    log_ = "/tmp/dvr-keystone-test-" + std::to_string(::getpid()) + ".log";
    auto service = env_["dvr"];
    server_ = std::make_unique<ServerProcess>(
        db_->url(),
        std::vector<std::string>{"--auth", "keystone", "--auth-url", service["OS_AUTH_URL"],
                                 "--agent-secret-file", secret_file_},
        [service] {
          for (const auto& [k, v] : service)
            ::setenv(k.c_str(), v.c_str(), 1);
        },
        log_);
    http_ = std::make_unique<httplib::Client>(server_->url());
    ASSERT_TRUE(server_->alive()) << "dvr server did not start: " << sh("cat " + log_).out;
    for (const char* u : {"admin", "demo", "alt"})
      token_[u] = issue(u);
  }
  void TearDown() override {
    http_.reset();
    server_.reset();
    db_.reset();
    if (!secret_file_.empty())
      ::unlink(secret_file_.c_str());
    if (!log_.empty())
      ::unlink(log_.c_str());
  }

  // A project-scoped token of `user`, issued by Keystone with its password.
  std::string issue(const std::string& user) {
    auto& e = env_[user];
    std::string url = e["OS_AUTH_URL"];
    httplib::Client ks(url.substr(0, url.find('/', 7)));
    json body{
        {"auth",
         {{"identity",
           {{"methods", {"password"}},
            {"password",
             {{"user",
               {{"name", e["OS_USERNAME"]},
                {"domain", {{"id", "default"}}},
                {"password", e["OS_PASSWORD"]}}}}}}},
          {"scope",
           {{"project", {{"name", e["OS_PROJECT_NAME"]}, {"domain", {{"id", "default"}}}}}}}}}};
    auto res = ks.Post("/v3/auth/tokens", body.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 201) << user;
    return res ? res->get_header_value("X-Subject-Token") : "";
  }
  std::string projectOf(const std::string& user) {
    auto res = call(user, "GET", "/v2.0/networks?fields=id", "", 200);  // any authenticated call
    (void)res;
    std::string url = env_[user]["OS_AUTH_URL"];
    httplib::Client ks(url.substr(0, url.find('/', 7)));
    auto v = ks.Get("/v3/auth/tokens",
                    {{"X-Auth-Token", token_[user]}, {"X-Subject-Token", token_[user]}});
    return json::parse(v->body)["token"]["project"]["id"];
  }

  httplib::Result raw(const std::string& user, const std::string& method, const std::string& path,
                      const std::string& body) {
    httplib::Headers h;
    if (!user.empty())
      h.emplace("X-Auth-Token", token_.count(user) ? token_[user] : user);
    if (method == "GET")
      return http_->Get(path, h);
    if (method == "POST")
      return http_->Post(path, h, body, "application/json");
    if (method == "PUT")
      return http_->Put(path, h, body, "application/json");
    return http_->Delete(path, h);
  }
  json call(const std::string& user, const std::string& method, const std::string& path,
            const std::string& body, int status) {
    auto res = raw(user, method, path, body);
    EXPECT_TRUE(res) << method << " " << path;
    if (!res)
      return json();
    EXPECT_EQ(res->status, status)
        << user << " " << method << " " << path << " " << body << " -> " << res->body;
    return res->body.empty() ? json() : json::parse(res->body, nullptr, false);
  }
  // Everything, as the admin lists it: a refusal must leave it as it was.
  std::string everything() {
    std::string all;
    for (const char* c : {"networks", "subnets", "ports", "routers", "floatingips", "agents"})
      all += raw("admin", "GET", std::string("/v2.0/") + c, "")->body;
    return all;
  }
  std::set<std::string> names(const std::string& user, const std::string& collection,
                              const char* key = "name") {
    std::set<std::string> out;
    json list = call(user, "GET", "/v2.0/" + collection, "", 200);  // outlives the loop
    std::string plural = collection;  // security_groups for security-groups
    std::replace(plural.begin(), plural.end(), '-', '_');
    for (const auto& x : list[plural])
      out.insert(x.value(key, std::string("")));
    return out;
  }
  std::string create(const std::string& user, const std::string& collection, const char* one,
                     const json& attrs) {
    json j = call(user, "POST", "/v2.0/" + collection, json{{one, attrs}}.dump(), 201);
    return j[one].value("id", std::string(""));
  }
  void registerAgent(const std::string& host, const std::string& mode, const std::string& ip) {
    json body{{"agent_mode", mode}, {"tunnel_ip", ip}, {"uplinks", {{"*", "eth1"}}}};
    auto res = http_->Put(
        "/dvr/v1/agents/" + host,
        {{"X-DVR-Agent-Host", host}, {"X-DVR-Agent-Key", server::agentKey(kAgentSecret, host)}},
        body.dump(), "application/json");
    ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
  }
  // The `openstack` CLI as `user`, with its password, on this dvr server: the catalog's
  // network endpoint is not this test's server, and openstacksdk takes another only from
  // a clouds.yaml (network_endpoint_override), written per call and removed after.
  Result openstack(const std::string& user, const std::string& args) {
    auto& e = env_[user];
    std::string file = "/tmp/dvr-keystone-test-clouds-" + std::to_string(::getpid()) + ".yaml";
    std::ofstream(file) << "clouds:\n  dvr:\n    auth:\n      auth_url: " << e["OS_AUTH_URL"]
                        << "\n      username: " << e["OS_USERNAME"]
                        << "\n      password: " << e["OS_PASSWORD"]
                        << "\n      project_name: " << e["OS_PROJECT_NAME"]
                        << "\n      user_domain_name: Default\n      project_domain_name: Default"
                        << "\n    region_name: RegionOne\n    identity_api_version: 3"
                        << "\n    network_endpoint_override: " << server_->url() << "\n";
    Result r =
        sh("env -i PATH=\"$PATH\" HOME=\"$HOME\" NO_PROXY=127.0.0.1 OS_CLIENT_CONFIG_FILE=" + file +
           " OS_CLOUD=dvr openstack " + args);
    ::unlink(file.c_str());
    return r;
  }
  static std::string type(const json& j) { return j["NeutronError"].value("type", ""); }

  std::string dir_, secret_file_, log_;
  std::map<std::string, std::map<std::string, std::string>> env_;
  std::map<std::string, std::string> token_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_P(Keystone, ATokenIsRequiredAndAnInvalidOneIs401) {
  const std::string kBody =
      R"({"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}})";
  std::string before = everything();
  for (const std::string& who : {std::string(), std::string("gAAAAAnot-a-real-token")}) {
    for (const char* method : {"GET", "POST", "DELETE"}) {
      std::string path = std::string(method) == "DELETE" ? "/v2.0/networks/x" : "/v2.0/networks";
      auto res = raw(who, method, path, R"({"network":{"name":"sneaky"}})");
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 401) << method << " " << res->body;
      EXPECT_EQ(res->body, kBody);
      EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
      EXPECT_EQ(res->get_header_value("WWW-Authenticate"),
                "Keystone uri=\"" + env_["dvr"]["OS_AUTH_URL"] + "\"");
    }
  }
  EXPECT_EQ(everything(), before) << "a request without a valid token changed something";
  EXPECT_EQ(names("admin", "networks").count("sneaky"), 0u);
  // The versions document is public, as Neutron's; the API and agent endpoints are not.
  EXPECT_EQ(raw("", "GET", "/", "")->status, 200);
  auto agents = raw("", "GET", "/dvr/v1/agents", "");
  EXPECT_EQ(agents->status, 401) << agents->body;
  EXPECT_EQ(raw("demo", "GET", "/dvr/v1/agents", "")->status, 403) << "members are not admins";
  EXPECT_EQ(raw("admin", "GET", "/dvr/v1/agents", "")->status, 200);
}

TEST_P(Keystone, OpenstackCliWithPasswordsSeesOnlyItsOwnProject) {
  Result demo_net = openstack("demo", "network create demo-net -f value -c id");
  ASSERT_EQ(demo_net.rc, 0) << demo_net.out;
  std::string demo_id = demo_net.out.substr(0, demo_net.out.find('\n'));
  ASSERT_EQ(openstack("demo",
                      "subnet create demo-sub --network demo-net --subnet-range "
                      "10.1.0.0/24 -f value -c id")
                .rc,
            0);
  ASSERT_EQ(openstack("alt", "network create alt-net -f value -c id").rc, 0);
  ASSERT_EQ(openstack("admin", "network create --share shared-net -f value -c id").rc, 0);

  Result demo_sees = openstack("demo", "network list -f value -c Name");
  EXPECT_EQ(demo_sees.rc, 0) << demo_sees.out;
  EXPECT_NE(demo_sees.out.find("demo-net"), std::string::npos) << demo_sees.out;
  EXPECT_NE(demo_sees.out.find("shared-net"), std::string::npos) << demo_sees.out;
  EXPECT_EQ(demo_sees.out.find("alt-net"), std::string::npos) << demo_sees.out;
  Result alt_sees = openstack("alt", "network list -f value -c Name");
  EXPECT_NE(alt_sees.out.find("alt-net"), std::string::npos) << alt_sees.out;
  EXPECT_NE(alt_sees.out.find("shared-net"), std::string::npos) << alt_sees.out;
  EXPECT_EQ(alt_sees.out.find("demo-net"), std::string::npos) << alt_sees.out;
  EXPECT_EQ(openstack("alt", "subnet list -f value -c Name").out.find("demo-sub"),
            std::string::npos);

  std::string before = everything();
  Result del = openstack("alt", "network delete " + demo_id);
  EXPECT_NE(del.rc, 0) << del.out;
  EXPECT_EQ(everything(), before) << "alt deleted demo's network";
  EXPECT_NE(openstack("demo", "network show demo-net -f value -c id").out.find(demo_id),
            std::string::npos);
}

TEST_P(Keystone, ProjectsAreIsolatedAndAnswer404ForTheOthersResources) {
  registerAgent("controller01", "dvr_snat", "172.16.0.10");
  registerAgent("compute01", "dvr", "172.16.0.11");
  std::string ext =
      create("admin", "networks", "network", {{"name", "ext-net"}, {"router:external", true}});
  std::string ext_sub = create(
      "admin", "subnets", "subnet",
      {{"network_id", ext}, {"cidr", "192.168.74.0/24"}, {"ip_version", 4}, {"name", "ext-sub"}});
  std::string shared =
      create("admin", "networks", "network", {{"name", "shared-net"}, {"shared", true}});
  std::string shared_sub = create(
      "admin", "subnets", "subnet",
      {{"network_id", shared}, {"cidr", "10.9.0.0/24"}, {"ip_version", 4}, {"name", "shared-sub"}});

  std::string net = create("demo", "networks", "network", {{"name", "demo-net"}});
  std::string sub = create("demo", "subnets", "subnet",
                           {{"network_id", net}, {"cidr", "10.1.0.0/24"}, {"ip_version", 4}});
  std::string port = create("demo", "ports", "port", {{"network_id", net}, {"name", "demo-port"}});
  std::string router =
      create("demo", "routers", "router",
             {{"name", "demo-router"}, {"external_gateway_info", {{"network_id", ext}}}});
  call("demo", "PUT", "/v2.0/routers/" + router + "/add_router_interface",
       json{{"subnet_id", sub}}.dump(), 200);
  std::string fip = create("demo", "floatingips", "floatingip",
                           {{"floating_network_id", ext}, {"port_id", port}});
  std::string alt_net = create("alt", "networks", "network", {{"name", "alt-net"}});

  // What each project sees: its own, plus shared and external networks; external
  // subnets only when shared.
  EXPECT_EQ(names("demo", "networks"),
            (std::set<std::string>{"demo-net", "shared-net", "ext-net"}));
  EXPECT_EQ(names("alt", "networks"), (std::set<std::string>{"alt-net", "shared-net", "ext-net"}));
  EXPECT_EQ(names("alt", "subnets"), (std::set<std::string>{"shared-sub"}));
  EXPECT_EQ(names("alt", "ports", "id"), std::set<std::string>{});
  EXPECT_EQ(names("alt", "routers"), std::set<std::string>{});
  EXPECT_EQ(names("alt", "floatingips", "id"), std::set<std::string>{});
  EXPECT_EQ(names("demo", "floatingips", "id"), (std::set<std::string>{fip}));
  EXPECT_EQ(names("alt", "agents", "host"), std::set<std::string>{});
  EXPECT_EQ(names("admin", "agents", "host"), (std::set<std::string>{"controller01", "compute01"}));
  EXPECT_EQ(call("alt", "GET", "/v2.0/subnets/" + ext_sub, "", 404)["NeutronError"]["type"],
            "SubnetNotFound");

  std::string before = everything();
  struct Probe {
    std::string method, path, body, type;
  };
  std::vector<Probe> probes = {
      {"GET", "/v2.0/networks/" + net, "", "NetworkNotFound"},
      {"PUT", "/v2.0/networks/" + net, R"({"network":{"name":"mine"}})", "NetworkNotFound"},
      {"DELETE", "/v2.0/networks/" + net, "", "NetworkNotFound"},
      {"GET", "/v2.0/subnets/" + sub, "", "SubnetNotFound"},
      {"DELETE", "/v2.0/subnets/" + sub, "", "SubnetNotFound"},
      {"GET", "/v2.0/ports/" + port, "", "PortNotFound"},
      {"PUT", "/v2.0/ports/" + port, R"({"port":{"name":"mine"}})", "PortNotFound"},
      {"DELETE", "/v2.0/ports/" + port, "", "PortNotFound"},
      {"GET", "/v2.0/routers/" + router, "", "RouterNotFound"},
      {"DELETE", "/v2.0/routers/" + router, "", "RouterNotFound"},
      {"PUT", "/v2.0/routers/" + router + "/remove_router_interface",
       json{{"subnet_id", sub}}.dump(), "RouterNotFound"},
      {"GET", "/v2.0/floatingips/" + fip, "", "FloatingIPNotFound"},
      {"PUT", "/v2.0/floatingips/" + fip, R"({"floatingip":{"port_id":null}})",
       "FloatingIPNotFound"},
      {"DELETE", "/v2.0/floatingips/" + fip, "", "FloatingIPNotFound"},
      // Using demo's resources from alt's own.
      {"POST", "/v2.0/ports", json{{"port", {{"network_id", net}}}}.dump(), "NetworkNotFound"},
      {"POST", "/v2.0/subnets",
       json{{"subnet", {{"network_id", net}, {"cidr", "10.2.0.0/24"}, {"ip_version", 4}}}}.dump(),
       "NetworkNotFound"},
      {"POST", "/v2.0/floatingips",
       json{{"floatingip", {{"floating_network_id", ext}, {"port_id", port}}}}.dump(),
       "PortNotFound"},
  };
  for (const auto& p : probes) {
    json j = call("alt", p.method, p.path, p.body, 404);
    EXPECT_EQ(type(j), p.type) << p.method << " " << p.path << " " << j.dump();
  }
  // Seen but not alt's to change: the shared network, a subnet on it.
  json upd = call("alt", "PUT", "/v2.0/networks/" + shared, R"({"network":{"name":"x"}})", 403);
  EXPECT_EQ(type(upd), "PolicyNotAuthorized") << upd.dump();
  EXPECT_EQ(upd["NeutronError"]["message"], "(rule:update_network) is disallowed by policy");
  EXPECT_EQ(type(call("alt", "DELETE", "/v2.0/networks/" + ext, "", 403)), "PolicyNotAuthorized");
  EXPECT_EQ(type(call("alt", "POST", "/v2.0/subnets",
                      json{{"subnet",
                            {{"network_id", shared}, {"cidr", "10.9.1.0/24"}, {"ip_version", 4}}}}
                          .dump(),
                      403)),
            "PolicyNotAuthorized");
  EXPECT_EQ(everything(), before) << "a refused request of alt changed something";

  // A shared network is for everyone's ports.
  create("alt", "ports", "port", {{"network_id", shared}, {"name", "alt-on-shared"}});
  EXPECT_EQ(names("alt", "ports", "name"), (std::set<std::string>{"alt-on-shared"}));
  EXPECT_EQ(names("demo", "ports", "name").count("alt-on-shared"), 0u);
  (void)alt_net;
  (void)shared_sub;
}

TEST_P(Keystone, MembersCannotSetOrSeeAdminOnlyAttributes) {
  registerAgent("compute01", "dvr", "172.16.0.11");
  std::string net = create("demo", "networks", "network", {{"name", "demo-net"}});
  create("demo", "subnets", "subnet",
         {{"network_id", net}, {"cidr", "10.1.0.0/24"}, {"ip_version", 4}});
  std::string before = everything();
  struct Probe {
    std::string path, body, message;
  };
  std::vector<Probe> probes = {
      {"/v2.0/networks", R"({"network":{"name":"n","provider:network_type":"vxlan"}})",
       "(rule:create_network:provider:network_type) is disallowed by policy"},
      {"/v2.0/networks", R"({"network":{"name":"n","provider:segmentation_id":77}})",
       "(rule:create_network:provider:segmentation_id) is disallowed by policy"},
      {"/v2.0/networks", R"({"network":{"name":"n","router:external":true}})",
       "(rule:create_network:router:external) is disallowed by policy"},
      {"/v2.0/networks", R"({"network":{"name":"n","shared":true}})",
       "(rule:create_network:shared) is disallowed by policy"},
      {"/v2.0/routers", R"({"router":{"name":"r","distributed":true}})",
       "(rule:create_router:distributed) is disallowed by policy"},
      {"/v2.0/routers", R"({"router":{"name":"r","distributed":false}})",
       "(rule:create_router:distributed) is disallowed by policy"},
      {"/v2.0/routers", R"({"router":{"name":"r","ha":false}})",
       "(rule:create_router:ha) is disallowed by policy"},
      {"/v2.0/ports",
       json{{"port", {{"network_id", net}, {"binding:host_id", "compute01"}}}}.dump(),
       "(rule:create_port:binding:host_id) is disallowed by policy"},
  };
  for (const auto& p : probes) {
    json j = call("demo", "POST", p.path, p.body, 403);
    EXPECT_EQ(type(j), "PolicyNotAuthorized") << p.body;
    EXPECT_EQ(j["NeutronError"].value("message", ""), p.message) << p.body;
  }
  // Not the caller's project: only an admin may create for another.
  json other = call("demo", "POST", "/v2.0/networks",
                    json{{"network", {{"name", "n"}, {"tenant_id", "somebody-else"}}}}.dump(), 400);
  EXPECT_EQ(other["NeutronError"]["message"],
            "Specifying 'project_id' or 'tenant_id' other than the authenticated project in "
            "request requires admin privileges");
  std::string port = create("demo", "ports", "port", {{"network_id", net}});
  json upd = call("demo", "PUT", "/v2.0/ports/" + port,
                  R"({"port":{"binding:host_id":"compute01"}})", 403);
  EXPECT_EQ(upd["NeutronError"]["message"],
            "(rule:update_port:binding:host_id) is disallowed by policy");
  json moved = call("demo", "PUT", "/v2.0/ports/" + port, R"({"port":{"project_id":"x"}})", 400);
  EXPECT_EQ(moved["NeutronError"]["message"], "Cannot update read-only attribute project_id");
  call("demo", "DELETE", "/v2.0/ports/" + port, "", 204);
  EXPECT_EQ(everything(), before) << "a refused request changed something";

  // Hidden from members, shown to admins.
  std::string demo_project = projectOf("demo");
  std::string admin_port =
      create("admin", "ports", "port",
             {{"network_id", net}, {"binding:host_id", "compute01"}, {"project_id", demo_project}});
  json seen = call("demo", "GET", "/v2.0/ports/" + admin_port, "", 200)["port"];
  EXPECT_EQ(seen["project_id"], demo_project) << "an admin creates for another project";
  for (const char* k :
       {"binding:host_id", "binding:vif_type", "binding:profile", "binding:vif_details"})
    EXPECT_FALSE(seen.contains(k)) << k;
  EXPECT_EQ(call("admin", "GET", "/v2.0/ports/" + admin_port, "", 200)["port"]["binding:host_id"],
            "compute01");
  json n = call("demo", "GET", "/v2.0/networks/" + net, "", 200)["network"];
  EXPECT_FALSE(n.contains("provider:network_type"));
  EXPECT_FALSE(n.contains("provider:segmentation_id"));
  EXPECT_EQ(n["project_id"], demo_project);
  EXPECT_TRUE(call("admin", "GET", "/v2.0/networks/" + net, "", 200)["network"].contains(
      "provider:segmentation_id"));
  std::string router = create("demo", "routers", "router", {{"name", "r"}});
  json r = call("demo", "GET", "/v2.0/routers/" + router, "", 200)["router"];
  EXPECT_FALSE(r.contains("distributed"));
  EXPECT_TRUE(call("admin", "GET", "/v2.0/routers/" + router, "", 200)["router"]["distributed"]);
}

TEST_P(Keystone, SecurityGroupsAreTheirProjects) {
  std::string group = create("demo", "security-groups", "security_group", {{"name", "demo-sg"}});
  std::string rule = create("demo", "security-group-rules", "security_group_rule",
                            {{"security_group_id", group},
                             {"direction", "ingress"},
                             {"protocol", "tcp"},
                             {"port_range_min", 22},
                             {"port_range_max", 22}});
  EXPECT_EQ(names("alt", "security-groups").count("demo-sg"), 0u);
  EXPECT_EQ(names("demo", "security-groups").count("demo-sg"), 1u);
  EXPECT_EQ(names("alt", "security-group-rules", "id").count(rule), 0u);
  // In this order (listing its groups first makes the admin's default group).
  auto groupsAndRules = [&] {
    std::string all = everything();
    all += raw("admin", "GET", "/v2.0/security-groups", "")->body;
    all += raw("admin", "GET", "/v2.0/security-group-rules", "")->body;
    return all;
  };
  std::string before = groupsAndRules();
  EXPECT_EQ(type(call("alt", "GET", "/v2.0/security-groups/" + group, "", 404)),
            "SecurityGroupNotFound");
  EXPECT_EQ(type(call("alt", "DELETE", "/v2.0/security-groups/" + group, "", 404)),
            "SecurityGroupNotFound");
  EXPECT_EQ(type(call("alt", "DELETE", "/v2.0/security-group-rules/" + rule, "", 404)),
            "SecurityGroupRuleNotFound");
  EXPECT_EQ(type(call("alt", "POST", "/v2.0/security-group-rules",
                      json{{"security_group_rule",
                            {{"security_group_id", group}, {"direction", "ingress"}}}}
                          .dump(),
                      404)),
            "SecurityGroupNotFound");
  EXPECT_EQ(groupsAndRules(), before) << "a refused request of alt changed something";
}

// Quotas are an admin's to set; a member reads its own project's. Subnet pools are their
// project's, or shared (an admin's to make).
TEST_P(Keystone, QuotasAreAdminsAndSubnetPoolsTheirProjects) {
  std::string demo = projectOf("demo"), alt = projectOf("alt");
  EXPECT_EQ(type(call("demo", "PUT", "/v2.0/quotas/" + demo, R"({"quota":{"network":1}})", 403)),
            "HTTPForbidden");
  EXPECT_EQ(call("demo", "GET", "/v2.0/quotas/" + demo, "", 200)["quota"]["network"], -1);
  call("demo", "GET", "/v2.0/quotas/" + alt, "", 403);
  call("demo", "GET", "/v2.0/quotas", "", 403);
  call("admin", "PUT", "/v2.0/quotas/" + demo, R"({"quota":{"network":1}})", 200);
  EXPECT_EQ(call("demo", "GET", "/v2.0/quotas/" + demo, "", 200)["quota"]["network"], 1);
  create("demo", "networks", "network", {{"name", "one"}});
  EXPECT_EQ(type(call("demo", "POST", "/v2.0/networks", R"({"network":{"name":"two"}})", 409)),
            "OverQuota");
  EXPECT_EQ(names("alt", "networks").count("one"), 0u);
  create("alt", "networks", "network", {{"name", "alt-net"}});  // alt has no limit
  call("admin", "DELETE", "/v2.0/quotas/" + demo, "", 204);

  std::string pool = create("demo", "subnetpools", "subnetpool",
                            {{"name", "mine"}, {"prefixes", {"10.91.0.0/16"}}});
  EXPECT_EQ(type(call("alt", "GET", "/v2.0/subnetpools/" + pool, "", 404)), "SubnetPoolNotFound");
  EXPECT_EQ(type(call("alt", "DELETE", "/v2.0/subnetpools/" + pool, "", 404)),
            "SubnetPoolNotFound");
  EXPECT_EQ(names("alt", "subnetpools").count("mine"), 0u);
  EXPECT_EQ(names("demo", "subnetpools").count("mine"), 1u);
  EXPECT_EQ(
      type(call("demo", "POST", "/v2.0/subnetpools",
                R"({"subnetpool":{"name":"s","prefixes":["10.92.0.0/16"],"shared":true}})", 403)),
      "PolicyNotAuthorized");
  create("admin", "subnetpools", "subnetpool",
         {{"name", "everyones"}, {"prefixes", {"10.93.0.0/16"}}, {"shared", true}});
  EXPECT_EQ(names("alt", "subnetpools").count("everyones"), 1u);
}

// A TCP relay from a free loopback port to Keystone, in a process of its own: killing it
// makes Keystone unreachable for a server told to use the relay's port.
class Relay {
 public:
  explicit Relay(const std::string& target_url) : port_(freePort()) {
    std::string hostport = target_url.substr(7, target_url.find('/', 7) - 7);
    std::string host = hostport.substr(0, hostport.find(':'));
    std::string tport = hostport.substr(hostport.find(':') + 1);
    std::string script =
        "import socket,threading\n"
        "def pipe(a,b):\n"
        "  try:\n"
        "    while True:\n"
        "      d=a.recv(65536)\n"
        "      if not d: break\n"
        "      b.sendall(d)\n"
        "  except OSError: pass\n"
        "  finally:\n"
        "    a.close(); b.close()\n"
        "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
        "s.bind(('127.0.0.1'," +
        std::to_string(port_) +
        ")); s.listen(64)\n"
        "while True:\n"
        "  c,_=s.accept(); u=socket.create_connection(('" +
        host + "'," + tport +
        "))\n"
        "  threading.Thread(target=pipe,args=(c,u),daemon=True).start()\n"
        "  threading.Thread(target=pipe,args=(u,c),daemon=True).start()\n";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("python3", "python3", "-c", script.c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 300; ++i) {  // until it listens
      httplib::Client probe(url());
      if (probe.Get("/v3"))
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~Relay() { stop(); }
  void stop() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  pid_t pid_ = -1;
};

// Revocations are not cached: a token's validation is remembered for --token-cache-time
// (keystonemiddleware's token_cache_time), after which Keystone is asked again and a
// revoked token is refused.
TEST_P(Keystone, ARevokedTokenIsRefusedOnceItsCacheTimeHasPassed) {
  auto service = env_["dvr"];
  ServerProcess server(
      db_->url(),
      {"--auth", "keystone", "--auth-url", service["OS_AUTH_URL"], "--token-cache-time", "1"},
      [service] {
        for (const auto& [k, v] : service)
          ::setenv(k.c_str(), v.c_str(), 1);
      });
  httplib::Client http(server.url());
  std::string token = issue("demo");
  auto ok = http.Get("/v2.0/networks", {{"X-Auth-Token", token}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  // Revoked in Keystone (as `openstack token revoke` does).
  std::string url = env_["admin"]["OS_AUTH_URL"];
  httplib::Client ks(url.substr(0, url.find('/', 7)));
  auto revoked =
      ks.Delete("/v3/auth/tokens", {{"X-Auth-Token", token_["admin"]}, {"X-Subject-Token", token}});
  ASSERT_TRUE(revoked);
  ASSERT_EQ(revoked->status, 204) << revoked->body;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto refused = http.Get("/v2.0/networks", {{"X-Auth-Token", token}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401) << refused->body;
  EXPECT_EQ(json::parse(refused->body)["error"]["title"], "Unauthorized");
  // Another token of the same user still works.
  auto other = http.Get("/v2.0/networks", {{"X-Auth-Token", issue("demo")}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200) << other->body;
}

TEST_P(Keystone, KeystoneUnreachableIs503WhileCachedTokensKeepWorking) {
  auto service = env_["dvr"];
  Relay relay(service["OS_AUTH_URL"]);
  service["OS_AUTH_URL"] = relay.url() + "/v3";
  ServerProcess server(db_->url(), {"--auth", "keystone", "--auth-url", service["OS_AUTH_URL"]},
                       [service] {
                         for (const auto& [k, v] : service)
                           ::setenv(k.c_str(), v.c_str(), 1);
                       });
  httplib::Client http(server.url());
  http.set_read_timeout(60);  // a hang fails the call rather than the whole suite
  auto get = [&](const std::string& user) {
    return http.Get("/v2.0/networks", {{"X-Auth-Token", token_[user]}});
  };
  auto before = get("demo");
  ASSERT_TRUE(before) << "the server did not start";
  ASSERT_EQ(before->status, 200) << before->body;
  relay.stop();
  // demo's token was validated: it is served from the cache, without Keystone.
  auto cached = get("demo");
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->status, 200) << cached->body;
  // alt's was never seen: it cannot be checked, and the answer says so (not 401: the
  // token may be good; not 500).
  auto unknown = get("alt");
  ASSERT_TRUE(unknown) << "no answer while Keystone is unreachable";
  EXPECT_EQ(unknown->status, 503) << unknown->body;
  EXPECT_EQ(
      unknown->body,
      R"({"error":{"code":503,"message":"The Keystone service is temporarily unavailable.","title":"Service Unavailable"}})");
  EXPECT_TRUE(server.alive());
}

// /metrics names the callers' routes and counts: under Keystone, an admin's token or an
// agent's key; nothing else.
TEST_P(Keystone, MetricsNeedAnAdminTokenOrAnAgentKey) {
  auto res = raw("", "GET", "/metrics", "");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401) << res->body;
  EXPECT_EQ(raw("gAAAAAnot-a-real-token", "GET", "/metrics", "")->status, 401);
  auto member = raw("demo", "GET", "/metrics", "");
  EXPECT_EQ(member->status, 403) << member->body;
  EXPECT_EQ(member->body.find("dvr_server_requests_total"), std::string::npos);
  auto admin = raw("admin", "GET", "/metrics", "");
  EXPECT_EQ(admin->status, 200);
  EXPECT_NE(admin->body.find("dvr_server_requests_total"), std::string::npos);
  auto agent =
      http_->Get("/metrics", {{"X-DVR-Agent-Host", "compute-1"},
                              {"X-DVR-Agent-Key", server::agentKey(kAgentSecret, "compute-1")}});
  ASSERT_TRUE(agent);
  EXPECT_EQ(agent->status, 200);
  auto forged =
      http_->Get("/metrics", {{"X-DVR-Agent-Host", "compute-1"},
                              {"X-DVR-Agent-Key", server::agentKey("other", "compute-1")}});
  EXPECT_EQ(forged->status, 401);
}

// `dvr status` and `dvr host-macs` send the operator's credential: an admin's OS_*
// password (a token issued with it), --os-token, or an agent's key.
TEST_P(Keystone, StatusAndHostMacsSendACredential) {
  registerAgent("compute-1", "dvr", "192.0.2.11");
  std::string key_file = "/tmp/dvr-keystone-test-key-" + std::to_string(::getpid());
  std::ofstream(key_file) << server::agentKey(kAgentSecret, "compute-1") << "\n";
  std::string dvr = kDvr + " ";
  std::string at = " --server " + server_->url();
  std::string clean = "env -u OS_AUTH_URL -u OS_TOKEN -u OS_USERNAME -u OS_PASSWORD ";
  // Without a credential: the server's 401, and the command fails saying so.
  Result none = sh(clean + dvr + "host-macs" + at + " 2>&1");
  EXPECT_NE(none.rc, 0);
  EXPECT_NE(none.out.find("401"), std::string::npos) << none.out;
  Result by_key = sh(clean + dvr + "host-macs" + at + " --agent-key-file " + key_file +
                     " --agent-host compute-1 2>&1");
  EXPECT_EQ(by_key.rc, 0) << by_key.out;
  EXPECT_NE(by_key.out.find("compute-1"), std::string::npos) << by_key.out;
  Result by_token = sh(clean + dvr + "status" + at + " --os-token " + token_["admin"] + " 2>&1");
  EXPECT_NE(by_token.out.find("compute-1"), std::string::npos) << by_token.out;
  std::string admin_env;
  for (const auto& [k, v] : env_["admin"])
    admin_env += k + "=" + v + " ";
  Result by_password = sh(clean + admin_env + dvr + "host-macs" + at + " 2>&1");
  EXPECT_EQ(by_password.rc, 0) << by_password.out;
  EXPECT_NE(by_password.out.find("compute-1"), std::string::npos) << by_password.out;
  Result member = sh(clean + dvr + "host-macs" + at + " --os-token " + token_["demo"] + " 2>&1");
  EXPECT_NE(member.rc, 0);
  EXPECT_NE(member.out.find("403"), std::string::npos) << member.out;
  ::unlink(key_file.c_str());
}

INSTANTIATE_TEST_SUITE_P(Backends, Keystone, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace dvr::testing
