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
// every refusal. Its lookups go through a PortIndex of the cloud before (built by one pass
// over its ports, then kept by each port it appends); what remains linear is the copy of
// the cloud.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "model/cloud.h"
#include "server/api_state.h"
#include "store/store.h"

namespace dvr::server {

// What appendedPort looks up in a cloud: the MACs its ports hold, the link-local pairs'
// MACs, each subnet's addresses in use (its gateway's too), the VM ports' names, where
// the fg- ports begin. A writer keeps one from write to write (`revision` says which
// cached cloud it describes) instead of passing over 100,000 ports per port created.
struct PortIndex {
  uint64_t revision = 0;  // of the cloud it describes; 0: none
  std::unordered_set<uint64_t> port_macs, link_local_macs;
  std::unordered_map<std::string, std::unordered_set<uint32_t>> used_ips;  // subnet id ->
  std::unordered_set<std::string> vm_names;
  size_t first_fg = 0;  // the index of the first fg- port (ports.size(): none)
  bool ordered = true;  // no other port after the first fg- port: appendedPort's order
  // The link-local pairs' MACs that are not the first of their probe (a MAC in use when
  // the pair was made): the 24-bit probe from the first candidate up to the MAC taken. A
  // port deleted whose MAC lies in one would give the full path's pair that MAC instead.
  struct Probe {
    uint32_t first, taken;
    bool passes(uint64_t mac) const;  // in [first, taken), the probe wrapping at 2^24
  };
  std::vector<Probe> displaced_link_local_macs;
  static PortIndex of(const model::Cloud& c, uint64_t revision);
};

// `c` built in `out`'s lists (assigned over: their items keep their memory), its ports
// spliced at `at`: `inserted` put there, or without one the port at `at` left out. The
// ports are copied around the splice, not copied and then moved again. Every other list
// as in `c` (the differential test compares whole clouds).
model::Cloud splicedPorts(const model::Cloud& c, size_t at, const model::Port* inserted,
                          model::Cloud out);

// `index` describes `before_cloud`; when a port is appended, it is changed to describe
// the cloud returned (its revision left to the caller), else left as it was. The cloud
// returned is built in `spare`'s lists (a cloud no longer needed), reusing their memory.
std::optional<model::Cloud> appendedPort(const model::Cloud& before_cloud, const ApiState& before,
                                         ApiState& after, std::vector<store::RowChange>& rows,
                                         PortIndex& index, model::Cloud spare = {});

// How many writes appendedPort resolved since the process started (tests check that the
// incremental path is taken).
uint64_t appendedPortsResolved();

}  // namespace dvr::server
