// A write that only adds one port (POST /v2.0/ports of a VM port), resolved from the
// cloud it was made on instead of resolving the whole cloud again.
//
// Contract: given the state and resolved cloud before a write (the cloud ipam::resolve
// gave for that state, every allocation pinned), the state after it and the rows that
// write changes, appendedPort returns the cloud ipam::resolve would give for the state
// after, and pins the new port's allocations into `after` and its row, exactly as
// NeutronApi's full path (resolve, pinAllocations, changesSince) would. It answers only
// when the rows say the one topology change is a VM port appended last, and only for the
// cases it knows to be equal: no MAC, fixed IP, further fixed IPs or address pairs asked
// for, an internal network, a subnet with a free address, known host and groups, and a
// MAC that no link-local pair holds (those are allocated after the VMs). Otherwise it
// returns nothing and changes nothing: the caller takes the full path, which also gives
// every refusal. Its cost: one pass over the cloud's ports (the subnet's used addresses,
// the used MACs) and the copy of the cloud.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "model/cloud.h"
#include "server/api_state.h"
#include "store/store.h"

namespace dvr::server {

std::optional<model::Cloud> appendedPort(const model::Cloud& before_cloud, const ApiState& before,
                                         ApiState& after, std::vector<store::RowChange>& rows);

// How many writes appendedPort resolved since the process started (tests check that the
// incremental path is taken).
uint64_t appendedPortsResolved();

}  // namespace dvr::server
