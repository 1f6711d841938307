// The part of the server's topology one host's plan depends on: what travels to that
// host's agent, so that a thousand-host cloud does not ship every port to every host.
#pragma once

#include <string>

#include "model/cloud.h"
#include "model/topology.h"
#include "plan/cloud_index.h"

namespace dvr::server {

// `pinned` is the state's topology with every allocation pinned (so resolving a part of it
// allocates nothing anew) and `index` indexes its resolution. The slice holds:
//  - the routers the host runs (for its VMs, or its SNAT), and every router with an
//    interface on a network the host uses: where those routers run decides the host's
//    VXLAN forwarding entries;
//  - the networks and subnets of those routers and of the host's VMs, and every bound
//    port on them (permanent neighbours, forwarding entries);
//  - the floating IPs of the host's VMs, the host's fg- ports and link-local pairs;
//  - the hosts all that names, and the settings and external hosts as they are;
//  - the DHCP ports of those networks and their hosts (as DHCP hosts: no other host of the
//    slice is one); for the networks the host serves DHCP for, every VM on the served
//    subnet, bound or not (dnsmasq's hosts file);
//  - the VMs (with their subnets and networks) that are members of a remote group of a
//    rule of the host's VMs' groups: their addresses are matched; and the groups the
//    slice's VMs and rules name.
// Planning `host` from the slice gives exactly the plan from the whole topology.
model::Topology hostSlice(const model::Topology& pinned, const plan::CloudIndex& index,
                          const std::string& host);

}  // namespace dvr::server
