// The metrics registry's exposition, read back by a strict reader of the format.
#include <gtest/gtest.h>

#include "exposition.h"
#include "observe/log.h"
#include "observe/metrics.h"

namespace dvr {
namespace {

TEST(Metrics, ExpositionParsesAndMoves) {
  observe::Registry r;
  auto& ok =
      r.counter("dvr_agent_reconciles_total", "Reconciles.", {{"kind", "full"}, {"result", "ok"}});
  r.gauge("dvr_agent_objects", "Objects owned.", {{"kind", "link"}}).set(12);
  auto& h = r.histogram("dvr_agent_reconcile_duration_seconds", "Duration.", {{"kind", "full"}});
  auto before = test::parseExposition(r.exposition());
  EXPECT_EQ(before.value("dvr_agent_reconciles_total{kind=\"full\",result=\"ok\"}"), 0);
  ok.inc();
  ok.inc();
  h.observe(0.003);
  h.observe(7);
  auto after = test::parseExposition(r.exposition());
  EXPECT_EQ(after.types.at("dvr_agent_reconcile_duration_seconds"), "histogram");
  EXPECT_EQ(after.value("dvr_agent_reconciles_total{kind=\"full\",result=\"ok\"}"), 2);
  EXPECT_EQ(after.value("dvr_agent_objects{kind=\"link\"}"), 12);
  EXPECT_EQ(after.value("dvr_agent_reconcile_duration_seconds_bucket{kind=\"full\",le=\"0.005\"}"),
            1);
  EXPECT_EQ(after.value("dvr_agent_reconcile_duration_seconds_bucket{kind=\"full\",le=\"+Inf\"}"),
            2);
  EXPECT_EQ(after.value("dvr_agent_reconcile_duration_seconds_count{kind=\"full\"}"), 2);
  EXPECT_DOUBLE_EQ(after.value("dvr_agent_reconcile_duration_seconds_sum{kind=\"full\"}"), 7.003);
}

TEST(Metrics, LabelValuesAreEscaped) {
  observe::Registry r;
  r.counter("x_total", "With \"quotes\"\nand a newline.", {{"why", "a \"b\"\nc\\d"}}).inc();
  auto e = test::parseExposition(r.exposition());
  EXPECT_EQ(e.value("x_total{why=\"a \\\"b\\\"\\nc\\\\d\"}"), 1);
}

TEST(Metrics, ANameIsOneType) {
  observe::Registry r;
  r.counter("x_total", "x");
  EXPECT_THROW(r.gauge("x_total", "x"), std::logic_error);
}

TEST(Log, AReconcileLineNamesItsNamespace) {
  EXPECT_EQ(observe::namespaceOfCommand("ip -n qrouter-1 route replace default dev qr-1"),
            "qrouter-1");
  EXPECT_EQ(observe::namespaceOfCommand("ip netns exec fip-2 nft add element ip dvr x { 1 }"),
            "fip-2");
  EXPECT_EQ(observe::namespaceOfCommand("ip netns add snat-3"), "snat-3");
  EXPECT_EQ(observe::namespaceOfCommand("bridge fdb append 00:00:00:00:00:00 dev vxlan-1"), "");
}

TEST(Log, AnUnknownLevelIsRefused) {
  EXPECT_THROW(observe::setLogLevel("loud"), std::invalid_argument);
  EXPECT_NO_THROW(observe::setLogLevel("off"));
  EXPECT_NO_THROW(observe::setLogLevel("info"));
}

}  // namespace
}  // namespace dvr
