// keepalived for an HA router (plan::VrrpInstance), as the daemon the host runs: its
// configuration file and command line. Pure: the kernel layer writes and runs it.
//
// The choices, against Neutron's (which waits about 3 s before a standby takes over):
// - VRRPv3 adverts every 0.2 s, so a standby takes over 0.6-0.8 s after the last advert
//   of an active host that died (3 adverts missed plus the skew);
// - every host starts BACKUP at one priority with nopreempt: a host that comes back
//   never takes the role from the active one;
// - unicast adverts to the other hosts' ha- addresses (no multicast needed over VXLAN);
// - the qg- address is the instance's virtual address; the sg- addresses and the default
//   route go with it (excluded from the adverts, as Neutron does);
// - on becoming active, gratuitous ARPs at once and again a second later;
// - a host whose uplink or tunnel device is down goes to FAULT (a track file the kernel
//   layer keeps, plan::LinkWatch) and gives up the addresses: cut off, it does not stay
//   a second master that wins the election back when it returns (equal priorities are
//   decided by the higher address, whichever host carried the traffic).
#pragma once

#include <string>

#include "plan/host_plan.h"

namespace dvr::plan {

inline constexpr int kVrrpPriority = 50;              // Neutron's HA_DEFAULT_PRIORITY
inline constexpr const char* kVrrpAdvertInt = "0.2";  // seconds
inline constexpr const char* kUplinksDownFile = "uplinks-down";

std::string keepalivedConfig(const std::string& host, const VrrpInstance& v);
Daemon keepalivedDaemon(const std::string& host, const VrrpInstance& v);

}  // namespace dvr::plan
