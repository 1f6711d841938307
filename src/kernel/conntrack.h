// Connection tracking in a namespace, through libnetfilter_conntrack.
#pragma once

#include "model/net.h"

namespace dvr::kernel {

// Deletes every connection whose original or reply destination is `ip` (conntrack -D -d
// ip; conntrack -D -q ip). Returns how many were deleted.
int flushConntrack(int netns_fd, Ipv4 ip);

}  // namespace dvr::kernel
