// Security groups, planned for one host (pure): which VM ports are filtered, by which
// groups' rules, the remote groups' members, the conntrack zone of each bridge port; and
// that plan rendered as nftables (plan/nft_tables.cc places it in the host namespace's
// `inet dvr` table and, for what only a bridge sees, in `bridge dvr`).
//
// The design (docs/design.md, "Security groups"): this kernel has no bridge-family
// conntrack, so a bridge with a filtered port turns on br_netfilter's IP hooks for itself
// only; connections are tracked in the inet family, in a zone per network. br_netfilter
// shows the inet family only the bridge as a packet's device, so bridge-family chains
// mark each frame with the port it came in by (its zone, and a VM's egress, filtered at
// prerouting) and then with the port it goes out by (a VM's ingress, filtered at
// forward). Anti-spoofing (IP and ARP) is bridge-family. Each port
// and each group has a chain of its own and each remote group a set: a rule added
// rewrites one chain, a port joining a group adds set elements and its own chain.
#pragma once

#include <string>

#include "model/cloud.h"
#include "plan/cloud_index.h"
#include "plan/host_plan.h"

namespace dvr::plan {

// The port filter of `host` (links must already hold the host's bridges and their ports).
PortFilter planPortFilter(const CloudIndex& index, const model::Host& host,
                          const std::vector<Link>& links);

// nft names, shared by the renderer, the reconciler's logs and the tracer.
namespace filter_names {
std::string ingressChain(const FilteredPort& p);                    // "in-<port id>"
std::string egressChain(const FilteredPort& p);                     // "out-<port id>"
std::string groupChain(const std::string& group_id, bool ingress);  // "sg-in-<id>"/"sg-out-<id>"
std::string remoteGroupSet(const std::string& group_id);            // "rg-<id>"
}  // namespace filter_names

// One rule's match in nft syntax, without its verdict ("tcp dport 22 ip saddr 0.0.0.0/0").
std::string ruleMatch(const FilterRule& rule, bool ingress);

}  // namespace dvr::plan
