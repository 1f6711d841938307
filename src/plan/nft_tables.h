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
  std::string type;  // e.g. "ipv4_addr : ipv4_addr" (a map) or "ether_addr"
  bool is_map = false;
  std::vector<std::string> elements;  // rendered, e.g. "192.168.74.104 : 192.168.111.5"
};

struct NftTable {
  std::string ns;
  std::string family;  // "ip" or "bridge"
  std::string name = kNftTableName;
  std::vector<NftSet> sets;
  std::vector<std::string> chains;  // each a complete "chain NAME { ... }" block

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

// Set elements as nftTables renders them, for element-wise changes.
namespace nft_element {
std::string fipDnat(const FloatingIpNat& f);  // map fip_dnat
std::string fipSnat(const FloatingIpNat& f);  // map fip_snat
std::string ifname(const std::string& dev);   // set tunnel_devs
std::string gatewayArp(const std::string& dev, Ipv4 ip);
std::string macToMac(Mac from, Mac to);  // map gateway_mac_of_port
}  // namespace nft_element

}  // namespace dvr::plan
