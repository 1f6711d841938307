#include "server/list_query.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "model/cloud.h"
#include "server/api_error.h"
#include "server/neutron_views.h"
#include "server/subnet_pools.h"
#include "server/validators.h"

namespace dvr::server {

using nlohmann::json;
namespace v = validators;

namespace {

const std::set<std::string> kParameters{"fields",   "limit",    "marker",
                                        "sort_key", "sort_dir", "page_reverse"};
const std::set<std::string> kTagFilters{"tags", "tags-any", "not-tags", "not-tags-any"};

// One resource of the collection as the API shows it, with default values: its keys are
// the attributes a client may filter and sort on, its values their types.
const json& shape(const std::string& collection) {
  static const std::map<std::string, json> shapes = [] {
    ApiState s;
    model::Cloud c;
    View view{s, c};
    std::map<std::string, json> m;
    m["networks"] = view.network(model::Network{});
    m["subnets"] = view.subnet(model::Subnet{});
    m["ports"] = view.port(model::Port{});
    m["routers"] = view.router(model::Router{});
    m["floatingips"] = view.floatingIp(model::FloatingIp{});
    m["agents"] = view.agent("", json::object());
    m["security-groups"] = view.securityGroup(model::SecurityGroup{}, {});
    m["subnetpools"] = subnetPoolView(s, "");
    json rule = view.securityGroupRule("");
    rule["port_range_min"] = 0;  // integers, so that filters on them compare as integers
    rule["port_range_max"] = 0;
    m["security-group-rules"] = rule;
    return m;
  }();
  static const json none = json::object();
  auto it = shapes.find(collection);
  return it == shapes.end() ? none : it->second;
}

// Neutron's list_args: the non-empty values of a parameter.
std::vector<std::string> values(const Query& query, const std::string& key) {
  std::vector<std::string> out;
  auto [from, to] = query.equal_range(key);
  for (auto it = from; it != to; ++it) {
    if (!it->second.empty())
      out.push_back(it->second);
  }
  return out;
}

std::string pyList(const std::vector<std::string>& items) {
  return v::pyStr(json(items));
}

std::vector<std::string> commaSeparated(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty())
      out.push_back(item);
  }
  return out;
}

// A filter value as the attribute's type: Neutron converts booleans and integers.
json filterValue(const json& like, const std::string& text) {
  json value = text;
  if (like.is_boolean())
    v::toBoolean(value);
  else if (like.is_number_integer())
    v::toInt(value);
  return value;
}

bool matches(const json& have, const json& want) {
  if (have.is_string() && want.is_string())
    return have == want;
  if (have.is_boolean() || have.is_number_integer())
    return have == want;
  return have.dump() == (want.is_string() ? want.get<std::string>() : want.dump());
}

// fixed_ips=ip_address=A, fixed_ips=subnet_id=S (what `port list --fixed-ip` sends), as
// Neutron reads them: one of the port's fixed IPs has one of the addresses asked for and
// one of the subnets asked for.
std::pair<std::string, std::string> fixedIpFilter(const std::string& text) {
  size_t eq = text.find('=');
  std::string key = eq == std::string::npos ? "" : text.substr(0, eq);
  if (key != "ip_address" && key != "subnet_id" && key != "ip_address_substr")
    throw badRequest("Invalid input for fixed_ips filter: '" + text +
                     "'; expected ip_address=<address>, ip_address_substr=<part of one> or "
                     "subnet_id=<id>");
  return {key, text.substr(eq + 1)};
}

bool fixedIpsPass(const json& have, const std::vector<json>& wanted) {
  std::map<std::string, std::set<std::string>> want;  // ip_address / subnet_id -> values
  for (const auto& w : wanted) {
    auto [key, value] = fixedIpFilter(w.is_string() ? w.get<std::string>() : w.dump());
    want[key].insert(value);
  }
  return std::any_of(have.begin(), have.end(), [&](const json& fixed) {
    return std::all_of(want.begin(), want.end(),
                       [&](const std::pair<const std::string, std::set<std::string>>& kv) {
                         bool substr = kv.first == "ip_address_substr";
                         std::string key = substr ? "ip_address" : kv.first;
                         if (!fixed.contains(key) || !fixed[key].is_string())
                           return false;
                         std::string have = fixed[key].get<std::string>();
                         if (!substr)
                           return kv.second.count(have) > 0;
                         return std::any_of(kv.second.begin(), kv.second.end(),
                                            [&](const std::string& part) {
                                              return have.find(part) != std::string::npos;
                                            });
                       });
  });
}

