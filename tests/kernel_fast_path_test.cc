// The fast path's kernel layer (BpfFastPath) against this kernel, in a network namespace of
// the test's own and a pin directory of its own (root): an incremental apply, which
// touches only the plan entries that differ from the previous plan, leaves the maps and
// filters exactly as a full apply of the new plan would (a full run after it finds
// nothing to change), deletes what went, keeps an address range two floating IPs of one
// VM share, and writes later what waited for its device; the SNAT entries likewise (a
// changed sg- MAC and kept ranges, then the router's gateway gone: nothing left).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "kernel/bpf_fastpath.h"
#include "kernel/rtnl.h"
#include "kernel/unique_fd.h"

namespace dvr::kernel {
namespace {

Ipv4 ip(const char* s) {
  return *Ipv4::parse(s);
}
Mac mac(const char* s) {
  return *Mac::parse(s);
}

plan::FipFastPath fip(const char* floating, const char* fixed, const std::string& tap,
                      int out_mtu = 1500) {
  plan::FipFastPath e;
  e.floating = ip(floating);
  e.fixed = ip(fixed);
  e.vm_dev = tap;
  e.ext_dev = "fpt-ext";
  e.vm_mac = mac("fa:16:3e:00:00:01");
  e.qr_mac = mac("fa:16:3e:00:00:02");
  e.fg_mac = mac("fa:16:3e:00:00:03");
  e.out_mtu = out_mtu;
  e.in_mtu = 1450;
  e.fip_ns = "fip-test";
  e.fg_dev = "fg-test";
  e.next_hop = ip("192.168.74.1");
  e.keep_local = {*Cidr::parse("10.0.0.0/24"), *Cidr::parse("169.254.0.0/16")};
  return e;
}

plan::EastWestDest dest(const char* to, const std::string& tap, int mtu = 1450) {
  plan::EastWestDest d;
  d.router = 7;
  d.router_id = "r7";
  d.ip = ip(to);
  d.out_dev = tap;
  d.src_mac = mac("fa:16:3e:00:00:02");
  d.dst_mac = mac("fa:16:3e:00:00:01");
  d.mtu = mtu;
  return d;
}

plan::FastPath sorted(plan::FastPath fp) {
  auto by_key = [](const auto& a, const auto& b) { return a.key() < b.key(); };
  std::sort(fp.attach.begin(), fp.attach.end(), by_key);
  std::sort(fp.fips.begin(), fp.fips.end(), by_key);
  std::sort(fp.ew_ports.begin(), fp.ew_ports.end(), by_key);
  std::sort(fp.ew_dests.begin(), fp.ew_dests.end(), by_key);
  std::sort(fp.snat.begin(), fp.snat.end(), by_key);
  return fp;
}

bool has(const std::vector<std::string>& lines, const std::string& part) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(part) != std::string::npos; });
}

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines)
    s += l + "\n";
  return s;
}

// The test's pins, removed whatever happens (the programs go with the namespace's devices).
struct PinDir {
  std::string path = "/sys/fs/bpf/dvr-test-" + std::to_string(::getpid());
  ~PinDir() { std::filesystem::remove_all(path); }
};

