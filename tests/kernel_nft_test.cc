// The nftables layer against the kernel, in a network namespace of the test's own (root):
// a refused transaction changes nothing and its error names the failing line.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <thread>

#include "kernel/nft.h"
#include "kernel/unique_fd.h"

namespace dvr::kernel {
namespace {

// Runs `fn` on a thread inside a new network namespace, which dies with the thread.
void inNewNamespace(const std::function<void(int netns_fd)>& fn) {
  std::thread([&] {
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0);
    UniqueFd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    fn(self.get());
  }).join();
}

TEST(NftRun, ARefusedTransactionChangesNothingAndNamesItsLine) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root (a network namespace)";
  inNewNamespace([](int fd) {
    Nft nft(fd, "test");
    const std::string script =
        "table ip dvr {\n"
        "  map fip_dnat { type ipv4_addr : ipv4_addr; }\n"
        "}\n"
        "table bridge dvr {\n"
        "  chain dvr_forward { type filter hook forward priority 0;\n"
        "    oifname @no_such_set drop; }\n"
        "}\n";
    try {
      nft.run(script);
      ADD_FAILURE() << "the kernel took a rule naming a set that does not exist";
    } catch (const std::runtime_error& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("nft transaction in test failed: line 6:"), std::string::npos) << what;
      EXPECT_NE(what.find("oifname @no_such_set drop"), std::string::npos) << what;
    }
    // All or nothing: the first table, which was fine, is not there either.
    EXPECT_TRUE(nft.listTables("dvr").empty());
    nft.run(script.substr(0, script.find("table bridge")));
    EXPECT_EQ(nft.listTables("dvr").count("ip"), 1u);
  });
}

}  // namespace
}  // namespace dvr::kernel
