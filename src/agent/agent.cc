#include "agent/agent.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>

#include "agent/agent_metrics.h"
#include "kernel/bpf_fastpath.h"
#include "kernel/features.h"
#include "kernel/ha_state.h"
#include "kernel/reconciler.h"
#include "kernel/unique_fd.h"
#include "model/error.h"
#include "observe/log.h"
#include "plan/cloud_index.h"
#include "plan/fast_path.h"
#include "plan/planner.h"

namespace dvr::agent {
namespace {

int g_stop_fd = -1;

std::string firstLine(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

void onSignal(int) {
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(g_stop_fd, &one, sizeof one);
}

}  // namespace

int runAgent(const AgentOptions& options, CloudSource& source) {
  const std::string& me = options.host;
  kernel::requireKernelFeatures("dvr agent");  // before it changes anything
  bool fast = options.datapath == "fast";
  if (fast) {
    std::string why = kernel::fastPathUnsupported();
    if (!why.empty()) {
      spdlog::warn("host={} the fast path cannot run on this kernel ({}): datapath namespaces", me,
                   why);
      fast = false;
    } else {
      spdlog::info("host={} datapath fast: eBPF floating-IP fast path on", me);
    }
  }
  kernel::Reconciler reconciler([&](const std::string& line) {
    std::string ns = observe::namespaceOfCommand(line);
    spdlog::info("host={} ns={} change: {}", me, ns.empty() ? "-" : ns, line);
  });
  if (::isatty(STDERR_FILENO)) {  // someone is watching: say how far a long pass got
    reconciler.onStep([&](const std::string& step, double ms) {
      if (ms >= 100)
        spdlog::info("host={} step {} done in {:.0f} ms", me, step, ms);
    });
  }
  kernel::UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  g_stop_fd = stop.get();
  if (!options.once) {
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
  }
  AgentMetrics metrics;
  if (!options.metrics_bind.empty())
    metrics.serve(options.metrics_bind);
  int last_rc = 0;
  bool waiting = false, unresolved = false;
  std::optional<plan::HostPlan> applied;
  source.setHaStateProbe([&]() -> std::map<std::string, std::string> {
    return applied ? kernel::haStates(*applied) : std::map<std::string, std::string>{};
  });
  do {
    auto t0 = std::chrono::steady_clock::now();
    bool incremental = applied.has_value();
    const char* failing = "source";  // what a failure is counted as, by the step it hits
    try {
      model::Cloud cloud = source.load();
      auto loaded = std::chrono::steady_clock::now();
      failing = "other";
      if (!cloud.findHost(options.host)) {
        throw InputError("topology",
                         {{"host '" + options.host + "'", "is not in the topology", 0}});
      }
      plan::CloudIndex index(cloud);
      plan::HostPlan next = plan::planHost(index, options.host);
      if (fast)
        plan::addFastPath(index, next);
      auto planned = std::chrono::steady_clock::now();
      // The first reconcile (and one after a failure) reads everything; later ones only
      // the namespaces whose plan changed.
      failing = "kernel";
      kernel::ReconcileResult result = reconciler.apply(next, applied ? &*applied : nullptr);
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      metrics.reconciled(incremental, seconds, result, next);
      source.report({.result = "ok",
                     .kind = incremental ? "incremental" : "full",
                     .ms = seconds * 1000,
                     .changes = result.changes,
                     .version = source.version(),
                     .at = long(std::time(nullptr))});
      applied = std::move(next);
      // Devices not there yet (a VM being plugged) are retried soon, by a full reconcile.
      waiting = !result.waiting.empty();
      if (waiting)
        applied.reset();
      // A next hop not resolved yet: its floating IP runs on the namespace path, whose
      // first packet resolves it; look again soon (the rest is applied: ready).
      unresolved = !result.unresolved.empty();
      double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      spdlog::info("host={} reconciled kind={} changes={} ms={:.1f} waiting={}", me,
                   incremental ? "incremental" : "full", result.changes, ms, result.waiting.size());
      for (const auto& ns : result.nft_relisted)
        spdlog::warn(
            "host={} ns={} nftables were not as the last plan left them: reconciled "
            "against their listing",
            me, ns.empty() ? "-" : ns);
      if (spdlog::should_log(spdlog::level::debug)) {  // where a slow reconcile's time went
        auto msOf = [](auto from, auto to) {
          return std::chrono::duration<double, std::milli>(to - from).count();
        };
        std::string steps =
            fmt::format("load={:.1f} plan={:.1f}", msOf(t0, loaded), msOf(loaded, planned));
        for (const auto& [step, step_ms] : result.step_ms)
          steps += fmt::format(" {}={:.1f}", step, step_ms);
        spdlog::debug("host={} reconcile ms: {}", me, steps);
      }
      if (options.once)
        std::cout << result.changes << " changes\n";
      if (!options.ready_file.empty() && !waiting) {  // ready: applied with nothing pending
        // "<changes> <version>": the lab waits for the slice it expects to be applied.
        std::string tmp = options.ready_file + ".new";
        std::ofstream(tmp) << result.changes << " " << source.version() << "\n";
        std::rename(tmp.c_str(), options.ready_file.c_str());
      }
      last_rc = 0;
    } catch (const InputError& e) {
      // Bad input changes nothing: the data path, and `applied`, stay as they are until the
      // input is fixed.
      spdlog::error("host={} rejected input, keeping the current state: {}", me, e.what());
      metrics.failed(incremental, "input");
      source.report({.result = "rejected",
                     .kind = incremental ? "incremental" : "full",
                     .at = long(std::time(nullptr)),
                     .error = firstLine(e.what())});
      last_rc = 2;
    } catch (const std::exception& e) {
      spdlog::error("host={} reconcile failed: {}", me, e.what());
      metrics.failed(incremental, failing);
      source.report({.result = "error",
                     .kind = incremental ? "incremental" : "full",
                     .at = long(std::time(nullptr)),
                     .error = firstLine(e.what())});
      applied.reset();  // the kernel is somewhere in between: read everything next time
      last_rc = 1;
    }
    metrics.behind(source.revisionsBehind());
    // After a failure, retry within a second even if nothing changes (the kernel may
    // have refused something transient); otherwise wait for the next change.
  } while (!options.once && source.waitForChange(stop.get(), last_rc == 1 ? 1000
                                                             : waiting    ? 200
                                                             : unresolved ? 500
                                                                          : -1));
  if (!options.once)
    spdlog::info("host={} stopped; the data path is left as it is", me);
  return options.once ? last_rc : 0;
}

}  // namespace dvr::agent
