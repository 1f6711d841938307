// The fast path's intent for one host (HostPlan::fast_path): which eBPF programs attach to
// which host-namespace devices, one map entry per floating IP with everything the
// namespace path would do to its packets (addresses, MACs, MTUs, the destinations it
// keeps), the east-west entries (plan/fast_path_east_west.h) and the compute-host side of
// SNAT (plan/fast_path_snat.h). Pure, like the planner;
// run after planHost, since it reads the plan (the port filter) as well as the cloud.
//
// A floating IP stays on the namespace path alone (listed in left_out with the reason)
// when its port is filtered by security groups (the programs do not keep their verdicts
// yet), when the host has no device on the external network, or when the external subnet
// has no gateway.
#pragma once

#include <string>

#include "plan/cloud_index.h"
#include "plan/host_plan.h"

namespace dvr::plan {

void addFastPath(const CloudIndex& index, HostPlan& plan);

// `tc filter show` and `bpftool map dump` style lines of plan.fast_path, for `dvr plan`.
std::string renderFastPath(const HostPlan& plan);

}  // namespace dvr::plan
