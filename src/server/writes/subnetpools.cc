// POST/PUT/DELETE /v2.0/subnetpools (server/subnet_pools.h)
#include <algorithm>

#include "server/api_error.h"
#include "server/request_args.h"
#include "server/state_edit.h"
#include "server/subnet_pools.h"
#include "server/validators.h"

namespace dvr::server {

using namespace dvr::model;

namespace {

const json& poolAttrs(const ApiState& s, const std::string& id) {
  static const json none = json::object();
  if (!s.attrs.contains(kPoolAttrs) || !s.attrs[kPoolAttrs].contains(id))
    return none;
  return s.attrs[kPoolAttrs][id];
}

const json& existingPool(const ApiState& s, const std::string& id) {
  const json& a = poolAttrs(s, id);
  if (a.empty())
    throw notFound("Subnet pool " + id + " could not be found.", "SubnetPoolNotFound");
  return a;
}

std::vector<Cidr> prefixesOf(const json& a) {
  std::vector<Cidr> out;
  for (const auto& p : a.value("prefixes", json::array()))
    out.push_back(*Cidr::parse(p.get<std::string>()));
  return out;
}

// prefixes: a non-empty list of IPv4 CIDRs, each normalised (Neutron compacts them too).
json prefixesArg(const json& list) {
  if (!list.is_array() || list.empty())
    throw badRequest("Invalid input for prefixes. Reason: a non-empty list of CIDRs is required.");
  std::vector<Cidr> cidrs;
  for (const auto& p : list) {
    auto c = p.is_string() ? Cidr::parse(p.get<std::string>()) : std::nullopt;
    if (!c)
      throw badRequest("Invalid input for prefixes. Reason: '" + validators::pyStr(p) +
                       "' is not a valid IPv4 subnet.");
    Cidr n = c->network();
    if (std::find(cidrs.begin(), cidrs.end(), n) == cidrs.end())
      cidrs.push_back(n);
  }
  std::sort(cidrs.begin(), cidrs.end());
  json out = json::array();
  for (const auto& c : cidrs)
    out.push_back(c.str());
  return out;
}

long prefixLen(const json& b, const char* key, long fallback) {
  if (!b.contains(key) || b[key].is_null())
    return fallback;
  json n = b[key];
  validators::toInt(n);
  if (validators::range(n, 0, 32))
    throw badRequest(std::string("Invalid input for ") + key + ". Reason: '" +
                     validators::pyStr(b[key]) + "' is not in range 0 through 32.");
  return n.get<long>();
}

// Neutron's checks of a pool's bounds: min <= default <= max, each prefix at most min long.
void checkBounds(const json& a) {
  long lo = a["min_prefixlen"], def = a["default_prefixlen"], hi = a["max_prefixlen"];
  if (!(lo <= def && def <= hi))
    throw badRequest("Illegal prefix bounds: min_prefixlen=" + std::to_string(lo) +
                         ", default_prefixlen=" + std::to_string(def) +
                         ", max_prefixlen=" + std::to_string(hi) + ".",
                     "IllegalSubnetPoolPrefixBounds");
  for (const auto& p : prefixesOf(a)) {
    if (p.len < lo)
      throw badRequest("Illegal prefix bounds: prefix " + p.str() + " is shorter than " +
                           "min_prefixlen " + std::to_string(lo) + ".",
                       "IllegalSubnetPoolPrefixBounds");
  }
}

void refuseUnsupported(const json& b) {
  if (b.contains("address_scope_id") && !b["address_scope_id"].is_null())
    throw badRequest("Address scopes are not supported by dvr: address_scope_id must be null");
  if (b.contains("default_quota") && !b["default_quota"].is_null())
    throw badRequest("Subnet pool quotas are not supported by dvr: default_quota must be null");
  if (b.contains("ip_version") && b["ip_version"] != 4)
    throw badRequest("dvr serves IPv4 subnet pools only (ip_version 4)");
}

const std::set<std::string> kPoolKeys{
    "name",          "description",   "project_id",        "tags",   "prefixes",
    "min_prefixlen", "max_prefixlen", "default_prefixlen", "shared", "is_default"};

std::string create(ApiState& s, const WriteRequest& w) {
  json b = parseBody(w.http, "subnetpool");
  allowOnly(b, with(kCommonAttrs,
                    {"prefixes", "min_prefixlen", "max_prefixlen", "default_prefixlen", "shared",
                     "is_default", "address_scope_id", "default_quota", "ip_version"}));
  refuseUnsupported(b);
  if (!b.contains("prefixes"))
    throw badRequest("Failed to parse request. Required attribute 'prefixes' not specified");
  json a = b;
  a["prefixes"] = prefixesArg(b["prefixes"]);
  a["min_prefixlen"] = prefixLen(b, "min_prefixlen", 8);
  a["max_prefixlen"] = prefixLen(b, "max_prefixlen", 32);
  a["default_prefixlen"] = prefixLen(b, "default_prefixlen", a["min_prefixlen"]);
  a["shared"] = boolean(b, "shared", false);
  a["is_default"] = boolean(b, "is_default", false);
  checkBounds(a);
  std::string id = newId(s, "subnetpool");
  setAttrs(s, kPoolAttrs, id, a, kPoolKeys, true);
  return id;
}

std::vector<Cidr> subnetsOf(const ApiState& s, const std::string& pool) {
  std::vector<Cidr> out;
  for (const auto& sn : s.topo.subnets) {
    if (s.attrs.contains("subnets") && s.attrs["subnets"].contains(sn.name) &&
        s.attrs["subnets"][sn.name].value("subnetpool_id", std::string()) == pool)
      out.push_back(sn.cidr);
  }
  return out;
}

void update(ApiState& s, const WriteRequest& w) {
  json a = existingPool(s, w.id);
  json b = parseBody(w.http, "subnetpool");
  allowOnly(b,
            with(kCommonAttrs, {"prefixes", "min_prefixlen", "max_prefixlen", "default_prefixlen",
                                "is_default", "address_scope_id", "default_quota"}),
            {"id", "shared", "ip_version", "project_id", "tenant_id"});
  refuseUnsupported(b);
  if (b.contains("prefixes")) {
    json now = prefixesArg(b["prefixes"]);
    // Neutron: a pool only grows; each of its subnets stays inside it.
    for (const auto& old : prefixesOf(a)) {
      bool kept = std::any_of(now.begin(), now.end(), [&](const json& p) {
        Cidr c = *Cidr::parse(p.get<std::string>());
        return c.len <= old.len && c.contains(old.addr);
      });
      if (!kept)
        throw badRequest(
            "Illegal update to prefixes: Existing prefixes must be a subset of the "
            "new prefixes",
            "IllegalSubnetPoolPrefixUpdate");
    }
    a["prefixes"] = now;
  }
  a["min_prefixlen"] = prefixLen(b, "min_prefixlen", a["min_prefixlen"]);
  a["max_prefixlen"] = prefixLen(b, "max_prefixlen", a["max_prefixlen"]);
  a["default_prefixlen"] = prefixLen(b, "default_prefixlen", a["default_prefixlen"]);
  a["is_default"] = boolean(b, "is_default", a.value("is_default", false));
  for (const char* k : {"name", "description", "tags"}) {
    if (b.contains(k))
      a[k] = b[k];
  }
  checkBounds(a);
  setAttrs(s, kPoolAttrs, w.id, a, kPoolKeys, false);
}

void remove(ApiState& s, const std::string& id) {
  existingPool(s, id);
  if (!subnetsOf(s, id).empty())
    throw conflict("Unable to complete operation on subnet pool " + id +
                       ". Subnet pool has existing allocations.",
                   "SubnetPoolInUse");
  s.eraseAttrs(kPoolAttrs, id);
}

}  // namespace

json subnetPoolView(const ApiState& s, const std::string& id) {
  const json& a = poolAttrs(s, id);
  std::string project = a.value("project_id", std::string(""));
  return {{"id", id},
          {"name", a.value("name", std::string(""))},
          {"description", a.value("description", std::string(""))},
          {"project_id", project},
          {"tenant_id", project},
          {"tags", a.value("tags", json::array())},
          {"created_at", a.value("created_at", std::string(""))},
          {"updated_at", a.value("updated_at", std::string(""))},
          {"revision_number", a.value("revision_number", 0)},
          {"prefixes", a.value("prefixes", json::array())},
          {"min_prefixlen", a.value("min_prefixlen", 8)},
          {"max_prefixlen", a.value("max_prefixlen", 32)},
          {"default_prefixlen", a.value("default_prefixlen", 8)},
          {"shared", a.value("shared", false)},
          {"is_default", a.value("is_default", false)},
          {"ip_version", 4},
          {"address_scope_id", nullptr},
          {"default_quota", nullptr}};
}

Cidr subnetFromPool(const ApiState& s, const std::string& pool, const std::optional<Cidr>& asked,
                    std::optional<long> prefixlen) {
  const json& a = existingPool(s, pool);
  std::vector<Cidr> prefixes = prefixesOf(a), taken = subnetsOf(s, pool);
  long lo = a["min_prefixlen"], hi = a["max_prefixlen"];
  auto free = [&](const Cidr& c) {
    return std::none_of(taken.begin(), taken.end(), [&](const Cidr& t) { return t.overlaps(c); });
  };
  if (asked) {
    bool inside = std::any_of(prefixes.begin(), prefixes.end(), [&](const Cidr& p) {
      return p.len <= asked->len && p.contains(asked->addr);
    });
    if (!inside)
      throw badRequest(
          "Cidr " + asked->str() + " is not within the prefixes of subnet pool " + pool + ".",
          "InvalidInput");
    if (asked->len < lo || asked->len > hi)
      throw badRequest("Illegal subnet pool prefix length: prefix length " +
                           std::to_string(asked->len) + " is outside " + std::to_string(lo) +
                           " to " + std::to_string(hi) + ".",
                       "InvalidInput");
    if (!free(*asked))
      throw badRequest("Failed to allocate subnet: " + asked->str() +
                           " overlaps a subnet of subnet pool " + pool + ".",
                       "SubnetAllocationError");
    return *asked;
  }
  long len = prefixlen.value_or(a["default_prefixlen"].get<long>());
  if (len < lo || len > hi)
    throw badRequest("Illegal subnet pool prefix length: prefix length " + std::to_string(len) +
                         " is outside " + std::to_string(lo) + " to " + std::to_string(hi) + ".",
                     "InvalidInput");
  for (const auto& p : prefixes) {
    if (p.len > len)
      continue;
    uint64_t step = uint64_t{1} << (32 - len);
    for (uint64_t at = p.addr.value(); at < uint64_t(p.addr.value()) + p.size(); at += step) {
      Cidr c{Ipv4(uint32_t(at)), uint8_t(len)};
      if (free(c))
        return c;
    }
  }
  throw conflict("Failed to allocate subnet: Insufficient prefix space to allocate subnet size /" +
                     std::to_string(len) + ".",
                 "SubnetAllocationError");
}

WriteOutcome writeSubnetPool(ApiState& s, const WriteRequest& w) {
  return write({create, update, remove,
                [](const View& v, const std::string& id) {
                  return json{{"subnetpool", subnetPoolView(v.s, id)}};
                }},
               s, w);
}

}  // namespace dvr::server
