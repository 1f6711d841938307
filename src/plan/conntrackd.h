// conntrackd for an HA router (plan::VrrpInstance), as the daemon each of its hosts runs
// in the router's snat- namespace. Pure: the kernel layer writes and runs it.
//
// Why: a host that becomes active would otherwise meet established connections it has
// never seen. Linux's loose TCP pickup lets it SNAT them again, but only to whatever
// port is free there, and not at all with pickup off (which keeps a mid-stream packet
// from leaving with its private source). conntrackd (Debian's package, FTFW mode) keeps
// the active host's connection-tracking table, NAT included, in the other hosts'
// external caches; keepalived's notify script makes the host becoming active commit
// that cache into its kernel before it routes, and a standby ask for the state afresh.
// The sync runs over the router's ha- port, multicast (the HA network floods it to every
// host of the router), so that any number of hosts can take part.
#pragma once

#include <string>

#include "plan/host_plan.h"

namespace dvr::plan {

inline constexpr const char* kConntrackdGroup = "225.0.0.50";  // conntrackd's default
inline constexpr int kConntrackdPort = 3780;

std::string conntrackdName(const VrrpInstance& v);
std::string conntrackdConfig(const VrrpInstance& v);
// keepalived's notify for a state change, "$1" primary or backup.
std::string conntrackdNotifyScript();
Daemon conntrackdDaemon(const VrrpInstance& v);

}  // namespace dvr::plan