TEST(BpfFastPathKernel, AnIncrementalApplyLeavesWhatAFullApplyOfTheNewPlanWould) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root (a network namespace, bpffs)";
  PinDir pins;
  std::thread([&] {
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0);
    UniqueFd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    Rtnl rt(self.get(), "test");
    auto veth = [&](const std::string& name) {
      plan::Link a, b;
      a.name = name;
      b.name = name + "-p";
      rt.addVethPair(a, true, b, self.get());
    };
    for (const char* dev : {"fpt-ext", "fpt-a", "fpt-b", "fpt-c"})
      veth(dev);
    BpfFastPath fp(
        [](const std::string&, const std::string&, Ipv4) { return mac("02:00:00:00:00:01"); },
        pins.path);

    plan::FastPath before;
    before.fips = {fip("192.168.74.101", "10.0.0.1", "fpt-a"),
                   fip("192.168.74.102", "10.0.0.2", "fpt-b")};
    before.ew_ports = {{"fpt-a", 7, "r7", ip("10.0.0.1"), mac("fa:16:3e:00:00:02")}};
    before.ew_dests = {dest("10.0.0.1", "fpt-a"), dest("10.0.1.5", "fpt-c")};
    before.attach = {{"fpt-a", plan::kEastWestProgram},
                     {"fpt-a", plan::kFipOutProgram},
                     {"fpt-b", plan::kFipOutProgram},
                     {"fpt-ext", plan::kFipInProgram}};
    before = sorted(before);
    fp.apply(before, nullptr);

    // .101 and vm a go; .102 changes (its MTU); .103, a second floating IP of vm b, shares
    // b's kept ranges; .104 waits for its device; a destination changes.
    plan::FastPath after;
    after.fips = {fip("192.168.74.102", "10.0.0.2", "fpt-b", 1400),
                  fip("192.168.74.103", "10.0.0.3", "fpt-b"),
                  fip("192.168.74.104", "10.0.0.4", "fpt-d")};
    after.ew_dests = {dest("10.0.1.5", "fpt-c", 1400)};
    after.attach = {{"fpt-b", plan::kFipOutProgram},
                    {"fpt-d", plan::kFipOutProgram},
                    {"fpt-ext", plan::kFipInProgram}};
    after = sorted(after);
    FastPathResult r = fp.apply(after, &before);
    EXPECT_TRUE(has(r.waiting, "fpt-d")) << join(r.waiting);
    auto entries = readFastPathEntries(pins.path);
    EXPECT_FALSE(has(entries, "192.168.74.101")) << join(entries);
    EXPECT_FALSE(has(entries, "dvr_ew_port key fpt-a")) << join(entries);
    EXPECT_FALSE(has(entries, "10.0.0.1")) << join(entries);
    EXPECT_TRUE(has(entries,
                    "snat 192.168.74.102 dev fpt-ext src fa:16:3e:00:00:03 dst "
                    "02:00:00:00:00:01 mtu 1400"))
        << join(entries);
    EXPECT_TRUE(has(entries, "dvr_fip_in_map key fpt-ext 192.168.74.103")) << join(entries);
    EXPECT_TRUE(has(entries, "dvr_fip_local key fpt-b 10.0.0.0/24")) << join(entries);
    EXPECT_TRUE(has(entries, "key router 7 10.0.1.5 value dev fpt-c")) << join(entries);
    EXPECT_TRUE(has(entries, "mtu 1400")) << join(entries);

    // vm b's first floating IP goes: the range its second one keeps stays.
    plan::FastPath later = after;
    later.fips.erase(later.fips.begin());
    veth("fpt-d");
    r = fp.apply(later, &after);
    entries = readFastPathEntries(pins.path);
    EXPECT_FALSE(has(entries, "192.168.74.102")) << join(entries);
    EXPECT_TRUE(has(entries, "dvr_fip_local key fpt-b 10.0.0.0/24")) << join(entries);
    // .104's device came: it is written although its plan entry did not change.
    EXPECT_TRUE(has(entries, "dvr_fip_in_map key fpt-ext 192.168.74.104")) << join(entries);
    EXPECT_TRUE(has(r.lines, "tc filter add dev fpt-d ingress")) << join(r.lines);

    // A full run reads the kernel: nothing is left to repair.
    r = fp.apply(later, nullptr);
    EXPECT_TRUE(r.lines.empty()) << join(r.lines);
    EXPECT_TRUE(r.waiting.empty()) << join(r.waiting);

    fp.apply(plan::FastPath{}, &later);  // unpins
  }).join();
  struct stat st {};
  EXPECT_NE(::stat(pins.path.c_str(), &st), 0) << "the pins are left";
}

