// The host namespace's nftables change between two plans, from their typed state
// (HostPlan::dvr_mac and ::port_filter) rather than from their rendered tables: a host
// has thousands of filtered ports, and one port joining a group must cost the same
// however many there are.
//
// When neither table's structure changed, each side holds only what differs:
//  - `have` (as the kernel would list it): the elements the old plan has and the new
//    lacks, the tags of the tagged chains that change or go, and every dynamic set the
//    old plan has (so that one not named on the other side is deleted);
//  - `want`: the new structure (sets, base chains), the elements only the new plan has,
//    and the tagged chains that are new or changed.
// nftChange (kernel/nft_apply.h) turns that into the commands of exactly that change.
// nullopt when a table's structure changed (or a table comes or goes): render whole.
//
// Pure: reads nothing, trusts that the kernel holds `before` (the incremental path; a
// refused transaction falls back to the kernel's listing, kernel/reconciler.cc).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kernel/nft_apply.h"
#include "plan/host_plan.h"
#include "plan/nft_tables.h"

namespace dvr::kernel {

struct NftDelta {
  NftTablesByFamily have;
  std::vector<plan::NftTable> want;
};

std::optional<NftDelta> hostNftDelta(const plan::HostPlan& before, const plan::HostPlan& after);

}  // namespace dvr::kernel
