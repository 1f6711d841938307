// The east-west part of a host's fast path (HostPlan::fast_path.ew_ports/ew_dests): for
// each distributed router with two or more subnets and a VM of them on this host, the
// VMs whose frames to their gateway dvr_ew_out routes, and for every VM of the router's
// subnets (on this host or another) the frame qrouter- would send it, as the planner's
// own objects say: the qr- MAC of the destination subnet as source here, this host's DVR
// MAC (the bridge's rewrite) for a VM elsewhere, the network's VXLAN device and MTU. Pure;
// called by plan::addFastPath after planHost (it reads the plan's port filter).
//
// Left to the namespace path (listed in left_out): a VM port filtered by security groups
// (the bridge's filter would be skipped; as source on any destination, as destination
// here), and a router whose number clashes with another router's on this host.
#pragma once

#include "plan/cloud_index.h"
#include "plan/host_plan.h"

namespace dvr::plan {

void addEastWest(const CloudIndex& index, HostPlan& plan);

// The number dvr_ew_dst's keys use for a router: its id hashed (FNV-1a), so it does not
// move when another router comes or goes.
uint32_t eastWestRouterNumber(const std::string& router_id);

}  // namespace dvr::plan
