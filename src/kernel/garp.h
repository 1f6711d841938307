// Gratuitous ARP: telling a link that an IPv4 address is now at a device's MAC, as
// `arping -U` does. A broadcast ARP request whose sender and target address are both the
// announced one: Linux neighbours override their entry for it at once (arp_is_garp),
// whatever their locktime.
//
// The first ARP leaves before garpAnnounce returns; the others are sent by one background
// thread, kGarpInterval apart (Neutron sends three, a second apart), on the packet socket
// opened for the first, so the caller never waits and later namespace changes do not
// matter. A device gone by then ends its repeats quietly.
#pragma once

#include <chrono>
#include <string>

#include "model/net.h"

namespace dvr::kernel {

inline constexpr int kGarpCount = 3;
inline constexpr std::chrono::milliseconds kGarpInterval{1000};

// The frame: Ethernet broadcast from `mac`, ARP request "who has ip? tell ip (mac)".
std::string garpFrame(const Mac& mac, Ipv4 ip);

// Announces `ip` on `dev` of the namespace `netns_fd` with the device's own MAC. Throws
// KernelError naming the device when the first ARP cannot be sent.
void garpAnnounce(int netns_fd, const std::string& dev, Ipv4 ip, const std::string& where);

}  // namespace dvr::kernel
