// The per-host agent: cloud -> this host's plan -> reconcile, again on every change.
// Stopping it leaves the data path exactly as it is; a restart finds nothing to change.
#pragma once

#include <string>

#include "agent/cloud_source.h"

namespace dvr::agent {

struct AgentOptions {
  std::string host;
  bool once = false;         // reconcile once, print the number of changes, exit
  std::string ready_file;    // touched after each successful reconcile (the lab waits on it)
  std::string metrics_bind;  // ADDR:PORT serving /metrics (agent/agent_metrics.h); "" for none
  // "namespaces": the seed's data path only. "fast": also the eBPF floating-IP fast path
  // (plan/fast_path.h) where this kernel loads it; else the agent says why and runs
  // "namespaces". Either way the namespaces are all there: the fast path is a shortcut.
  std::string datapath = "namespaces";
};

// Returns the process exit code. SIGTERM/SIGINT stop it between reconciles.
int runAgent(const AgentOptions& options, CloudSource& source);

}  // namespace dvr::agent
