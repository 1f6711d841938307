// Reading a table back from `nft list table` text: its comment (dvr's structure tag)
// and the elements of each set and map. nft prints elements in the form dvr writes them
// (plan/nft_tables.cc: ifnames quoted, " . " between concatenated parts, " : " between a
// map's key and value), so they compare as strings.
#pragma once

#include <map>
#include <set>
#include <string>

namespace dvr::kernel {

struct ObservedNftTable {
  std::string family;
  std::string tag;  // the table's comment ("dvr:<hash of its structure>")
  std::map<std::string, std::set<std::string>> elements;  // set/map name -> elements
};

ObservedNftTable parseNftListing(const std::string& family, const std::string& text);

}  // namespace dvr::kernel
