// Says, on a trace, which hops a packet skips on the eBPF fast path (plan::FastPath,
// present in plans made with plan::addFastPath). The tracer walks the namespace path,
// which stays the truth: the fast path does the same rewrites in one step. Where a
// floating IP's packet enters at a VM's tap (or the external device) with an entry, and
// the walk takes it through qrouter- and fip- and out by the bridge on the other side,
// the entering hop says "fast path" and each skipped hop says so. East-west likewise: a
// frame from a VM with dvr_ew_out, routed between the router's subnets by qrouter- on its
// host, is the program's when its dvr_ew_dst entry has the destination (the entry, the
// rewrite, the redirect target are said); otherwise the entering hop says why it takes the
// namespace path. SNAT's compute-host side likewise: a frame from a VM with dvr_snat_out
// that qrouter- sends to the router's sg- port on another host and the bridge out by the
// VXLAN device is the program's (its entry, the rewrite, the tunnel, snat- doing the NAT).
// Pure.
#pragma once

#include <vector>

#include "plan/host_plan.h"
#include "trace/tracer.h"

namespace dvr::trace {

void noteFastPath(TraceResult& result, const std::vector<plan::HostPlan>& plans);

}  // namespace dvr::trace
