// `dvr lab down` after what can go wrong with a lab: an `up` killed half-way, agents that
// crashed. What a lab leaves must be gone: its mounts and files, every process inside its
// namespaces (and so the namespaces), and nothing of the machine's own changed.
#include <gtest/gtest.h>

#include <unistd.h>

#include "lab_support.h"

namespace dvr {
namespace {

using testing::kDvr;
using testing::kSeed;
using testing::sh;

// What a lab could leave behind, as the machine shows it.
std::string machineState() {
  return sh("echo '# network namespaces of running processes:';"
            "for p in /proc/[0-9]*; do readlink $p/ns/net; done 2>/dev/null | sort -u;"
            "echo '# mounts:'; findmnt -rn -o TARGET | grep dvr-lab;"
            "echo '# files:'; ls -d /run/dvr-lab /run/dvr-lab.d 2>/dev/null;"
            "echo '# links:'; ip -o link | cut -d: -f2;"
            "echo '# nftables:'; nft list tables")
      .out;
}

class LabLifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root (namespaces)";
    sh(kDvr + " lab down");
    before_ = machineState();
  }
  void TearDown() override {
    if (::geteuid() == 0)
      sh(kDvr + " lab down");
  }
  std::string before_;
};

TEST_F(LabLifecycle, DownRemovesEverythingAfterAnUpKilledHalfWay) {
  // A whole `up` takes 0.1-0.4 s here: these stop it at different steps (before the
  // hosts exist, agents started but not ready, ...).
  for (const char* after : {"0.02", "0.05", "0.1", "0.2", "0.3"}) {
    sh("timeout -s KILL " + std::string(after) + " " + kDvr + " lab up " + kSeed);
    auto down = sh(kDvr + " lab down");
    EXPECT_EQ(down.rc, 0) << "killed after " << after << " s: " << down.out;
    EXPECT_EQ(machineState(), before_) << "killed after " << after << " s";
  }
}

TEST_F(LabLifecycle, DownRemovesEverythingAfterTheAgentsCrashed) {
  auto up = sh(kDvr + " lab up " + kSeed);
  ASSERT_EQ(up.rc, 0) << up.out;
  ASSERT_NE(machineState(), before_);
  sh("kill -KILL $(cat /run/dvr-lab.d/*.pid)");
  // A process someone left running in a VM (as an iperf3 server would be) holds its
  // namespace: down must end it too.
  sh("setsid " + kDvr + " lab exec vm1 -- sleep 600 >/dev/null 2>&1 &");
  for (int i = 0; i < 100 && sh("ps -C sleep -o args=").out.find("sleep 600") == std::string::npos;
       ++i)
    usleep(10000);
  auto status = sh(kDvr + " lab status");
  EXPECT_NE(status.out.find("agent NOT RUNNING"), std::string::npos) << status.out;
  auto down = sh(kDvr + " lab down");
  EXPECT_EQ(down.rc, 0) << down.out;
  EXPECT_EQ(machineState(), before_);
  EXPECT_NE(sh(kDvr + " lab status").out.find("no lab is up"), std::string::npos);
}

}  // namespace
}  // namespace dvr
