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
  return o;
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
    for (const auto& s : t->sets) {
      const auto &b = elementsOf(*before, s.name), &a = after.elements[s.name];
      for (const auto& e : b) {
        if (a.count(e))
          continue;
        std::string cmd =
            "delete element " + table + " " + s.name + " { " + (s.is_map ? keyOf(e) : e) + " }";
        c.script += cmd + "\n";
        c.lines.push_back("nft " + cmd);
      }
    }
    for (const auto& s : t->sets) {
      const auto &b = elementsOf(*before, s.name), &a = after.elements[s.name];
      for (const auto& e : a) {
        if (b.count(e))
          continue;
        std::string cmd = "add element " + table + " " + s.name + " { " + e + " }";
        c.script += cmd + "\n";
        c.lines.push_back("nft " + cmd);
      }
    }
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
