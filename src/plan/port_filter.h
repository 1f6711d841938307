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
// forward). Anti-spoofing (IP and ARP) is bridge-family. Each group has a chain of its
// own, each remote group a set, and each combination of groups that ports are in a chain
// (the port's chain: what a port's packets go through, shared by the ports of that
// combination): a rule added rewrites one chain, a port joining a group adds set
// elements only (and a chain when it is the first port of its combination).
#pragma once

#include <string>

#include "model/cloud.h"
#include "plan/cloud_index.h"
#include "plan/host_plan.h"

namespace dvr::plan {

// The port filter of `host` (links must already hold the host's bridges and their ports).
PortFilter planPortFilter(const CloudIndex& index, const model::Host& host,
                          const std::vector<Link>& links);

// The groups a port's chains jump to, in the port's order: those of its groups the
// filter has. Ports with the same list share their chains.
std::vector<std::string> chainGroups(const PortFilter& f, const FilteredPort& p);

// nft names, shared by the renderer, the reconciler's logs and the tracer.
namespace filter_names {
// The chain of the ports whose chainGroups are `groups`: "in-<hash>"/"out-<hash>", the
// hash (16 hex digits) of the list. One chain per combination, not per port: nftables
// (userspace cache and the kernel's loop check) costs per chain on every transaction.
std::string portChain(const std::vector<std::string>& groups, bool ingress);
std::string groupChain(const std::string& group_id, bool ingress);  // "sg-in-<id>"/"sg-out-<id>"
std::string remoteGroupSet(const std::string& group_id);            // "rg-<id>"
}  // namespace filter_names

// One rule's match in nft syntax, without its verdict ("tcp dport 22 ip saddr 0.0.0.0/0").
std::string ruleMatch(const FilterRule& rule, bool ingress);

}  // namespace dvr::plan
