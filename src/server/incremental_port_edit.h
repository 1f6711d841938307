// Writes that change a cloud without resolving it again: a VM port deleted (DELETE
// /v2.0/ports/ID), a VM port bound to another host (PUT of binding:host_id, as Nova binds a
// port it made unbound), and any write whose rows are attributes only (names,
// descriptions, tags: rows that do not reach resolve).
//
// Contract: as appendedPort's (server/incremental_port.h). Given the state and resolved
// cloud before a write (every allocation pinned), the state after it and the rows that
// write changes, each returns the cloud ipam::resolve would give for the state after, or
// nothing and changes nothing (the caller takes the full path, which also gives every
// refusal). They answer only for the cases they know to be equal:
//  - removedPort: the rows delete one VM row and no other topology row; the port is on an
//    internal network, no floating IP NATs to it, it comes after every router's port and
//    before the fg- ports (the order resolve makes), and no link-local pair's MAC probe
//    passed over its MAC (that pair would take the freed MAC back). `index` then
//    describes the cloud returned (its revision left to the caller).
//  - reboundPort: the rows change one VM row, whose spec differs from before in its host
//    alone; the new host is known (or none), the port is on an internal network, holds
//    no subnet's gateway address, and no floating IP NATs to it (its host's fg- port and
//    pair would follow it).
//  - onlyAttributeRows: every row is an attribute row; the cloud is the one before, which
//    unchangedCloud copies.
// Each costs a pass over the ports or floating IPs and the copy of the cloud, built in
// `spare`'s lists (a cloud no longer needed: its items' memory is reused).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "model/cloud.h"
#include "server/api_state.h"
#include "server/incremental_port.h"
#include "store/store.h"

namespace dvr::server {

std::optional<model::Cloud> removedPort(const model::Cloud& before_cloud, const ApiState& before,
                                        const ApiState& after,
                                        const std::vector<store::RowChange>& rows, PortIndex& index,
                                        model::Cloud spare = {});

std::optional<model::Cloud> reboundPort(const model::Cloud& before_cloud, const ApiState& before,
                                        const ApiState& after,
                                        const std::vector<store::RowChange>& rows,
                                        model::Cloud spare = {});

bool onlyAttributeRows(const std::vector<store::RowChange>& rows);
model::Cloud unchangedCloud(const model::Cloud& before_cloud, model::Cloud spare = {});

// How many writes each resolved since the process started (tests check that the
// incremental paths are taken).
uint64_t removedPortsResolved();
uint64_t reboundPortsResolved();
uint64_t attributeWritesResolved();

}  // namespace dvr::server
