// What the agent counts, and the endpoint that shows it (`dvr agent --metrics-bind
// ADDR:PORT`, GET /metrics, Prometheus' text format). Metric names and labels:
//   dvr_agent_reconciles_total{kind=full|incremental,result=ok|rejected|error}
//   dvr_agent_reconcile_duration_seconds{kind}            histogram
//   dvr_agent_changes_applied_total                       kernel objects changed
//   dvr_agent_errors_total{kind=input|kernel|source|other}
//   dvr_agent_last_success_timestamp_seconds              Unix time of the last success
//   dvr_agent_objects{kind=namespace|link|address|route|rule|neighbour|fdb|sysctl|floating_ip}
//   dvr_agent_devices_waiting                             adopted devices not present yet
//   dvr_agent_revisions_behind                            how far the applied slice is behind
//                                                         the server's (following a server)
//   dvr_agent_fastpath_packets{program,reason}            the fast path's kernel counters
//                                                         (--datapath fast), read per scrape
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "kernel/reconciler.h"
#include "observe/metrics.h"
#include "plan/host_plan.h"

namespace httplib {
class Server;
}

namespace dvr::agent {

class AgentMetrics {
 public:
  AgentMetrics();
  ~AgentMetrics();  // stops the endpoint

  // Serves /metrics on ADDR:PORT from a thread of its own; throws if it cannot listen.
  void serve(const std::string& bind);

  void reconciled(bool incremental, double seconds, const kernel::ReconcileResult& result,
                  const plan::HostPlan& applied);
  // `error_kind`: input (rejected, nothing changed), kernel, source, other.
  void failed(bool incremental, const std::string& error_kind);

  void behind(std::optional<uint64_t> revisions);

  observe::Registry& registry() { return registry_; }

 private:
  observe::Registry registry_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace dvr::agent
