// Reconcile at scale on this kernel: one compute host holding N routers and M floating
// IPs (default 1,000 and 10,000), reconciled from empty, then again unchanged, then with
// one more floating IP. Runs in a private network + mount namespace of its own, so it
// touches nothing else and leaves nothing behind. Needs root.
//
// DVR_BENCH_FAST=1: with the eBPF fast path (plan::addFastPath), in a bpffs of its own:
// every VM gets a tap (a veth pair), the external gateway a learned neighbour in fip-,
// so the cold and unchanged runs fill every floating IP's map entries, and the one more
// floating IP's reconcile includes its entries (the "fast path" step).
//
// DVR_BENCH_FAKE=1: on the tests' fake kernel (tests/fake_kernel.h) instead, without root:
// what the reconciler's own work costs (diffs, rendering, the steps' bookkeeping) with
// the kernel's share taken out, for profiling (perf record build/bench/reconcile_bench).
//
//   build/bench/reconcile_bench [routers] [floating_ips]
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../tests/fake_kernel.h"
#include "ipam/resolve.h"
#include "ipam/synthetic.h"
#include "kernel/netns.h"
#include "kernel/reconciler.h"
#include "kernel/rtnl.h"
#include "plan/cloud_index.h"
#include "plan/fast_path.h"
#include "plan/names.h"
#include "plan/planner.h"

namespace {

using namespace dvr;
using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void isolate() {
  if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    std::perror("unshare (needs root)");
    std::exit(1);
  }
  ::umount2(kernel::kNetnsDir, MNT_DETACH);
  ::mkdir(kernel::kNetnsDir, 0755);
  ::mount("tmpfs", kernel::kNetnsDir, "tmpfs", 0, "mode=755");
  // A bpffs instance of this mount namespace: pins go with it.
  ::umount2("/sys/fs/bpf", MNT_DETACH);
  if (::mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") != 0) {
    std::perror("mount bpffs");
    std::exit(1);
  }
  kernel::UniqueFd self = kernel::openNetns("");
  kernel::Rtnl rt(self.get(), "");
  plan::Link eth1;
  eth1.name = "eth1";
  plan::Link peer;
  peer.name = "eth1-peer";
  rt.addVethPair(eth1, true, peer, self.get());  // the uplink
}

}  // namespace

