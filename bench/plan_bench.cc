// Plan compilation at cloud scale: all hosts' plans, and one host's plan, for a
// synthetic cloud (default: 1,000 hosts, 10,000 routers, 100,000 VM ports, 20,000
// floating IPs). Memory is reported as the process's peak RSS and the plans' object count.
//
//   build/bench/plan_bench [--benchmark_repetitions=3]
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "ipam/resolve.h"
#include "ipam/synthetic.h"
#include "plan/cloud_index.h"
#include "plan/planner.h"

namespace {

using namespace dvr;

struct Scale {
  model::Cloud cloud;
  std::unique_ptr<plan::CloudIndex> index;
  double resolve_seconds = 0;
};

Scale& scale() {
  static Scale s = [] {
    Scale out;
    auto t0 = std::chrono::steady_clock::now();
    out.cloud = ipam::resolve(
        ipam::syntheticTopology(
            {.hosts = 1000, .routers = 10000, .vms = 100000, .floating_ips = 20000, .seed = 1}),
        "synthetic");
    out.resolve_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.index = std::make_unique<plan::CloudIndex>(out.cloud);
    return out;
  }();
  return s;
}

double peakRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

size_t objects(const plan::HostPlan& p) {
  return p.links.size() + p.addresses.size() + p.routes.size() + p.rules.size() +
         p.neighbours.size() + p.fdb.size() + p.floating_nat.size() + p.sysctls.size();
}

void BM_PlanAllHosts(benchmark::State& state) {
  Scale& s = scale();
  size_t total = 0;
  for (auto _ : state) {
    auto plans = plan::planAll(*s.index, unsigned(state.range(0)));
    total = 0;
    for (const auto& p : plans)
      total += objects(p);
    benchmark::DoNotOptimize(plans.data());
  }
  state.counters["hosts"] = double(s.cloud.hosts.size());
  state.counters["kernel_objects"] = double(total);
  state.counters["peak_rss_MiB"] = peakRssMiB();
  state.counters["resolve_s"] = s.resolve_seconds;
}
BENCHMARK(BM_PlanAllHosts)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PlanIndexBuild(benchmark::State& state) {
  Scale& s = scale();
  for (auto _ : state) {
    plan::CloudIndex index(s.cloud);
    benchmark::DoNotOptimize(&index);
  }
}
BENCHMARK(BM_PlanIndexBuild)->Unit(benchmark::kMillisecond);

void BM_PlanOneHost(benchmark::State& state) {
  Scale& s = scale();
  // The busiest compute host: the most ports bound to it.
  std::string host = s.cloud.hosts[s.cloud.hosts.size() / 2].name;
  size_t n = 0;
  for (auto _ : state) {
    auto p = plan::planHost(*s.index, host);
    n = objects(p);
    benchmark::DoNotOptimize(p.links.data());
  }
  state.counters["kernel_objects"] = double(n);
}
BENCHMARK(BM_PlanOneHost)->Unit(benchmark::kMicrosecond);

void BM_PlanNetworkNode(benchmark::State& state) {
  Scale& s = scale();
  size_t n = 0;
  for (auto _ : state) {
    auto p = plan::planHost(*s.index,
                            s.cloud.hosts[0].name);  // a dvr_snat host: ~1,000 snat- namespaces
    n = objects(p);
    benchmark::DoNotOptimize(p.links.data());
  }
  state.counters["kernel_objects"] = double(n);
}
BENCHMARK(BM_PlanNetworkNode)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
