// Reading a table back from `nft list table` text: its comment (dvr's structure tag),
// the elements of each set and map, and each chain's comment (a tagged chain's hash). nft prints
// elements in the form dvr writes them (plan/nft_tables.cc: ifnames quoted, " . " between
// concatenated parts, " : " between a map's key and value), so they compare as strings.
// A chain's rules are not read (nft prints them in its own words): only their comments,
// which it prints as written.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace dvr::kernel {

struct ObservedNftTable {
  std::string family;
  std::string tag;  // the table's comment ("dvr:<hash of its structure>")
  std::map<std::string, std::set<std::string>> elements;  // set/map name -> elements
  std::map<std::string, std::string> chain_tags;          // chain name -> its comment
  // Chain name -> the comment of each rule besides its tag rule, in order ("" for a rule
  // without one). A tagged chain edited by hand keeps its tag; a rule added, deleted or
  // replaced shows here (plan::NftChain). Compared only where known (a listing, or a
  // plan's whole table; not an incremental change's "before").
  std::map<std::string, std::vector<std::string>> chain_rules;
};

ObservedNftTable parseNftListing(const std::string& family, const std::string& text);

}  // namespace dvr::kernel
