#include "kernel/nft_apply.h"

#include <set>

namespace dvr::kernel {
namespace {

const std::set<std::string>& elementsOf(const ObservedNftTable& t, const std::string& set) {
  static const std::set<std::string> kNone;
  auto it = t.elements.find(set);
  return it == t.elements.end() ? kNone : it->second;
}

// "192.168.74.104 : 10.16.0.3" -> "192.168.74.104": a map element's key, which is what
// `delete element` takes.
std::string keyOf(const std::string& element) {
  return element.substr(0, element.find(" : "));
}

Ipv4 firstAddress(const std::string& element) {
  return Ipv4::parse(element.substr(0, element.find(' '))).value_or(Ipv4());
}

// Flow consequences of one table's change, from its fip_dnat/fip_snat maps.
void noteFlows(const ObservedNftTable* before, const ObservedNftTable* after, NftChange& c) {
  static const ObservedNftTable kEmpty;
  const ObservedNftTable& b = before ? *before : kEmpty;
  const ObservedNftTable& a = after ? *after : kEmpty;
  const auto &dnat_b = elementsOf(b, "fip_dnat"), &dnat_a = elementsOf(a, "fip_dnat");
  for (const auto& e : dnat_b) {
    if (!dnat_a.count(e))
      c.removed_fips.push_back(firstAddress(e));
  }
  const auto &snat_b = elementsOf(b, "fip_snat"), &snat_a = elementsOf(a, "fip_snat");
  for (const auto& e : snat_a) {
    if (!snat_b.count(e))
      c.new_fixed_ips.push_back(firstAddress(e));
  }
}

ObservedNftTable listed(const plan::NftTable& t) {
  ObservedNftTable o;
  o.family = t.family;
  o.tag = t.structureTag();
  for (const auto& s : t.sets)
    o.elements[s.name].insert(s.elements.begin(), s.elements.end());
  for (const auto& c : t.tagged_chains) {
    o.chain_tags[c.name] = c.tag();
    o.chain_rules[c.name] = c.ruleComments();
  }
  return o;
}

bool isTagged(const std::string& tag) {
  return tag.rfind("dvr:", 0) == 0;
}

// Within a table whose structure stays: dynamic sets and tagged chains made, refilled
// and removed, around the element changes (`elements`), in the order nftables accepts
// in one transaction: what is jumped to or looked up exists before what refers to it,
// and goes after.
void chainsAndSets(const plan::NftTable& t, const ObservedNftTable& before,
                   const ObservedNftTable& after, const std::string& table,
                   const std::string& elements, const std::vector<std::string>& element_lines,
                   NftChange& c) {
  auto emit = [&](const std::string& cmd) {
    c.script += cmd + "\n";
    c.lines.push_back("nft " + cmd);
  };
  for (const auto& s : t.sets) {
    if (s.dynamic && !before.elements.count(s.name)) {
      std::string declaration = s.declaration();  // "type …\n    flags …": one line here
      for (size_t at; (at = declaration.find("\n    ")) != std::string::npos;)
        declaration.replace(at, 5, "; ");
      emit("add " + std::string(s.is_map ? "map " : "set ") + table + " " + s.name + " { " +
           declaration + "; }");
    }
  }
  for (const auto& ch : t.tagged_chains) {
    if (!before.chain_tags.count(ch.name))
      emit("add chain " + table + " " + ch.name);
  }
  for (const auto& ch : t.tagged_chains) {
    auto it = before.chain_tags.find(ch.name);
    // Its tag says the plan's rules were written; its rules' comments, that none was
    // added, deleted or replaced by hand since (a full reconcile's listing: drift comes
    // back).
    auto n = before.chain_rules.find(ch.name);
    if (it != before.chain_tags.end() && it->second == ch.tag() &&
        (n == before.chain_rules.end() || n->second == ch.ruleComments()))
      continue;
    if (it != before.chain_tags.end())
      emit("flush chain " + table + " " + ch.name);
    emit("add rule " + table + " " + ch.name + " " + ch.tagRule());
    size_t start = 0;
    while (start < ch.rules.size()) {
      size_t end = ch.rules.find('\n', start);
      std::string rule = ch.rules.substr(start, end - start);
      rule.erase(0, rule.find_first_not_of(' '));
      c.script += "add rule " + table + " " + ch.name + " " + rule + "\n";
      start = end == std::string::npos ? ch.rules.size() : end + 1;
    }
  }
  c.script += elements;
  c.lines.insert(c.lines.end(), element_lines.begin(), element_lines.end());
  for (const auto& [name, tag] : before.chain_tags) {
    if (isTagged(tag) && !after.chain_tags.count(name)) {
      emit("flush chain " + table + " " + name);
      emit("delete chain " + table + " " + name);
    }
  }
  for (const auto& [name, elems] : before.elements) {
    if (!after.elements.count(name))
      emit("delete set " + table + " " + name);
  }
}

}  // namespace

NftTablesByFamily asListed(const std::vector<const plan::NftTable*>& tables) {
  NftTablesByFamily out;
  for (const plan::NftTable* t : tables)
    out[t->family] = listed(*t);
  return out;
}

NftChange nftChange(const NftTablesByFamily& have, const std::vector<const plan::NftTable*>& want) {
  NftChange c;
  std::set<std::string> wanted_families;
  for (const plan::NftTable* t : want) {
    wanted_families.insert(t->family);
    ObservedNftTable after = listed(*t);
    auto it = have.find(t->family);
    const ObservedNftTable* before = it == have.end() ? nullptr : &it->second;
    noteFlows(before, &after, c);
    const std::string table = t->family + " " + t->name;
    if (!before || before->tag != after.tag) {
      // Deletions first in one transaction: nft never sees the old table and the new.
      if (before)
        c.script += "delete table " + table + "\n";
      c.script += t->text();
      c.lines.push_back("nft -f - (table " + table + ", " + std::to_string(t->sets.size()) +
                        " sets, " + std::to_string(t->chains.size()) + " chains)");
      continue;
    }
    // Deletions first: nftables refuses to add a map key that still holds another value.
    std::string elements;
    std::vector<std::string> element_lines;
    for (const auto& s : t->sets) {
      const auto &b = elementsOf(*before, s.name), &a = after.elements[s.name];
      for (const auto& e : b) {
        if (a.count(e))
          continue;
        std::string cmd =
            "delete element " + table + " " + s.name + " { " + (s.is_map ? keyOf(e) : e) + " }";
        elements += cmd + "\n";
        element_lines.push_back("nft " + cmd);
      }
    }
    for (const auto& s : t->sets) {
      const auto &b = elementsOf(*before, s.name), &a = after.elements[s.name];
      for (const auto& e : a) {
        if (b.count(e))
          continue;
        std::string cmd = "add element " + table + " " + s.name + " { " + e + " }";
        elements += cmd + "\n";
        element_lines.push_back("nft " + cmd);
      }
    }
    chainsAndSets(*t, *before, after, table, elements, element_lines, c);
  }
  for (const auto& [family, t] : have) {
    if (wanted_families.count(family))
      continue;
    noteFlows(&t, nullptr, c);
    std::string cmd = "delete table " + family + " " + plan::kNftTableName;
    c.script = cmd + "\n" + c.script;
    c.lines.insert(c.lines.begin(), "nft " + cmd);
  }
  return c;
}

}  // namespace dvr::kernel
