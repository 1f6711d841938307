// Connection tracking in a namespace, through libnetfilter_conntrack.
#pragma once

#include <vector>

#include "model/net.h"

namespace dvr::kernel {

// One dump of the namespace's conntrack table, deleting every connection whose original
// or reply destination is in `to` (conntrack -D -d / -q: flows of a removed floating IP)
// or whose original source is in `from` (conntrack -D -s: flows a VM started before it
// got a floating IP were tracked without NAT and would keep leaving un-NATed).
// Returns how many were deleted.
int flushConntrack(int netns_fd, const std::vector<Ipv4>& to, const std::vector<Ipv4>& from);

}  // namespace dvr::kernel
