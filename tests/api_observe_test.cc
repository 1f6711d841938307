// What an operator watches: the server's /metrics, read as Prometheus reads it, and
// `dvr status`, which shows an agent that stopped.
#include <gtest/gtest.h>

#include <httplib.h>

#include <chrono>
#include <future>
#include <thread>

#include "api_support.h"
#include "exposition.h"

namespace dvr {
namespace {

using testing::ServerProcess;
using testing::TestDatabase;

test::Exposition scrape(httplib::Client& c) {
  auto res = c.Get("/metrics");
  EXPECT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type").rfind("text/plain", 0), 0u);
  return test::parseExposition(res->body);
}

TEST(ServerMetrics, CountersMoveWithRequestsAndLongPollsShowAsWaiting) {
  TestDatabase db("sqlite");
  ServerProcess server(db.url());
  httplib::Client c(server.url());
  const std::string list =
      "dvr_server_requests_total{method=\"GET\",route=\"/v2.0/networks\",status=\"200\"}";
  const std::string bad =
      "dvr_server_requests_total{method=\"POST\",route=\"/v2.0/networks\",status=\"400\"}";
  auto before = scrape(c);
  EXPECT_TRUE(std::isnan(before.value(list)));
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(c.Get("/v2.0/networks")->status, 200);
  ASSERT_EQ(c.Post("/v2.0/networks", R"({"network": {"name": 1}})", "application/json")->status,
            400);
  auto after = scrape(c);
  EXPECT_EQ(after.value(list), 3);
  EXPECT_EQ(after.value(bad), 1);
  EXPECT_EQ(after.value("dvr_server_request_duration_seconds_count{route=\"/v2.0/networks\"}"), 4);
  EXPECT_EQ(after.value("dvr_server_long_polls_waiting"), 0);
  EXPECT_EQ(after.value("dvr_server_database_errors"), 0);

  // An agent's long-poll waits on the loop: it shows while it waits.
  auto rev = nlohmann::json::parse(c.Get("/dvr/v1/topology?since=0")->body)["revision"];
  auto poll = std::async(std::launch::async, [&] {
    httplib::Client agent(server.url());
    agent.set_read_timeout(10);
    return agent.Get("/dvr/v1/topology?since=" + rev.dump() + "&wait=3000");
  });
  double waiting = 0;
  for (int i = 0; i < 100 && waiting < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    waiting = scrape(c).value("dvr_server_long_polls_waiting");
  }
  EXPECT_EQ(waiting, 1);
  ASSERT_EQ(c.Post("/v2.0/networks", R"({"network": {"name": "n1"}})", "application/json")->status,
            201);
  ASSERT_TRUE(poll.get());
  auto last = scrape(c);
  EXPECT_GT(last.value("dvr_server_revision"), rev.get<double>());
  EXPECT_EQ(last.value("dvr_server_requests_total{method=\"GET\",route=\"/dvr/v1/topology\","
                       "status=\"200\"}"),
            2);
}

TEST(DvrStatus, ShowsEachAgentsLastReconcileAndOneThatStopped) {
  TestDatabase db("sqlite");
  ServerProcess server(db.url(), {"--agent-down-time", "2"});
  httplib::Client c(server.url());
  auto put = [&](const std::string& host, const nlohmann::json& reconcile) {
    std::string tunnel = host == "compute01" ? "172.16.0.11" : "172.16.0.12";
    nlohmann::json body{{"agent_mode", "dvr"}, {"tunnel_ip", tunnel}, {"reconcile", reconcile}};
    auto res = c.Put("/dvr/v1/agents/" + host, body.dump(), "application/json");
    EXPECT_EQ(res->status, 200) << host << ": " << res->body;
    return res->status;
  };
  ASSERT_EQ(put("compute01", {{"result", "ok"},
                              {"kind", "incremental"},
                              {"ms", 3.5},
                              {"changes", 8},
                              {"applied_revision", 4}}),
            200);
  ASSERT_EQ(put("compute02", {{"result", "error"},
                              {"kind", "full"},
                              {"ms", 0.5},
                              {"error", "ip link add vxlan-1001: Object exists"}}),
            200);
  const std::string dvr = testing::kDvr + " status --server " + server.url();
  auto now = testing::sh(dvr);
  EXPECT_EQ(now.rc, 1) << now.out;  // compute02's last reconcile failed
  std::regex compute01(
      R"re(compute01\s+dvr\s+yes\s+4\s+\d+\s+ok\s+incremental\s+3\.5\s+8\s+fa:16:3f)re");
  EXPECT_TRUE(std::regex_search(now.out, compute01)) << now.out;
  EXPECT_NE(now.out.find("last error: ip link add vxlan-1001: Object exists"), std::string::npos)
      << now.out;
  // compute01 keeps beating, compute02 stops: past the agent-down time it shows as down.
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ASSERT_EQ(put("compute01", {{"result", "ok"}, {"kind", "incremental"}}), 200);
  }
  auto later = testing::sh(dvr);
  EXPECT_TRUE(std::regex_search(later.out, std::regex(R"re(compute01\s+dvr\s+yes)re")))
      << later.out;
  EXPECT_TRUE(std::regex_search(later.out, std::regex(R"re(compute02\s+dvr\s+NO)re"))) << later.out;
}

}  // namespace
}  // namespace dvr
