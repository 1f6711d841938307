// A write that only creates, associates, disassociates or deletes one floating IP (POST,
// PUT or DELETE /v2.0/floatingips), resolved from the cloud it was made on instead of resolving the
// whole cloud again.
//
// Contract: as appendedPort's (server/incremental_port.h). Given the state and resolved
// cloud before a write (every allocation pinned), the state after it and the rows that
// write changes, floatingIpChanged returns the cloud ipam::resolve would give for the state
// after, and pins the floating IP's address into `after` and its row, exactly as the full
// path (resolve, pinAllocations, changesSince) would. It answers only when the rows say the
// one topology change is one floating IP's row (a new one appended last, or one whose port
// changed), and only for the cases it knows to be equal: no address asked for, an external
// network with a subnet and a free address, a port with an address behind a router whose
// gateway is on that network, no other floating IP of that network on the port, and the
// host's fg- port and the router's link-local pair there already made and still needed
// (a new or dropped one moves other ports and pairs). Otherwise it returns nothing and
// changes nothing: the caller takes the full path, which also gives every refusal. Its
// cost: a pass over the subnet's ports and the floating IPs, and the copy of the cloud.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "model/cloud.h"
#include "server/api_state.h"
#include "store/store.h"

namespace dvr::server {

std::optional<model::Cloud> floatingIpChanged(const model::Cloud& before_cloud,
                                              const ApiState& before, ApiState& after,
                                              std::vector<store::RowChange>& rows,
                                              model::Cloud spare = {});

// A write that only deletes one floating IP (DELETE /v2.0/floatingips/ID): the cloud
// before without it, as resolve would give, when what it needed (the host's fg- port, the
// router's link-local pair there) is still needed by another floating IP; otherwise
// nothing (the full path). Costs a pass over the floating IPs and the copy of the cloud.
// Both build the cloud they return in `spare`'s lists (a cloud no longer needed: its
// items' memory is reused).
std::optional<model::Cloud> floatingIpDeleted(const model::Cloud& before_cloud,
                                              const ApiState& before, const ApiState& after,
                                              const std::vector<store::RowChange>& rows,
                                              model::Cloud spare = {});

// How many writes floatingIpChanged resolved since the process started (tests check that
// the incremental path is taken).
uint64_t floatingIpsResolved();
uint64_t floatingIpDeletesResolved();  // by floatingIpDeleted

}  // namespace dvr::server
