#include "kernel/nft_listing.h"

#include <sstream>

#include "plan/nft_tables.h"

namespace dvr::kernel {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\n");
  if (b == std::string::npos)
    return "";
  return s.substr(b, s.find_last_not_of(" \t\n") - b + 1);
}

// `word` followed by one space at the start of `line` (after indentation): what follows.
bool startsWith(const std::string& line, const std::string& word, std::string& rest) {
  if (line.compare(0, word.size(), word) != 0)
    return false;
  rest = line.substr(word.size());
  return true;
}

}  // namespace

ObservedNftTable parseNftListing(const std::string& family, const std::string& text) {
  ObservedNftTable t;
  t.family = family;
  std::istringstream in(text);
  std::string current;   // the set or map being read
  std::string chain;     // the chain being read
  std::string elements;  // its "elements = { … }" text, which nft wraps over lines
  bool in_elements = false;
  for (std::string raw; std::getline(in, raw);) {
    std::string line = trim(raw), rest;
    if (in_elements) {
      elements += " " + line;
    } else if (startsWith(line, "comment \"", rest) && current.empty()) {
      if (chain.empty())
        t.tag = rest.substr(0, rest.find('"'));
      continue;
    } else if (!chain.empty() && startsWith(line, "counter ", rest) &&
               rest.find("comment \"dvr:") != std::string::npos && t.chain_tags[chain].empty()) {
      // A tagged chain's first rule (plan::NftChain::tagRule).
      rest = rest.substr(rest.find("comment \"dvr:") + 9);
      t.chain_tags[chain] = rest.substr(0, rest.find('"'));
      continue;
    } else if (startsWith(line, "chain ", rest)) {
      chain = rest.substr(0, rest.find(' '));
      t.chain_tags[chain];  // present, even without a comment
      t.chain_rules[chain].clear();
      continue;
    } else if (startsWith(line, "set ", rest) || startsWith(line, "map ", rest)) {
      current = rest.substr(0, rest.find(' '));
      t.elements[current];  // present, even when empty
      continue;
    } else if (startsWith(line, "elements = {", rest) && !current.empty()) {
      elements = rest;
      in_elements = true;
    } else {
      if (line == "}") {
        current.clear();
        chain.clear();
      } else if (!chain.empty() && !line.empty() && line.rfind("type ", 0) != 0 &&
                 line.rfind("policy ", 0) != 0) {
        // a rule (a base chain's declaration is not one)
        t.chain_rules[chain].push_back(plan::ruleComment(line));
      }
      continue;
    }
    if (elements.empty() || elements.back() != '}')
      continue;
    in_elements = false;
    elements.pop_back();
    // Elements are separated by ", "; none of dvr's (addresses, MACs, quoted device
    // names) holds a comma.
    std::istringstream items(elements);
    for (std::string item; std::getline(items, item, ',');) {
      if (!trim(item).empty())
        t.elements[current].insert(trim(item));
    }
  }
  return t;
}

}  // namespace dvr::kernel
