// The agents' metrics in the lab, read as Prometheus reads them: counters move when a
// change is reconciled.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "exposition.h"
#include "lab_support.h"

namespace dvr {
namespace {

using testing::inLab;

class AgentMetricsLab : public testing::LabTest {
 protected:
  test::Exposition scrape(const std::string& host) {
    auto r = inLab(host, "curl -sf http://127.0.0.1:9697/metrics");
    EXPECT_EQ(r.rc, 0) << r.out;
    return test::parseExposition(r.out);
  }
};

TEST_F(AgentMetricsLab, CountersMoveWhenAChangeIsReconciled) {
  auto before = scrape("compute01");
  EXPECT_GE(before.value("dvr_agent_reconciles_total{kind=\"full\",result=\"ok\"}"), 1);
  EXPECT_GT(before.value("dvr_agent_last_success_timestamp_seconds"), 1.7e9);
  EXPECT_GT(before.value("dvr_agent_objects{kind=\"namespace\"}"), 0);
  const std::string fips = "{kind=\"floating_ip\"}";
  double fips_before = before.value("dvr_agent_objects" + fips);
  double incremental =
      before.value("dvr_agent_reconciles_total{kind=\"incremental\",result=\"ok\"}");
  double changes = before.value("dvr_agent_changes_applied_total");

  // vm1 gets a floating IP: compute01's agent applies it incrementally.
  ASSERT_EQ(
      applySeedWith("floating_ips:\n",
                    "floating_ips:\n  - {network: ext-net, address: 192.168.74.150, vm: vm1}\n")
          .rc,
      0);
  test::Exposition after;
  for (int i = 0; i < 100; ++i) {
    after = scrape("compute01");
    if (after.value("dvr_agent_objects" + fips) > fips_before)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(after.value("dvr_agent_objects" + fips), fips_before + 1);
  EXPECT_GT(after.value("dvr_agent_reconciles_total{kind=\"incremental\",result=\"ok\"}"),
            incremental);
  EXPECT_GT(after.value("dvr_agent_changes_applied_total"), changes);
  EXPECT_GE(after.value("dvr_agent_reconcile_duration_seconds_count{kind=\"incremental\"}"), 1);
}

}  // namespace
}  // namespace dvr
