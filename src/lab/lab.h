// `dvr lab`: a whole multi-host cloud on one machine. Each host is a network + mount
// namespace (so `ip netns` inside lists only that host's qrouter-/fip-/snat-), joined by
// a fabric namespace: an underlay bridge for tunnel traffic and one bridge per external
// network, whose gateway namespace routes to the external hosts (e.g. `internet`). The
// lab plays the hypervisor: each VM is a namespace plugged into a tap on its host. One
// `dvr agent` runs inside each host and follows the lab's copy of the topology.
//
// Everything lives under kLabRoot (namespace bind mounts) and kLabFiles (topology, logs,
// pids), so `down` can remove it all, also after a crash or a half-finished `up`.
#pragma once

#include <string>
#include <vector>

namespace dvr::lab {

inline constexpr const char* kLabRoot = "/run/dvr-lab";     // a private tmpfs of namespace binds
inline constexpr const char* kLabFiles = "/run/dvr-lab.d";  // topology.yaml, <host>.log/.pid/.ready

// Builds the lab from a topology file and waits until every agent has reconciled once.
// Throws InputError for a bad topology (nothing is created) and std::runtime_error
// otherwise (after removing what was made).
// With `api`, the first dvr_snat host runs `dvr server` (SQLite in kLabFiles), agents
// follow it, and the topology's resources are created through its API.
// `datapath` is the agents' --datapath (namespaces or fast), kept for agents started later.
void up(const std::string& topology_path, const std::string& dvr_binary, bool api = false,
        const std::string& datapath = "namespaces");
// API labs: plays the hypervisor for a port made through the API (bound to a host).
void plug(const std::string& vm_name, const std::string& port_id);
// Removes everything the lab made: processes, namespaces, links, mounts, files.
void down();
// Replaces the running lab's topology: VMs are added/removed/replugged; agents follow.
void apply(const std::string& topology_path);
// Runs argv inside a lab host, VM, gateway or external host; returns its exit status.
int exec(const std::string& name, const std::vector<std::string>& argv);
// Hosts, agents, VMs and each host's namespaces, as text.
std::string status();
bool isUp();

}  // namespace dvr::lab
