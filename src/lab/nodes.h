// Inside the lab: building its nodes (the fabric, external networks and their gateways,
// hosts, VMs as the hypervisor would plug them) and starting the agents on its hosts.
#pragma once

#include <sys/types.h>

#include <string>

#include "model/cloud.h"

namespace dvr::lab {

// The fabric, the external networks (a gateway's bridge, or one in the fabric), the
// hosts wired to them, the external hosts, and (`with_vms`) the topology's VMs.
void build(const model::Cloud& c, bool with_vms);
// VM `name` (a namespace) plugged into its port's tap on its host: MAC, fixed IP, MTU,
// default route via the subnet's gateway.
void createVm(const model::Cloud& c, const model::Port& vm, const std::string& name);
void removeVm(const std::string& name);
// `dvr agent` inside `host`, following the lab's copy of the topology.
pid_t startAgent(const std::string& host, const std::string& dvr_binary);
// The agents' --datapath this lab was brought up with ("namespaces" when not said).
std::string labDatapath();
// Until every host's agent has reconciled once; throws with its log if one stopped.
void waitReady(const model::Cloud& c);

}  // namespace dvr::lab