bool tagsPass(const json& item, const std::string& filter, const std::vector<std::string>& want) {
  std::set<std::string> have;
  for (const auto& t : item.value("tags", json::array()))
    have.insert(t.get<std::string>());
  size_t found =
      std::count_if(want.begin(), want.end(), [&](const auto& t) { return have.count(t); });
  if (filter == "tags")
    return found == want.size();
  if (filter == "tags-any")
    return found > 0;
  if (filter == "not-tags")
    return found < want.size();
  return found == 0;  // not-tags-any
}

}  // namespace

void checkListQuery(const std::string& collection, const Query& query) {
  const json& attrs = shape(collection);
  std::vector<std::string> unknown;
  for (const auto& [key, value] : query) {
    if (kParameters.count(key) || kTagFilters.count(key))
      continue;
    if (!attrs.contains(key)) {
      if (std::find(unknown.begin(), unknown.end(), key) == unknown.end())
        unknown.push_back(key);
      continue;
    }
    if (!value.empty() && key == "fixed_ips" && collection == "ports")
      fixedIpFilter(value);
    else if (!value.empty())
      filterValue(attrs[key], value);  // InvalidInput for a value of the wrong type
  }
  if (!unknown.empty()) {
    std::string names;
    for (const auto& k : unknown)
      names += (names.empty() ? "" : ", ") + k;
    throw badRequest("[" + names + "] is invalid attribute for filtering");
  }
  for (const auto& limit : values(query, "limit")) {
    json n = limit;
    bool ok = true;
    try {
      v::toInt(n);
    } catch (const ApiError&) {
      ok = false;
    }
    if (!ok || n.get<long>() < 0)
      throw badRequest(
          "Bad limit request: Limit must be an integer 0 or greater and not '" + limit + "'.",
          "BadRequest");
  }
  for (const auto& reverse : values(query, "page_reverse")) {
    json b = reverse;
    v::toBoolean(b);  // Neutron's convert_to_boolean: 400 for anything else
  }
  for (const auto& marker : values(query, "marker")) {
    if (auto r = v::uuid(marker))
      throw badRequest("Bad marker request: " + *r + ".", "BadRequest");
  }
  std::vector<std::string> keys = values(query, "sort_key"), dirs = values(query, "sort_dir");
  if (keys.size() != dirs.size())
    throw badRequest("The number of sort_keys and sort_dirs must be same");
  std::vector<std::string> absent, bad_dirs;
  for (const auto& k : keys) {
    if (!attrs.contains(k))
      absent.push_back(k);
  }
  if (!absent.empty())
    throw badRequest(pyList(absent) + " is invalid attribute for sort_keys");
  for (const auto& d : dirs) {
    if (d != "asc" && d != "desc")
      bad_dirs.push_back(d);
  }
  if (!bad_dirs.empty())
    throw badRequest(pyList(bad_dirs) +
                     " is invalid value for sort_dirs, valid value is 'asc' and 'desc'");
}

