// Daemons the agent runs (kernel/daemons.h) against real processes (root: they start in
// the host's network namespace): a daemon whose files change right after its start is
// told to reload only once it handles SIGHUP, whose default action would kill it.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "kernel/daemons.h"
#include "kernel/files.h"

namespace dvr::kernel {
namespace {

namespace fs = std::filesystem;

// A daemon that takes a while to install its SIGHUP handler, as keepalived does while it
// reads its configuration, and notes each reload in its log.
plan::Daemon slowStarter(const std::string& config) {
  plan::Daemon d;
  d.name = "slow-starter";
  // Python, not sh: dash blocks every signal while it waits for a command, which would
  // look like a signalfd's blocked SIGHUP.
  d.argv = {"/usr/bin/python3", "{dir}/run.py"};
  d.files["run.py"] =
      "import signal, sys, time\n"
      "time.sleep(0.3)\n"
      "signal.signal(signal.SIGHUP, lambda *_: print('reloaded', flush=True))\n"
      "while True:\n"
      "    time.sleep(0.05)\n";
  d.files["config"] = config;
  return d;
}

TEST(SystemDaemons, AFileChangedRightAfterTheStartIsReloadedWithoutKillingIt) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root (enters a network namespace)";
  std::string root = "/tmp/dvr-daemons-test-" + std::to_string(::getpid());
  {
    SystemDaemons daemons("host", root);
    EXPECT_EQ(daemons.ensure(slowStarter("one")), "start");
    int pid = 0;  // known by its command line, once it has run its program
    for (int i = 0; i < 100 && pid == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      pid = daemons.pidOf("slow-starter");
    }
    ASSERT_GT(pid, 0);
    EXPECT_EQ(daemons.ensure(slowStarter("two")), "reload");
    std::string log;
    for (int i = 0; i < 100 && log.find("reloaded") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      log = readFile(root + "/host/slow-starter/log").value_or("");
    }
    EXPECT_NE(log.find("reloaded"), std::string::npos) << log;
    EXPECT_EQ(daemons.pidOf("slow-starter"), pid);  // the same process, alive
    daemons.stop("slow-starter");
    EXPECT_EQ(daemons.pidOf("slow-starter"), 0);
  }
  fs::remove_all(root);
}

// conntrackd's way: no SIGHUP handler, so new files need a new process, at once rather
// than after waiting for a handler that never comes.
TEST(SystemDaemons, ADaemonThatReloadsByRestartStartsAgainFromItsNewFiles) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root (enters a network namespace)";
  std::string root = "/tmp/dvr-daemons-test-" + std::to_string(::getpid());
  {
    SystemDaemons daemons("host", root);
    auto restarter = [](const std::string& config) {
      plan::Daemon d = slowStarter(config);
      d.reload = plan::Daemon::Reload::kRestart;
      return d;
    };
    EXPECT_EQ(daemons.ensure(restarter("one")), "start");
    int first = 0;
    for (int i = 0; i < 100 && first == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      first = daemons.pidOf("slow-starter");
    }
    ASSERT_GT(first, 0);
    EXPECT_EQ(daemons.ensure(restarter("two")), "start");
    EXPECT_FALSE(::kill(first, 0) == 0 && daemons.pidOf("slow-starter") == first)
        << "the old process still runs";
    int second = 0;
    for (int i = 0; i < 100 && second == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      second = daemons.pidOf("slow-starter");
    }
    EXPECT_GT(second, 0);
    EXPECT_NE(second, first);
    EXPECT_EQ(readFile(root + "/host/slow-starter/config").value_or(""), "two");
    daemons.stop("slow-starter");
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace dvr::kernel