plan::SnatFastPath snat(const std::string& tap, const char* sg_mac, std::vector<const char*> keep) {
  plan::SnatFastPath e;
  e.vm_dev = tap;
  e.router_id = "r7";
  e.ip = ip("10.0.0.1");
  e.gateway_mac = mac("fa:16:3e:00:00:02");
  e.out_dev = "fpt-vx";  // a VXLAN device in the cloud; any device has an index
  e.src_mac = mac("fa:16:3f:00:00:01");
  e.sg_mac = mac(sg_mac);
  e.sg_ip = ip("10.0.0.2");
  e.snat_host = "net1";
  e.tunnel_ip = ip("172.16.0.10");
  e.vni = 1001;
  e.mtu = 1450;
  for (const char* k : keep)
    e.keep_local.push_back(*Cidr::parse(k));
  return e;
}

TEST(BpfFastPathKernel, SnatEntriesFollowThePlanIncrementallyAsAFullApplyWould) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root (a network namespace, bpffs)";
  PinDir pins;
  std::thread([&] {
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0);
    UniqueFd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    Rtnl rt(self.get(), "test");
    for (const char* dev : {"fpt-a", "fpt-vx"}) {
      plan::Link a, b;
      a.name = dev;
      b.name = std::string(dev) + "-p";
      rt.addVethPair(a, true, b, self.get());
    }
    BpfFastPath fp([](const std::string&, const std::string&, Ipv4) { return std::nullopt; },
                   pins.path);
    plan::FastPath before;
    before.snat = {snat("fpt-a", "fa:16:3e:00:00:0a", {"10.0.0.0/24", "169.254.0.0/16"})};
    before.attach = {{"fpt-a", plan::kSnatProgram}};
    FastPathResult r = fp.apply(before, nullptr);
    EXPECT_TRUE(has(r.lines,
                    "tc filter add dev fpt-a ingress pref 222 handle 0xdd bpf "
                    "direct-action dvr_snat_out"))
        << join(r.lines);
    auto entries = readFastPathEntries(pins.path);
    EXPECT_TRUE(has(entries,
                    "dvr_snat_port key fpt-a value dev fpt-vx src fa:16:3f:00:00:01 dst "
                    "fa:16:3e:00:00:0a if src 10.0.0.1 dst mac fa:16:3e:00:00:02 mtu "
                    "1450"))
        << join(entries);
    EXPECT_TRUE(has(entries, "dvr_snat_local key fpt-a 169.254.0.0/16")) << join(entries);

    // The sg- port replaced (another MAC), an extra route kept, link-local no longer.
    plan::FastPath after;
    after.snat = {snat("fpt-a", "fa:16:3e:00:00:0b", {"10.0.0.0/24", "172.31.0.0/16"})};
    after.attach = before.attach;
    fp.apply(after, &before);
    entries = readFastPathEntries(pins.path);
    EXPECT_TRUE(has(entries, "dst fa:16:3e:00:00:0b")) << join(entries);
    EXPECT_FALSE(has(entries, "fa:16:3e:00:00:0a")) << join(entries);
    EXPECT_TRUE(has(entries, "dvr_snat_local key fpt-a 172.31.0.0/16")) << join(entries);
    EXPECT_FALSE(has(entries, "dvr_snat_local key fpt-a 169.254.0.0/16")) << join(entries);
    r = fp.apply(after, nullptr);  // a full run finds nothing to repair
    EXPECT_TRUE(r.lines.empty()) << join(r.lines);

    // The router loses its gateway: the entries and the filter go (and the pins with them).
    plan::FastPath none;
    r = fp.apply(none, &after);
    EXPECT_TRUE(has(r.lines, "bpftool map delete name dvr_snat_port key fpt-a")) << join(r.lines);
    EXPECT_TRUE(has(r.lines, "tc filter del dev fpt-a")) << join(r.lines);
  }).join();
  struct stat st {};
  EXPECT_NE(::stat(pins.path.c_str(), &st), 0) << "the pins are left";
}

}  // namespace
}  // namespace dvr::kernel
