#include "agent/agent_metrics.h"

#include "kernel/bpf_fastpath.h"

#include <httplib.h>

#include <chrono>
#include <stdexcept>

namespace dvr::agent {
namespace {
const char* kindOf(bool incremental) {
  return incremental ? "incremental" : "full";
}
}  // namespace

AgentMetrics::AgentMetrics() {
  // Present from the start, so that a scrape before the first reconcile shows zeros.
  for (bool inc : {false, true}) {
    for (const char* result : {"ok", "rejected", "error"})
      registry_.counter("dvr_agent_reconciles_total", "Reconciles, by kind and result.",
                        {{"kind", kindOf(inc)}, {"result", result}});
  }
  registry_.counter("dvr_agent_changes_applied_total",
                    "Kernel objects created, changed or deleted.");
}

AgentMetrics::~AgentMetrics() {
  if (server_)
    server_->stop();
  if (thread_.joinable())
    thread_.join();
}

void AgentMetrics::serve(const std::string& bind) {
  auto colon = bind.rfind(':');
  int port = colon == std::string::npos ? 0 : std::atoi(bind.c_str() + colon + 1);
  if (port <= 0 || port > 65535)
    throw std::invalid_argument("--metrics-bind " + bind + ": expected ADDR:PORT");
  server_ = std::make_unique<httplib::Server>();
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    // The fast path's counters live in the kernel (per CPU): read at each scrape.
    auto fast = kernel::readFastPathCounters();
    for (size_t d = 0; d < fast.by_dir.size(); ++d) {
      for (size_t r = 0; *kernel::fastPathReasonName(r); ++r) {
        registry_
            .gauge("dvr_agent_fastpath_packets",
                   "Packets the fast path's programs saw since they were loaded, by program and "
                   "by what they did (fast, error, or why they fell back).",
                   {{"program", kernel::fastPathProgramName(d)},
                    {"reason", kernel::fastPathReasonName(r)}})
            .set(double(fast.by_dir[d][r]));
      }
    }
    res.set_content(registry_.exposition(), "text/plain; version=0.0.4");
  });
  std::string addr = bind.substr(0, colon);
  if (!server_->bind_to_port(addr, port))
    throw std::runtime_error("--metrics-bind " + bind + ": cannot listen there");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

void AgentMetrics::reconciled(bool incremental, double seconds,
                              const kernel::ReconcileResult& result,
                              const plan::HostPlan& applied) {
  registry_
      .counter("dvr_agent_reconciles_total", "Reconciles, by kind and result.",
               {{"kind", kindOf(incremental)}, {"result", "ok"}})
      .inc();
  registry_
      .histogram("dvr_agent_reconcile_duration_seconds", "Reconcile wall time, by kind.",
                 {{"kind", kindOf(incremental)}})
      .observe(seconds);
  registry_
      .counter("dvr_agent_changes_applied_total", "Kernel objects created, changed or deleted.")
      .inc(result.changes);
  registry_
      .gauge("dvr_agent_last_success_timestamp_seconds",
             "Unix time of the last successful reconcile.")
      .set(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
               .count());
  registry_
      .gauge("dvr_agent_devices_waiting", "Adopted devices the plan names that are not there yet.")
      .set(double(result.waiting.size()));
  auto objects = [&](const char* kind, size_t n) {
    registry_
        .gauge("dvr_agent_objects", "Kernel objects of this host's plan, by kind.",
               {{"kind", kind}})
        .set(double(n));
  };
  objects("namespace", applied.namespaces.size());
  objects("link", applied.links.size());
  objects("address", applied.addresses.size());
  objects("route", applied.routes.size());
  objects("rule", applied.rules.size());
  objects("neighbour", applied.neighbours.size());
  objects("fdb", applied.fdb.size());
  objects("sysctl", applied.sysctls.size());
  objects("floating_ip", applied.floating_nat.size());
}

void AgentMetrics::behind(std::optional<uint64_t> revisions) {
  if (revisions)
    registry_
        .gauge("dvr_agent_revisions_behind",
               "Revisions the server is past the one whose slice this host applied last, while "
               "the slice it offers is another (0: current).")
        .set(double(*revisions));
}

void AgentMetrics::failed(bool incremental, const std::string& error_kind) {
  registry_
      .counter(
          "dvr_agent_reconciles_total", "Reconciles, by kind and result.",
          {{"kind", kindOf(incremental)}, {"result", error_kind == "input" ? "rejected" : "error"}})
      .inc();
  registry_
      .counter("dvr_agent_errors_total", "Failed reconciles, by what failed.",
               {{"kind", error_kind}})
      .inc();
}

}  // namespace dvr::agent
