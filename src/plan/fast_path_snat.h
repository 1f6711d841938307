// The compute-host side of SNAT in a host's fast path (HostPlan::fast_path.snat): for each
// VM on this host on a subnet of a distributed router whose qrouter- here redirects the
// subnet's traffic to an sg- port on another (dvr_snat) host, the frame qrouter- and the
// bridge would send: TTL - 1, this host's DVR MAC as source, the sg- MAC as destination,
// out by the network's VXLAN device; and the destinations qrouter- keeps (its subnets, its
// extra routes, link-local). Pure; called by plan::addFastPath after planHost (it reads
// the plan's port filter).
//
// SNAT itself stays in snat- on the dvr_snat host (its conntrack is the router's, shared
// by every host's flows). Left to the namespace path (listed in left_out): a VM port
// filtered by security groups (the bridge's filter would be skipped), a VM with a
// floating IP (its traffic is the floating IP's), an HA router (its sg- MAC is on several
// hosts, reached by flooding), an sg- port on this host, a network without a VNI.
#pragma once

#include "plan/cloud_index.h"
#include "plan/host_plan.h"

namespace dvr::plan {

void addSnatPath(const CloudIndex& index, HostPlan& plan);

}  // namespace dvr::plan
