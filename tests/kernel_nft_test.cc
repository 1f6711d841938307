// The nftables layer against the kernel, in a network namespace of the test's own (root):
// a refused transaction changes nothing and its error names the failing line; a tagged
// chain edited by hand is seen in the kernel's listing and put back.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <thread>

#include <nftables/libnftables.h>

#include "kernel/nft.h"
#include "kernel/nft_apply.h"
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

// `cmd`'s output with rule handles, from a context of the calling thread's namespace.
std::string handles(const std::string& cmd) {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  nft_ctx_buffer_output(ctx);
  nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_HANDLE);
  std::string out = nft_run_cmd_from_buffer(ctx, cmd.c_str()) == 0 ? nft_ctx_get_output_buffer(ctx)
                                                                   : "nft " + cmd + " failed";
  nft_ctx_free(ctx);
  return out;
}

TEST(NftRun, ATaggedChainEditedByHandIsSeenInTheListingAndPutBack) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root (a network namespace)";
  inNewNamespace([](int fd) {
    Nft nft(fd, "test");
    plan::NftTable t;
    t.family = "inet";
    t.sets.push_back({"rg-g", "ipv4_addr", false, {"10.0.0.1"}, "interval", true});
    t.chains.push_back(
        "  chain ingress {\n    type filter hook forward priority filter; policy accept;\n"
        "    jump sg-in-g\n  }\n");
    t.tagged_chains.push_back({"sg-in-g",
                               "    tcp dport 22 accept comment \"r1\"\n"
                               "    udp dport 53 ip saddr @rg-g accept comment \"r2\"\n"});
    std::vector<const plan::NftTable*> want{&t};
    nft.run(nftChange({}, want).script);
    // As made: nft's own words for the rules, and nothing to change.
    EXPECT_EQ(nftChange(nft.listTables("dvr"), want).script, "");
    for (const char* edit : {"add rule inet dvr sg-in-g tcp dport 23 accept",
                             "insert rule inet dvr sg-in-g tcp dport 23 accept"}) {
      nft.run(std::string(edit) + "\n");
      NftChange c = nftChange(nft.listTables("dvr"), want);
      EXPECT_EQ(c.script.rfind("flush chain inet dvr sg-in-g\n", 0), 0u) << edit << "\n"
                                                                         << c.script;
      nft.run(c.script);
      EXPECT_EQ(nftChange(nft.listTables("dvr"), want).script, "") << edit;
      EXPECT_EQ(nft.listTables("dvr")["inet"].chain_rules["sg-in-g"],
                (std::vector<std::string>{"r1", "r2"}))
          << edit;
    }
    // A rule replaced in place (same count of rules, same tag rule) goes back too.
    std::string listing = handles("list chain inet dvr sg-in-g");
    const std::string mark = "accept comment \"r1\" # handle ";
    size_t at = listing.find(mark);
    ASSERT_NE(at, std::string::npos) << listing;
    at += mark.size();
    std::string handle = listing.substr(at, listing.find('\n', at) - at);
    nft.run("replace rule inet dvr sg-in-g handle " + handle + " tcp dport 23 accept\n");
    ASSERT_NE(handles("list chain inet dvr sg-in-g").find("tcp dport 23 accept"),
              std::string::npos);
    NftChange c = nftChange(nft.listTables("dvr"), want);
    EXPECT_EQ(c.script.rfind("flush chain inet dvr sg-in-g\n", 0), 0u) << c.script;
    nft.run(c.script);
    EXPECT_EQ(handles("list chain inet dvr sg-in-g").find("dport 23"), std::string::npos);
    EXPECT_EQ(nftChange(nft.listTables("dvr"), want).script, "");
  });
}

}  // namespace
}  // namespace dvr::kernel
