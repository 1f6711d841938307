#include "server/extra_dhcp_opts.h"

#include <set>

namespace dvr::server {

using nlohmann::json;
namespace v = validators;

namespace {

// neutron-lib's DHCP_OPT_NAME_MAX_LEN and DHCP_OPT_VALUE_MAX_LEN.
constexpr size_t kNameMax = 64;
constexpr size_t kValueMax = 255;

v::Reason notEmptyString(const json& x, size_t max_len) {
  if (v::Reason r = v::string(x, max_len))
    return r;
  if (x.get_ref<const std::string&>().find_first_not_of(" \t\n") == std::string::npos)
    return "'" + x.get<std::string>() + "' Blank strings are not permitted";
  return std::nullopt;
}

int ipVersionOf(const json& opt) {
  if (!opt.contains("ip_version") || opt["ip_version"].is_null())
    return 4;
  const json& ver = opt["ip_version"];
  return ver.is_string() ? std::stoi(ver.get<std::string>()) : ver.get<int>();
}

json normalized(const json& opt) {
  return {{"opt_name", opt["opt_name"]},
          {"opt_value", opt["opt_value"]},
          {"ip_version", ipVersionOf(opt)}};
}

}  // namespace

v::Reason extraDhcpOptsReason(const json& x) {
  if (x.is_null())
    return std::nullopt;
  if (!x.is_array())
    return "'" + v::pyStr(x) + "' is not a list";
  for (const auto& opt : x) {
    if (v::Reason r = v::dict(opt))
      return r;
    std::set<std::string> keys;
    for (const auto& [k, item] : opt.items())
      keys.insert(k);
    bool known = keys.count("opt_name") && keys.count("opt_value") &&
                 keys.size() == 2 + keys.count("ip_version");
    if (!known)
      return "Validation of dictionary's keys failed. Expected keys: {'opt_name', "
             "'opt_value'} Provided keys: " +
             v::pyStr(json(keys));
    if (v::Reason r = notEmptyString(opt["opt_name"], kNameMax))
      return r;
    if (!opt["opt_value"].is_null()) {
      if (v::Reason r = notEmptyString(opt["opt_value"], kValueMax))
        return r;
    }
    if (opt.contains("ip_version") && !opt["ip_version"].is_null()) {
      json ver = opt["ip_version"];
      if (ver.is_string()) {
        const std::string& t = ver.get_ref<const std::string&>();
        if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos)
          return "'" + t + "' is not an integer";
        ver = std::stoi(t);
      }
      if (!ver.is_number_integer())
        return "'" + v::pyStr(ver) + "' is not an integer";
      if (v::Reason r = v::values(ver, {4, 6}))
        return r;
    }
  }
  return std::nullopt;
}

json extraDhcpOptsOfNew(const json& requested) {
  return extraDhcpOptsUpdated(json::array(), requested);
}

json extraDhcpOptsUpdated(const json& had, const json& requested) {
  json out = had.is_array() ? had : json::array();
  if (!requested.is_array())
    return out;
  for (const auto& opt : requested) {
    json want = normalized(opt);
    auto same = [&](const json& o) {
      return o["opt_name"] == want["opt_name"] && o["ip_version"] == want["ip_version"];
    };
    auto it = std::find_if(out.begin(), out.end(), same);
    if (want["opt_value"].is_null()) {
      if (it != out.end())
        out.erase(it);
    } else if (it != out.end()) {
      (*it)["opt_value"] = want["opt_value"];
    } else {
      out.push_back(want);
    }
  }
  return out;
}

std::vector<model::DhcpOptionSpec> dhcpOptionsServed(const json& opts) {
  std::vector<model::DhcpOptionSpec> out;
  if (!opts.is_array())
    return out;
  for (const auto& o : opts) {
    if (!o.is_object() || ipVersionOf(o) != 4 || !o.contains("opt_value") ||
        o["opt_value"].is_null())
      continue;
    auto text = [](const json& x) { return x.is_string() ? x.get<std::string>() : x.dump(); };
    out.push_back({text(o["opt_name"]), text(o["opt_value"])});
  }
  return out;
}

}  // namespace dvr::server
