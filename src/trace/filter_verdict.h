// The security-group verdict for one packet at one filtered VM port, from the plan's
// typed port filter (plan::PortFilter) — the same intent the nftables chains are
// rendered from, interpreted: anti-spoofing on the way out, a reply of an allowed
// connection passes as established, otherwise the first rule of the port's groups that
// matches, or none (dropped). Pure.
#pragma once

#include <string>

#include "plan/host_plan.h"
#include "trace/tracer.h"

namespace dvr::trace {

struct FilterVerdict {
  bool allowed = false;
  std::string why;  // "accepted by rule R of group G (tcp dport 22)", "no rule … allows …"
};

// `ingress`: the packet goes to the VM; otherwise it comes from it. `reply`: the packet
// answers a connection the walk already let through.
FilterVerdict filterVerdict(const plan::PortFilter& filter, const plan::FilteredPort& port,
                            bool ingress, const Packet& packet, bool reply);

}  // namespace dvr::trace
