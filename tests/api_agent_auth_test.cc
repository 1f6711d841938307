// The agents' credential (server/agent_credential.h) as callers see it: a server given an
// agent secret refuses the agent endpoints to callers without their host's key, refuses
// one host's key for another host, cannot have a registered host taken over, and the
// agent's own client (serverSource) sends its key. Every refusal leaves the agents and
// the DVR MAC table as they were. Plus what the server says at start.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/cloud_source.h"
#include "api_support.h"
#include "server/agent_credential.h"

namespace dvr::testing {
namespace {

using nlohmann::json;

const std::string kSecret = "a-deployment-secret-of-this-test-0123456789";

std::string writeFile(const std::string& tag, const std::string& content) {
  std::string path = "/tmp/dvr-agent-auth-" + std::to_string(::getpid()) + "-" + tag;
  std::ofstream(path) << content;
  return path;
}

class AgentAuth : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql" && !std::getenv("DVR_TEST_PG"))
      GTEST_SKIP() << "DVR_TEST_PG is not set";
    ASSERT_TRUE(db.ok());
  }
  void TearDown() override { ::unlink(secret_file.c_str()); }
  std::string secret_file = writeFile("secret", kSecret + "\n");
  TestDatabase db{GetParam()};
  ServerProcess server{db.ok() ? db.url() : "", {"--agent-secret-file", secret_file}};
  httplib::Client http{server.url()};

  httplib::Result put(const std::string& host, const std::string& tunnel,
                      const httplib::Headers& h) {
    json body{{"agent_mode", "dvr"}, {"tunnel_ip", tunnel}, {"uplinks", {{"*", "eth1"}}}};
    return http.Put("/dvr/v1/agents/" + host, h, body.dump(), "application/json");
  }
  static httplib::Headers as(const std::string& host, const std::string& key) {
    return {{"X-DVR-Agent-Host", host}, {"X-DVR-Agent-Key", key}};
  }
  static httplib::Headers as(const std::string& host) {
    return as(host, server::agentKey(kSecret, host));
  }
  // What a refusal must leave as it was: the agents (noauth: readable by the admin) and
  // the DVR MAC table.
  std::string agentsAndMacs() {
    auto agents = http.Get("/v2.0/agents");
    auto macs = http.Get("/dvr/v1/host-macs");
    return (agents ? agents->body : "?") + (macs ? macs->body : "?");
  }
  std::string message(const httplib::Result& res) {
    return json::parse(res->body).at("NeutronError").at("message").get<std::string>();
  }
};

TEST_P(AgentAuth, RegistrationNeedsTheHostsOwnKey) {
  std::string before = agentsAndMacs();
  auto none = put("compute01", "172.16.0.11", {});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 403) << none->body;
  EXPECT_EQ(message(none), "Registering host compute01 needs that host's agent credential.");
  auto wrong = put("compute01", "172.16.0.11", as("compute01", std::string(64, '0')));
  EXPECT_EQ(wrong->status, 401) << wrong->body;
  EXPECT_EQ(json::parse(wrong->body)["NeutronError"]["type"], "HTTPUnauthorized");
  EXPECT_EQ(message(wrong), "The agent key is not host compute01's key.");
  auto half = put("compute01", "172.16.0.11", {{"X-DVR-Agent-Host", "compute01"}});
  EXPECT_EQ(half->status, 401) << half->body;
  auto other = put("compute01", "172.16.0.11", as("compute02"));
  EXPECT_EQ(other->status, 403) << other->body;
  EXPECT_EQ(message(other),
            "The agent credential of host compute02 cannot register host compute01.");
  EXPECT_EQ(agentsAndMacs(), before) << "a refused registration changed the agents or DVR MACs";

  auto own = put("compute01", "172.16.0.11", as("compute01"));
  EXPECT_EQ(own->status, 200) << own->body;
  EXPECT_NE(http.Get("/dvr/v1/host-macs")->body.find("compute01"), std::string::npos);
}

TEST_P(AgentAuth, ARegisteredHostCannotBeTakenOver) {
  ASSERT_EQ(put("compute01", "172.16.0.11", as("compute01"))->status, 200);
  std::string before = agentsAndMacs();
  // An impostor with another host's key, or none, moving compute01's tunnel.
  EXPECT_EQ(put("compute01", "172.16.0.99", as("compute02"))->status, 403);
  EXPECT_EQ(put("compute01", "172.16.0.99", {})->status, 403);
  EXPECT_EQ(put("compute01", "172.16.0.99", as("compute01", server::agentKey("guess", "compute01")))
                ->status,
            401);
  EXPECT_EQ(agentsAndMacs(), before);
  EXPECT_NE(before.find("172.16.0.11"), std::string::npos);
  EXPECT_EQ(before.find("172.16.0.99"), std::string::npos);
}

