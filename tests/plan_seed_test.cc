// The seed's hosts, planned: names, MTUs and addresses as in the seed's screenshots,
// and byte-for-byte golden plans (tests/golden/, reviewed by hand against the seed).
// Regenerate the golden files with DVR_UPDATE_GOLDEN=1 after a reviewed change.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "plan/names.h"
#include "plan/nft_tables.h"
#include "plan/render.h"
#include "support.h"

namespace dvr {
namespace {

using testing::planOf;

const std::string kFipNs = "fip-5a1e2b3c-4d5e-4f60-8a71-92b3c4d5e6f7";
const std::string kRouter2Ns = "qrouter-242fcb80-e9e1-410b-ba4e-7617d1c384ad";
const std::string kRouter1Ns = "qrouter-13fe8525-da22-42de-aeb6-84f41a3b607d";

bool hasAddress(const plan::HostPlan& p, const std::string& ns, const std::string& dev,
                const std::string& cidr) {
  for (const auto& a : p.addresses) {
    if (a.ns == ns && a.dev == dev && a.cidr.str() == cidr)
      return true;
  }
  return false;
}

class SeedPlan : public ::testing::Test {
 protected:
  model::Cloud cloud = testing::seedCloud();
  std::vector<plan::HostPlan> plans = testing::planAllHosts(cloud);
};

TEST_F(SeedPlan, Compute01HasTheSeedsNamespaces) {
  const auto& p = planOf(plans, "compute01");
  std::vector<std::string> expected{kFipNs, kRouter1Ns, kRouter2Ns,
                                    "qrouter-703db450-5b1f-4c2d-9e8a-3f6b7c8d9e01"};
  EXPECT_EQ(p.namespaces, expected);  // three qrouter- and one fip-, as `ip netns` in the seed
}

TEST_F(SeedPlan, FipNamespaceMatchesTheSeedListing) {
  const auto& p = planOf(plans, "compute01");
  const auto* fg = p.findLink(kFipNs, "fg-6e12764c-ba");
  ASSERT_TRUE(fg);
  EXPECT_EQ(fg->mtu, 1450);
  EXPECT_EQ(fg->mac->str(), "fa:16:3e:d2:85:89");
  EXPECT_TRUE(hasAddress(p, kFipNs, "fg-6e12764c-ba", "192.168.74.103/24"));
  const auto* fpr = p.findLink(kFipNs, "fpr-242fcb80-e");
  ASSERT_TRUE(fpr);
  EXPECT_EQ(fpr->mtu, 1450);
  EXPECT_TRUE(hasAddress(p, kFipNs, "fpr-242fcb80-e", "169.254.31.75/31"));
  EXPECT_TRUE(hasAddress(p, kFipNs, "fpr-703db450-5", "169.254.30.51/31"));  // the "before" pair
}

TEST_F(SeedPlan, QrouterMatchesTheSeedListing) {
  const auto& p = planOf(plans, "compute01");
  const auto* qr = p.findLink(kRouter2Ns, "qr-b4b97d8a-7c");
  ASSERT_TRUE(qr);
  EXPECT_EQ(qr->mac->str(), "fa:16:3e:ac:30:ff");
  EXPECT_EQ(qr->mtu, 1450);
  EXPECT_TRUE(hasAddress(p, kRouter2Ns, "qr-b4b97d8a-7c", "192.168.111.1/24"));
  const auto* rfp = p.findLink(kRouter2Ns, "rfp-242fcb80-e");
  ASSERT_TRUE(rfp);
  EXPECT_EQ(rfp->mtu, 1450);
  EXPECT_EQ(rfp->peer, "fpr-242fcb80-e");
  EXPECT_EQ(rfp->peer_ns, kFipNs);
  EXPECT_TRUE(hasAddress(p, kRouter2Ns, "rfp-242fcb80-e", "169.254.31.74/31"));
  EXPECT_TRUE(hasAddress(p, kRouter2Ns, "rfp-242fcb80-e", "192.168.74.104/32"));
}

TEST_F(SeedPlan, NeutronPolicyRoutingInQrouter) {
  const auto& p = planOf(plans, "compute01");
  bool snat_rule = false, fip_rule = false;
  for (const auto& r : p.rules) {
    if (r.ns == kRouter1Ns && r.priority == 168820737u && r.table == 168820737u &&
        r.from->str() == "10.16.0.1/24")
      snat_rule = true;
    if (r.ns == kRouter2Ns && r.table == plan::kFipTable && r.from->str() == "192.168.111.5/32" &&
        r.priority >= 32768 && r.priority < 72768)
      fip_rule = true;
  }
  EXPECT_TRUE(snat_rule);
  EXPECT_TRUE(fip_rule);
}

TEST_F(SeedPlan, NoFipNamespaceWhereThereIsNoFloatingIp) {
  for (const auto& host : {"controller01", "compute02"}) {
    for (const auto& ns : planOf(plans, host).namespaces)
      EXPECT_NE(ns.rfind("fip-", 0), 0u) << host << " " << ns;
  }
}

TEST_F(SeedPlan, SnatNamespacesOnlyOnTheNetworkNode) {
  int snat = 0;
  for (const auto& ns : planOf(plans, "controller01").namespaces)
    snat += ns.rfind("snat-", 0) == 0;
  EXPECT_EQ(snat, 3);
  for (const auto& ns : planOf(plans, "compute01").namespaces)
    EXPECT_NE(ns.rfind("snat-", 0), 0u);
}

TEST_F(SeedPlan, DeviceNamesNeverExceedFourteenCharacters) {
  for (const auto& p : plans) {
    for (const auto& l : p.links)
      EXPECT_LE(l.name.size(), 14u) << l.name;
  }
}

TEST_F(SeedPlan, SameInputGivesByteIdenticalPlans) {
  auto again = testing::planAllHosts(testing::seedCloud());
  ASSERT_EQ(again.size(), plans.size());
  for (size_t i = 0; i < plans.size(); ++i)
    EXPECT_EQ(plan::renderJson(plans[i]), plan::renderJson(again[i]));
}

TEST_F(SeedPlan, MatchesGoldenFiles) {
  bool update = std::getenv("DVR_UPDATE_GOLDEN") != nullptr;
  for (const auto& p : plans) {
    auto path = testing::sourcePath("tests/golden/" + p.host + ".plan.txt");
    std::string actual = plan::renderText(p);
    if (update) {
      std::ofstream(path) << actual;
      continue;
    }
    std::ifstream in(path);
    ASSERT_TRUE(in) << "missing " << path;
    std::stringstream golden;
    golden << in.rdbuf();
    EXPECT_EQ(actual, golden.str()) << "plan of " << p.host << " differs from " << path;
  }
}

}  // namespace
}  // namespace dvr
