// The nftables step of a reconcile, for one namespace: from the tables it holds (read
// back from the kernel, or the previous plan's, in the same form) to the plan's, as one
// transaction. A table whose structure tag differs is replaced whole; otherwise only set
// and map elements are added and deleted (per-floating-IP state lives in maps).
//
// Pure: builds the script and its log lines; the reconciler runs it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kernel/nft_listing.h"
#include "model/net.h"
#include "plan/nft_tables.h"

namespace dvr::kernel {

using NftTablesByFamily = std::map<std::string, ObservedNftTable>;

struct NftChange {
  std::string script;              // one transaction; empty when nothing differs
  std::vector<std::string> lines;  // nft commands, for the log
  // Conntrack consequences: floating IPs whose DNAT went or changed (their flows must
  // go), and fixed IPs that gained a floating IP (their un-NATed flows must go).
  std::vector<Ipv4> removed_fips, new_fixed_ips;
};

NftChange nftChange(const NftTablesByFamily& have, const std::vector<const plan::NftTable*>& want);

// A plan's tables as the kernel would list them: the "before" of an incremental reconcile.
NftTablesByFamily asListed(const std::vector<const plan::NftTable*>& tables);

}  // namespace dvr::kernel
