// Connection tracking in a namespace, through libnetfilter_conntrack.
#pragma once

#include "model/net.h"

namespace dvr::kernel {

// Deletes every connection whose original or reply destination is `ip` (conntrack -D -d
// ip; conntrack -D -q ip). Returns how many were deleted.
int flushConntrack(int netns_fd, Ipv4 ip);
// Deletes every connection whose original source is `ip` (conntrack -D -s ip): flows a
// VM started before it got a floating IP were tracked without NAT and would keep
// leaving un-NATed.
int flushConntrackFrom(int netns_fd, Ipv4 ip);

}  // namespace dvr::kernel