TEST_P(AgentAuth, AnAgentReadsOnlyItsOwnHostsTopology) {
  ASSERT_EQ(put("compute01", "172.16.0.11", as("compute01"))->status, 200);
  auto mine = http.Get("/dvr/v1/topology?since=0&host=compute01", as("compute01"));
  EXPECT_EQ(mine->status, 200) << mine->body;
  auto theirs = http.Get("/dvr/v1/topology?since=0&host=compute02", as("compute01"));
  EXPECT_EQ(theirs->status, 403) << theirs->body;
  EXPECT_EQ(message(theirs),
            "The agent credential of host compute01 reads only its own host's topology "
            "(host=compute01).");
  auto all = http.Get("/dvr/v1/topology?since=0", as("compute01"));
  EXPECT_EQ(all->status, 403) << all->body;
  auto forged = http.Get("/dvr/v1/topology?since=0&host=compute01",
                         as("compute01", server::agentKey(kSecret, "compute02")));
  EXPECT_EQ(forged->status, 401) << forged->body;
}

TEST_P(AgentAuth, TheAgentsClientSendsItsKey) {
  agent::ServerSourceOptions o;
  o.url = server.url();
  o.host = "compute01";
  o.tunnel_ip = "172.16.0.11";
  o.agent_key = server::agentKey(kSecret, "compute01");
  EXPECT_NO_THROW(agent::serverSource(o)->load());
  EXPECT_NE(http.Get("/dvr/v1/host-macs")->body.find("compute01"), std::string::npos);

  std::string before = agentsAndMacs();
  o.host = "compute02";
  // An agent without its key registers nothing (it may read: under noauth every caller of
  // the Neutron API is an admin anyway).
  o.agent_key.clear();
  try {
    agent::serverSource(o)->load();
  } catch (const std::exception&) {
  }
  EXPECT_EQ(agentsAndMacs(), before);
}

INSTANTIATE_TEST_SUITE_P(Backends, AgentAuth, ::testing::Values("sqlite", "postgresql"));

// What `dvr server` says at start about who may reach it.
std::string startupLog(std::vector<std::string> extra, const std::string& tag) {
  std::string log = "/tmp/dvr-agent-auth-" + std::to_string(::getpid()) + "-" + tag + ".log";
  std::string db = "/tmp/dvr-agent-auth-" + std::to_string(::getpid()) + "-" + tag + ".db";
  { ServerProcess s("sqlite:" + db, extra, nullptr, log); }
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const std::string& f : {log, db, db + "-wal", db + "-shm"})
    ::unlink(f.c_str());
  return text;
}

TEST(ServerStart, SaysWhenTheAgentEndpointsAreOpen) {
  std::string open = startupLog({}, "open");
  EXPECT_NE(open.find("the agent endpoints (/dvr/v1/...) are open"), std::string::npos) << open;
  EXPECT_EQ(open.find("NO AUTHENTICATION"), std::string::npos) << "loopback is not a warning";
  std::string secret = writeFile("secret-start", kSecret);
  std::string closed = startupLog({"--agent-secret-file", secret}, "closed");
  ::unlink(secret.c_str());
  EXPECT_EQ(closed.find("are open"), std::string::npos) << closed;
}

TEST(ServerStart, WarnsLoudlyWithoutAuthenticationOnANonLoopbackAddress) {
  // Bound to every address (tests send nothing to it), stopped by timeout's SIGTERM.
  std::string db = "/tmp/dvr-agent-auth-" + std::to_string(::getpid()) + "-any.db";
  Result r = sh("timeout 3 " + kDvr + " server --bind 0.0.0.0:" + std::to_string(freePort()) +
                " --db sqlite:" + db);
  for (const std::string& f : {db, db + "-wal", db + "-shm"})
    ::unlink(f.c_str());
  EXPECT_NE(r.out.find("WARNING: NO AUTHENTICATION on 0.0.0.0"), std::string::npos) << r.out;
}

TEST(ServerStart, RefusesAShortAgentSecret) {
  std::string secret = writeFile("short", "short\n");
  Result r =
      sh(kDvr + " server --db sqlite:/tmp/dvr-agent-auth-never.db --agent-secret-file " + secret);
  ::unlink(secret.c_str());
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("an agent secret needs at least 16"), std::string::npos) << r.out;
  EXPECT_NE(::access("/tmp/dvr-agent-auth-never.db", F_OK), 0) << "a refused start made a db";
}

TEST(AgentKey, TheCliPrintsTheKeyTheServerChecks) {
  std::string secret = writeFile("cli", kSecret + "\n");
  Result r = sh(kDvr + " agent-key --secret-file " + secret + " --host compute01");
  ::unlink(secret.c_str());
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out, server::agentKey(kSecret, "compute01") + "\n");
  EXPECT_NE(server::agentKey(kSecret, "compute01"), server::agentKey(kSecret, "compute02"));
}

}  // namespace
}  // namespace dvr::testing
