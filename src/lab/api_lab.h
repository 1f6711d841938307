// Inside the lab: the lab the Neutron way (`dvr lab up --api`). `dvr server` runs on the
// first dvr_snat host, agents follow it, and the topology's resources are created through
// its API as an operator would.
#pragma once

#include <string>

#include "model/cloud.h"

namespace dvr::lab {

// After build(cloud, false): starts the server and the agents, creates the resources,
// plugs the VMs, and waits until every agent has applied the server's slice of its host.
void startApiLab(const model::Cloud& file, const std::string& dvr_binary);
// The cloud as the server holds it (what the agents follow).
model::Cloud serverCloud();

}  // namespace dvr::lab
