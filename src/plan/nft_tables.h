// The nftables tables of a plan, one per namespace, rendered in nft(8) syntax.
// A table's structure (chains, set declarations) is separate from its set elements, so
// the reconciler replaces a table only when its structure changes and otherwise adds or
// deletes single elements (per-FIP state lives in maps, not in one rule each).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "plan/host_plan.h"

namespace dvr::plan {

inline constexpr const char* kNftTableName = "dvr";

struct NftSet {
  std::string name;
  // e.g. "ipv4_addr : ipv4_addr" (a map) or "ether_addr"; "typeof …" as it is
  std::string type;
  bool is_map = false;
  std::vector<std::string> elements;  // rendered, e.g. "192.168.74.104 : 192.168.111.5"
  std::string flags;                  // e.g. "interval"
  // Not part of the table's structure: added and deleted on its own (a remote group's
  // set comes and goes with the first and last rule naming the group).
  bool dynamic = false;
  std::string declaration() const;  // "type …" / "typeof …", and flags
};

// A regular chain reconciled on its own: its tag (a hash of its rules, kept in the
// comment of its first rule) says whether the kernel's is the plan's, so that one group's rule or
// one port's groups change that chain alone. Each of its rules ends in a comment of its
// own (a group's rule: its id; a port's: "#<hash of the rule>"): nft prints rules in its
// own words, but comments as written, so a rule replaced, added or deleted by hand shows
// in the listing as a comment sequence that is not the plan's.
struct NftChain {
  std::string name;
  std::string rules;  // each "    <rule> comment \"<its comment>\"\n"
  std::string tag() const;
  std::string tagRule() const;  // the chain's first rule, which carries the tag
  // The comment of each rule besides the tag rule, in order.
  std::vector<std::string> ruleComments() const;
  std::string text() const;  // "  chain NAME { <tag rule>; rules }"
};

// A rule's comment as nft prints it (the last `comment "…"`), or "" when it has none.
std::string ruleComment(const std::string& rule);

struct NftTable {
  std::string ns;
  std::string family;  // "ip", "bridge" or "inet"
  std::string name = kNftTableName;
  std::vector<NftSet> sets;
  std::vector<std::string> chains;  // each a complete "chain NAME { ... }" block
  std::vector<NftChain> tagged_chains;

  // The structure without elements; its hash tags the table (comment) in the kernel.
  std::string structure() const;
  std::string structureTag() const;
  // The whole table as one nft script ("table ... { ... }").
  std::string text() const;
};

// `with_elements` false leaves sets empty: enough for structure tags, and cheap.
std::vector<NftTable> nftTables(const HostPlan& plan, bool with_elements = true);
// Only the tables of `namespaces` (an incremental change renders what it touches).
std::vector<NftTable> nftTables(const HostPlan& plan, const std::set<std::string>& namespaces,
                                bool with_elements = true);
// Only the tables' structure: sets (dynamic ones too) without elements and base chains,
// no tagged chains. What a typed diff starts from (kernel/host_nft_delta.h): it costs the
// same however many ports a host filters.
std::vector<NftTable> nftStructures(const HostPlan& plan, const std::set<std::string>& namespaces);

// The chain of the ports whose chainGroups are `groups` (filter_names::portChain) and a
// group's ("sg-out-<group>", "sg-in-<group>"), as nftTables renders them.
NftChain portChain(const std::vector<std::string>& groups, bool ingress);
NftChain groupChain(const FilterGroup& g, bool ingress);

// The port filter's fixed sets and maps (remote groups' sets are filter_names::remoteGroupSet).
namespace filter_sets {
inline constexpr const char* kFilteredPorts = "filtered_ports";  // bridge: ifname
// A port's sources: single addresses (its fixed IPs, /32 address pairs) in a hash set,
// address pairs that are networks in an interval set. The kernel's interval set of a
// concatenation (pipapo) rebuilds itself on every element deleted: 28 ms to remove one
// port's element among 1,000, where a hash set's costs nothing.
inline constexpr const char* kPortSources = "port_sources";         // ifname . MAC . address
inline constexpr const char* kPortSourceNets = "port_source_nets";  // ifname . MAC . network
// The set `s` belongs in.
const char* sourceSet(const AllowedSource& s);
inline constexpr const char* kPortMarks = "port_marks";        // bridge: ifname : mark
inline constexpr const char* kZones = "zones";                 // inet: mark : ct zone
inline constexpr const char* kEgressPorts = "egress_ports";    // inet: mark : jump out-<port>
inline constexpr const char* kIngressPorts = "ingress_ports";  // inet: mark : jump in-<port>
}  // namespace filter_sets

// Set elements as nftTables renders them, for element-wise changes.
namespace nft_element {
std::string fipDnat(const FloatingIpNat& f);  // map fip_dnat
std::string fipSnat(const FloatingIpNat& f);  // map fip_snat
std::string ifname(const std::string& dev);   // set tunnel_devs
std::string gatewayArp(const std::string& dev, Ipv4 ip);
std::string macToMac(Mac from, Mac to);  // map gateway_mac_of_port
std::string address(Cidr c);             // 10.0.0.5 for a /32, 10.0.0.0/24 otherwise
std::string portSource(const std::string& dev, const AllowedSource& s);  // filter_sets::sourceSet
std::string mark(uint32_t m);                                            // 0x8000abcd
std::string portMark(const std::string& dev, uint32_t m);                // map port_marks
std::string zone(uint32_t mark, uint16_t zone);                          // map zones
std::string portVerdict(const PortFilter& f, const FilteredPort& p,
                        bool ingress);  // maps egress_/ingress_ports
}  // namespace nft_element

}  // namespace dvr::plan
