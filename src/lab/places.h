// Inside the lab (not part of its interface): where a lab keeps its namespaces and
// files, and a lab host by name for kernel/host_process.h (which enters it, makes it and
// starts programs in it).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "kernel/host_process.h"
#include "kernel/unique_fd.h"

namespace dvr::lab {

// Where each host's agent serves its metrics, inside the host's own network namespace
// (`dvr lab exec HOST -- curl -s http://127.0.0.1:9697/metrics`).
inline constexpr const char* kAgentMetricsBind = "127.0.0.1:9697";

std::string nsPath(const std::string& name);  // a node's network namespace bind
std::string hostNsPath(const std::string& host, const char* kind);  // kind: "net" | "mnt"
std::string labFile(const std::string& name);                       // under kLabFiles
std::string topologyCopy();  // the topology the agents follow
kernel::UniqueFd openPath(const std::string& path);
std::string trimName(std::string name);  // to IFNAMSIZ - 1
void requireRoot();
// Replaces the topology the agents follow, atomically: they never read half a file.
void writeTopology(const std::string& source);

// A lab host's network and mount namespaces.
kernel::HostNamespaces labHost(const std::string& host);
// Runs `fn` in a forked child that first enters `host`; returns the child's exit status.
int inHost(const std::string& host, const std::function<int()>& fn);
// Runs `fn` in a forked child inside `host` and returns what it returned.
std::string inHostOutput(const std::string& host, const std::function<std::string()>& fn);
// A host (kernel::createHost) that does not see the lab's other namespaces.
void createHost(const std::string& host);
// Starts argv inside `host`, logging to <name>.log; the pid goes to <name>.pid so that
// `down` finds it.
pid_t startInHost(const std::string& host, const std::string& name,
                  const std::vector<std::string>& argv);

pid_t readPid(const std::string& name);  // from <name>.pid
std::string tail(const std::string& path, size_t lines);

}  // namespace dvr::lab
