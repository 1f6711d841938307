// Which HA routers this host is active for: the host whose keepalived holds a router's
// first virtual address (its qg- address) is its active one; a host whose snat- holds
// none of it is a standby. Read from the kernel, so it follows keepalived at once,
// whatever the agent last applied.
#pragma once

#include <map>
#include <string>

#include "plan/host_plan.h"

namespace dvr::kernel {

// Router id -> "active" or "standby", for the plan's VRRP instances.
std::map<std::string, std::string> haStates(const plan::HostPlan& plan);

}  // namespace dvr::kernel