int main(int argc, char** argv) {
  int routers = argc > 1 ? std::atoi(argv[1]) : 1000;
  int fips = argc > 2 ? std::atoi(argv[2]) : 10000;
  const bool fake = getenv("DVR_BENCH_FAKE") != nullptr;
  if (!fake)
    isolate();
  // Two hosts: the network node and one compute host with every VM (one per floating IP).
  ipam::SyntheticSize size{
      .hosts = 2, .routers = routers, .vms = fips, .floating_ips = fips, .seed = 1};
  model::Topology topo = ipam::syntheticTopology(size);
  std::string host = "compute1";
  for (auto& vm : topo.vms)
    vm.host = host;

  auto t0 = Clock::now();
  model::Cloud cloud = ipam::resolve(topo, "synthetic");
  plan::CloudIndex index(cloud);
  plan::HostPlan plan = plan::planHost(index, host);
  const bool fast = getenv("DVR_BENCH_FAST") != nullptr;
  if (fast)
    plan::addFastPath(index, plan);
  double plan_ms = msSince(t0);
  test::FakeKernel fake_kernel;
  auto plug = [&](const plan::HostPlan& p) {  // the fake hypervisor: every adopted device
    for (const auto& l : p.links) {
      if (l.kind == plan::LinkKind::Adopted && !fake_kernel.hasLink(l.ns, l.name))
        fake_kernel.addDevice(l.ns, l.name);
    }
  };
  if (fake)
    plug(plan);
  else if (fast) {  // the hypervisor's part: a tap per VM (one for the VM added below too)
    kernel::UniqueFd self = kernel::openNetns("");
    kernel::Rtnl rt(self.get(), "");
    int n = 0;
    for (const auto& l : plan.links) {
      if (l.kind != plan::LinkKind::Adopted || l.name.rfind("tap", 0) != 0)
        continue;  // the uplink is there already
      plan::Link tap, peer;
      tap.name = l.name;
      peer.name = "vmp" + std::to_string(n++);
      rt.addVethPair(tap, true, peer, self.get());
    }
  }

  std::unique_ptr<kernel::Reconciler> owned =
      fake ? std::make_unique<kernel::Reconciler>(fake_kernel)
           : std::make_unique<kernel::Reconciler>();
  kernel::Reconciler& reconciler = *owned;
  t0 = Clock::now();
  auto cold = reconciler.apply(plan);
  double cold_ms = msSince(t0);

  if (fast && !fake && !plan.fast_path.fips.empty()) {
    // The external gateway answered once: fip- has its MAC (what the first packet does;
    // not permanent, or the reconciler would remove it as not its own).
    const auto& e = plan.fast_path.fips[0];
    std::string cmd = "ip -n " + e.fip_ns + " neigh replace " + e.next_hop.str() +
                      " lladdr 02:00:00:00:00:01 nud stale dev " + e.fg_dev;
    if (std::system(cmd.c_str()) != 0)
      std::fprintf(stderr, "failed: %s\n", cmd.c_str());
  }
  t0 = Clock::now();
  auto again = reconciler.apply(plan);
  double again_ms = msSince(t0);

  // One more floating IP: a new VM on the first router's network, with a FIP.
  topo.vms.push_back({.name = "vm-new", .network = "net0", .host = host});
  topo.floating_ips.push_back({.network = "ext", .vm = "vm-new"});
  t0 = Clock::now();
  model::Cloud cloud2 = ipam::resolve(topo, "synthetic");
  plan::CloudIndex index2(cloud2);
  plan::HostPlan plan2 = plan::planHost(index2, host);
  if (fast)
    plan::addFastPath(index2, plan2);
  double plan2_ms = msSince(t0);
  if (fake)
    plug(plan2);
  else if (fast) {
    kernel::UniqueFd self = kernel::openNetns("");
    kernel::Rtnl rt(self.get(), "");
    for (const auto& l : plan2.links) {
      if (l.kind == plan::LinkKind::Adopted && l.name.rfind("tap", 0) == 0 &&
          !plan.findLink("", l.name)) {
        plan::Link tap, peer;
        tap.name = l.name;
        peer.name = "vmp-new";
        rt.addVethPair(tap, true, peer, self.get());
      }
    }
  }
  t0 = Clock::now();
  auto one = reconciler.apply(plan2, &plan);
  double one_ms = msSince(t0);

  // DVR_BENCH_REPEAT=n: the FIP removed and added again n times more, for a profile of
  // the incremental pass alone; each step's figure is then its fastest of the n + 1.
  for (int i = 0, n = getenv("DVR_BENCH_REPEAT") ? std::atoi(getenv("DVR_BENCH_REPEAT")) : 0; i < n;
       ++i) {
    reconciler.apply(plan, &plan2);
    reconciler.apply(plan2, &plan);
  }
  for (size_t i = 0; i < one.log.size() && i < (getenv("DVR_BENCH_LOG") ? 40u : 0u); ++i)
    std::printf("  %s\n", one.log[i].c_str());
  std::printf("host %s: %d routers, %d floating IPs, %zu namespaces%s\n", host.c_str(), routers,
              fips, plan.namespaces.size(),
              fast ? (", fast path: " + std::to_string(plan.fast_path.fips.size()) +
                      " floating IPs' entries, " + std::to_string(again.unresolved.size()) +
                      " unresolved after the second run")
                         .c_str()
                   : "");
  std::printf("resolve+plan (whole cloud)            %9.1f ms\n", plan_ms);
  std::printf("cold reconcile                        %9.1f ms  (%d changes)\n", cold_ms,
              cold.changes);
  std::printf("second reconcile, unchanged (full)    %9.1f ms  (%d changes)\n", again_ms,
              again.changes);
  for (const auto& [name, ms] : cold.step_ms)
    std::printf("  cold: %-16s %9.1f ms\n", name.c_str(), ms);
  for (const auto& [name, ms] : again.step_ms)
    std::printf("  unchanged: %-11s %9.1f ms\n", name.c_str(), ms);
  std::printf("resolve+plan with one more FIP        %9.1f ms\n", plan2_ms);
  std::printf("reconcile one more FIP (incremental)  %9.1f ms  (%d changes)\n", one_ms,
              one.changes);
  for (const auto& [name, ms] : one.step_ms)
    std::printf("  one more FIP: %-8s %9.2f ms\n", name.c_str(), ms);
  return 0;
}