namespace {

// Query strings of the links: percent-encoded, as a browser would send them.
std::string encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += char(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

std::string linkTo(const std::string& url, const Query& query, const std::string& marker,
                   bool reverse) {
  std::string q;
  for (const auto& [k, v] : query) {
    if (k == "marker" || k == "page_reverse")
      continue;
    q += (q.empty() ? "" : "&") + encode(k) + "=" + encode(v);
  }
  q += (q.empty() ? "" : "&") + std::string("marker=") + encode(marker);
  if (reverse)
    q += "&page_reverse=True";
  return url + "?" + q;
}

// The value an item sorts by: absent and null first, as SQL's NULLs sort in MySQL.
const json& sortValue(const json& item, const std::string& key) {
  static const json null;
  auto it = item.find(key);
  return it == item.end() ? null : *it;
}

}  // namespace

ListPage listPage(const std::string& collection, const json& items, const Query& query,
                  const std::string& url,
                  const std::function<std::exception_ptr(const std::string&)>& missing_marker) {
  Query no_fields;
  for (const auto& [k, v] : query) {
    if (k != "fields")
      no_fields.emplace(k, v);
  }
  json kept = filtered(collection, items, no_fields);  // whole items: sort keys may be cut

  std::vector<std::pair<std::string, bool>> sorts;  // key, ascending
  std::vector<std::string> keys = values(query, "sort_key"), dirs = values(query, "sort_dir");
  for (size_t i = 0; i < keys.size() && i < dirs.size(); ++i)
    sorts.emplace_back(keys[i], dirs[i] == "asc");
  long limit = 0;
  for (const auto& l : values(query, "limit")) {
    json n = l;
    v::toInt(n);  // checked by checkListQuery
    limit = n.get<long>();
  }
  bool paged = limit > 0;
  if (paged &&
      std::none_of(sorts.begin(), sorts.end(), [](const auto& s) { return s.first == "id"; }))
    sorts.emplace_back("id", true);
  auto less = [&](const json& a, const json& b) {
    for (const auto& [key, asc] : sorts) {
      const json &x = sortValue(a, key), &y = sortValue(b, key);
      if (x == y)
        continue;
      return asc ? x < y : y < x;
    }
    return false;
  };
  std::vector<json> list(kept.begin(), kept.end());
  if (!sorts.empty())
    std::stable_sort(list.begin(), list.end(), less);

  ListPage page;
  if (paged) {
    std::vector<std::string> markers = values(query, "marker");
    std::vector<std::string> reverses = values(query, "page_reverse");
    json reverse_value = reverses.empty() ? json(false) : json(reverses.back());
    v::toBoolean(reverse_value);
    bool reverse = reverse_value.get<bool>();
    size_t from = 0, to = list.size();
    if (!markers.empty()) {
      const std::string& marker = markers.back();
      auto m = std::find_if(items.begin(), items.end(),
                            [&](const json& x) { return x.value("id", std::string()) == marker; });
      if (m == items.end())
        std::rethrow_exception(missing_marker(marker));
      if (reverse)
        to = std::lower_bound(list.begin(), list.end(), *m, less) - list.begin();
      else
        from = std::upper_bound(list.begin(), list.end(), *m, less) - list.begin();
    }
    if (reverse)
      from = to > size_t(limit) ? to - size_t(limit) : 0;
    else
      to = std::min(list.size(), from + size_t(limit));
    std::vector<json> cut(list.begin() + long(from), list.begin() + long(to));
    bool short_page = cut.size() < size_t(limit);
    std::string first = cut.empty() ? (markers.empty() ? "" : markers.back())
                                    : cut.front().value("id", std::string());
    std::string last = cut.empty() ? first : cut.back().value("id", std::string());
    if (!(short_page && !reverse))
      page.links.push_back({{"rel", "next"}, {"href", linkTo(url, query, last, false)}});
    if (!(short_page && reverse))
      page.links.push_back({{"rel", "previous"}, {"href", linkTo(url, query, first, true)}});
    list = std::move(cut);
  }
  Query fields;
  auto [f_from, f_to] = query.equal_range("fields");
  fields.insert(f_from, f_to);
  page.items = filtered(collection, json(list), fields);
  return page;
}

json filtered(const std::string& collection, const json& items, const Query& query) {
  const json& attrs = shape(collection);
  std::map<std::string, std::vector<json>> filters;
  std::map<std::string, std::vector<std::string>> tag_filters;
  std::set<std::string> fields;
  for (const auto& [k, value] : query) {
    if (k == "fields")
      fields.insert(value);
    else if (kTagFilters.count(k))
      for (const auto& t : commaSeparated(value))
        tag_filters[k].push_back(t);
    else if (!kParameters.count(k) && attrs.contains(k) && !value.empty())
      filters[k].push_back(filterValue(attrs[k], value));
  }
  json out = json::array();
  for (const auto& item : items) {
    bool keep = true;
    for (const auto& [k, wanted] : filters) {
      if (k == "fixed_ips" && item.contains(k)) {
        keep = keep && fixedIpsPass(item[k], wanted);
        continue;
      }
      keep = keep && item.contains(k) &&
             std::any_of(wanted.begin(), wanted.end(),
                         [&](const json& w) { return matches(item[k], w); });
    }
    for (const auto& [k, tags] : tag_filters)
      keep = keep && tagsPass(item, k, tags);
    if (!keep)
      continue;
    if (fields.empty()) {
      out.push_back(item);
      continue;
    }
    json f = json::object();
    for (const auto& name : fields) {
      if (item.contains(name))
        f[name] = item[name];
    }
    out.push_back(f);
  }
  return out;
}

}  // namespace dvr::server
