#include "server/validators.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <set>

#include "model/net.h"
#include "server/api_error.h"

namespace dvr::server::validators {

using nlohmann::json;

namespace {

std::string pyRepr(const json& v) {
  if (v.is_string()) {
    std::string out = "'";
    for (char c : v.get_ref<const std::string&>())
      out += c == '\'' ? std::string("\\'") : std::string(1, c);
    return out + "'";
  }
  return pyStr(v);
}

// "'<data>' <what>", the shape of most of Neutron's reasons.
std::string quoted(const json& v, const std::string& what) {
  return "'" + pyStr(v) + "' " + what;
}

bool isUuid(const std::string& s) {
  auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
  if (s.size() == 32)
    return std::all_of(s.begin(), s.end(), hex);
  if (s.size() != 36)
    return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !hex(s[i]))
      return false;
  }
  return true;
}

}  // namespace

std::string pyStr(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return v.get<std::string>();
    case json::value_t::boolean:
      return v.get<bool>() ? "True" : "False";
    case json::value_t::null:
      return "None";
    case json::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < v.size(); ++i)
        out += (i ? ", " : "") + pyRepr(v[i]);
      return out + "]";
    }
    case json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, item] : v.items()) {
        out += (first ? "'" : ", '") + k + "': " + pyRepr(item);
        first = false;
      }
      return out + "}";
    }
    default:
      return v.dump();
  }
}

void invalidInput(const std::string& message) {
  throw badRequest("Invalid input for operation: " + message + ".", "InvalidInput");
}

Reason string(const json& v, size_t max_len) {
  if (!v.is_string())
    return quoted(v, "is not a valid string");
  if (v.get_ref<const std::string&>().size() > max_len)
    return quoted(v, "exceeds maximum length of " + std::to_string(max_len));
  return std::nullopt;
}

Reason uuid(const json& v) {
  if (!v.is_string() || !isUuid(v.get<std::string>()))
    return quoted(v, "is not a valid UUID");
  return std::nullopt;
}

Reason uuidOrNone(const json& v) {
  return v.is_null() ? std::nullopt : uuid(v);
}

Reason ipAddress(const json& v) {
  if (!v.is_string() || !Ipv4::parse(v.get<std::string>()))
    return quoted(v, "is not a valid IP address");
  return std::nullopt;
}

Reason ipAddressOrNone(const json& v) {
  return v.is_null() ? std::nullopt : ipAddress(v);
}

Reason subnet(const json& v) {
  if (!v.is_string())
    return quoted(v, "is not a valid IP subnet");
  const std::string& text = v.get_ref<const std::string&>();
  std::optional<Cidr> c = Cidr::parse(text);
  if (!c) {
    // Neutron recommends the /32 of a bare address.
    if (text.find('/') == std::string::npos && Ipv4::parse(text))
      return "'" + text + "' isn't a recognized IP subnet cidr, '" + text + "/32' is recommended";
    return quoted(v, "is not a valid IP subnet");
  }
  if (c->str() != text || c->network() != *c)
    return "'" + text + "' isn't a recognized IP subnet cidr, '" + c->network().str() +
           "' is recommended";
  return std::nullopt;
}

Reason macAddress(const json& v) {
  std::optional<Mac> mac = v.is_string() ? Mac::parse(v.get<std::string>()) : std::nullopt;
  // All-zero and broadcast are Neutron's INVALID_MAC_ADDRESSES; a multicast MAC (the
  // group bit of the first octet) cannot be a port's source address either.
  if (!mac || mac->isZero() || *mac == kBroadcastMac || (mac->value() >> 40) & 1)
    return quoted(v, "is not a valid MAC address");
  return std::nullopt;
}

Reason dict(const json& v) {
  if (!v.is_object())
    return quoted(v, "is not a dictionary");
  return std::nullopt;
}

Reason dictOrNone(const json& v) {
  return v.is_null() ? std::nullopt : dict(v);
}

Reason listOfUniqueStrings(const json& v, size_t max_len) {
  if (!v.is_array())
    return quoted(v, "is not a list");
  std::set<std::string> seen;
  for (const auto& item : v) {
    if (Reason r = string(item, max_len))
      return r;
    if (!seen.insert(item.get<std::string>()).second) {
      std::string all;
      for (const auto& i : v)
        all += (all.empty() ? "" : ", ") + i.get<std::string>();
      return "Duplicate items in the list: '" + all + "'";
    }
  }
  return std::nullopt;
}

Reason uuidList(const json& v) {
  if (!v.is_array())
    return quoted(v, "is not a list");
  std::set<std::string> seen;
  for (const auto& item : v) {
    if (Reason r = uuid(item))
      return r;
    if (!seen.insert(item.get<std::string>()).second)
      return "Duplicate items in the list: '" + item.get<std::string>() + "'";
  }
  return std::nullopt;
}

Reason fixedIps(const json& v) {
  if (!v.is_array())
    return "Invalid data format for fixed IP: '" + pyStr(v) + "'";
  std::set<std::string> ips;
  for (const auto& f : v) {
    if (!f.is_object())
      return "Invalid data format for fixed IP: '" + pyStr(f) + "'";
    if (f.contains("ip_address")) {
      if (Reason r = ipAddress(f["ip_address"]))
        return r;
      if (!ips.insert(f["ip_address"].get<std::string>()).second)
        return "Duplicate IP address '" + pyStr(f["ip_address"]) + "'";
    }
    if (f.contains("subnet_id")) {
      if (Reason r = uuid(f["subnet_id"]))
        return r;
    }
    for (const auto& [k, item] : f.items()) {
      if (k != "ip_address" && k != "subnet_id")
        return "Invalid data format for fixed IP: '" + pyStr(f) + "'";
    }
  }
  return std::nullopt;
}

// Neutron's _verify_dict_keys (strict): exactly the expected keys.
Reason exactKeys(const json& d, const std::vector<std::string>& expected) {
  auto set = [](const std::vector<std::string>& keys) {
    std::string out = "{";
    for (size_t i = 0; i < keys.size(); ++i)
      out += (i ? ", '" : "'") + keys[i] + "'";
    return out + "}";
  };
  if (!d.is_object())
    return "Invalid input. '" + pyStr(d) + "' must be a dictionary with keys: " + set(expected);
  std::vector<std::string> have;
  for (const auto& [k, item] : d.items())
    have.push_back(k);
  std::vector<std::string> want = expected;
  std::sort(want.begin(), want.end());
  if (have != want)
    return "Validation of dictionary's keys failed. Expected keys: " + set(expected) +
           " Provided keys: " + set(have);
  return std::nullopt;
}

Reason ipPools(const json& v) {
  if (!v.is_array())
    return "Invalid data format for IP pool: '" + pyStr(v) + "'";
  for (const auto& p : v) {
    if (Reason r = exactKeys(p, {"start", "end"}))
      return r;
    for (const char* k : {"start", "end"}) {
      if (Reason r = ipAddress(p[k]))
        return r;
    }
  }
  return std::nullopt;
}

Reason nameservers(const json& v) {
  if (!v.is_array())
    return "Invalid data format for nameserver: '" + pyStr(v) + "'";
  std::set<std::string> seen;
  for (const auto& ns : v) {
    if (Reason r = ipAddress(ns))
      return "'" + pyStr(ns) + "' is not a valid nameserver. " + *r;
    if (!seen.insert(ns.get<std::string>()).second)
      return "Duplicate nameserver '" + pyStr(ns) + "'";
  }
  return std::nullopt;
}

Reason hostRoutes(const json& v) {
  if (!v.is_array())
    return "Invalid data format for hostroute: '" + pyStr(v) + "'";
  std::set<std::string> seen;
  for (const auto& route : v) {
    if (Reason r = exactKeys(route, {"destination", "nexthop"}))
      return r;
    if (Reason r = subnet(route["destination"]))
      return r;
    if (Reason r = ipAddress(route["nexthop"]))
      return r;
    if (!seen.insert(route.dump()).second)
      return "Duplicate hostroute '" + pyStr(route) + "'";
  }
  return std::nullopt;
}

Reason allowedAddressPairs(const json& v) {
  if (!v.is_array())
    return "Allowed address pairs must be a list.";
  for (const auto& pair : v) {
    if (Reason r = dict(pair))
      return r;
    if (!pair.contains("ip_address"))
      return "AllowedAddressPair must contain ip_address";
    for (const auto& [k, item] : pair.items()) {
      if (k != "ip_address" && k != "mac_address")
        return "Unrecognized attribute(s) '" + k + "'";
    }
    if (pair.contains("mac_address")) {
      if (Reason r = macAddress(pair["mac_address"]))
        return r;
    }
    const json& ip = pair["ip_address"];
    bool prefix = ip.is_string() && ip.get<std::string>().find('/') != std::string::npos;
    if (Reason r = prefix ? subnet(ip) : ipAddress(ip))
      return r;
  }
  return std::nullopt;
}

std::optional<IpPrefix> ipPrefix(const std::string& text) {
  size_t slash = text.find('/');
  std::string addr = text.substr(0, slash);
  std::optional<int> len;
  if (slash != std::string::npos) {
    std::string digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    len = std::stoi(digits);
  }
  if (auto ip = Ipv4::parse(addr)) {
    if (len.value_or(32) > 32)
      return std::nullopt;
    Cidr c{*ip, uint8_t(len.value_or(32))};
    return IpPrefix{c.str(), c.network().str(), 4};
  }
  unsigned char bytes[16];
  if (inet_pton(AF_INET6, addr.c_str(), bytes) != 1 || len.value_or(128) > 128)
    return std::nullopt;
  int bits = len.value_or(128);
  char shown[INET6_ADDRSTRLEN], network[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, bytes, shown, sizeof shown);
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(bits - 8 * i, 0, 8);
    bytes[i] &= keep == 8 ? 0xff : uint8_t(0xff00 >> keep);
  }
  inet_ntop(AF_INET6, bytes, network, sizeof network);
  std::string suffix = "/" + std::to_string(bits);
  return IpPrefix{shown + suffix, network + suffix, 6};
}

Reason range(const json& v, long min, long max) {
  if (!v.is_number_integer())
    return quoted(v, "is not an integer");
  // Positive numbers parse as unsigned: compare them as such, past LONG_MAX too.
  bool unsigned_value = v.is_number_unsigned();
  if (!unsigned_value ? v.get<long>() < min : min > 0 && v.get<uint64_t>() < uint64_t(min))
    return quoted(v, "is too small - must be at least '" + std::to_string(min) + "'");
  if (unsigned_value ? v.get<uint64_t>() > uint64_t(max) : v.get<long>() > max)
    return quoted(v, "is too large - must be no larger than '" + std::to_string(max) + "'");
  return std::nullopt;
}

Reason values(const json& v, const std::vector<json>& allowed) {
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
    return quoted(v, "is not in " + pyStr(json(allowed)));
  return std::nullopt;
}

void toBoolean(json& v) {
  // oslo's bool_from_string(strict=True), as neutron-lib's convert_to_boolean.
  if (v.is_boolean())
    return;
  std::string text;
  if (v.is_string()) {
    text = v.get<std::string>();
    std::transform(text.begin(), text.end(), text.begin(), ::tolower);
    text.erase(0, text.find_first_not_of(" \t"));
    text.erase(text.find_last_not_of(" \t") + 1);
  } else if (v.is_number_integer()) {
    text = v.dump();
  }
  static const std::set<std::string> kTrue{"1", "t", "true", "on", "y", "yes"};
  static const std::set<std::string> kFalse{"0", "f", "false", "off", "n", "no"};
  if (kTrue.count(text)) {
    v = true;
  } else if (kFalse.count(text)) {
    v = false;
  } else {
    invalidInput("'" + pyStr(v) + "' cannot be converted to boolean");
  }
}

void toInt(json& v) {
  // Python's int(): integers, integral numbers and decimal strings. Unlike Python, a
  // fraction is refused rather than truncated.
  if (v.is_number_integer())
    return;
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e18) {
      v = static_cast<long>(d);
      return;
    }
  } else if (v.is_string()) {
    std::string s = v.get<std::string>();
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t") + 1);
    size_t digits = s.find_first_not_of("+-") == 1 ? 1 : 0;
    bool numeric = s.size() > digits && s.size() <= 18 + digits &&
                   std::all_of(s.begin() + long(digits), s.end(), ::isdigit) &&
                   (digits == 0 || s[0] == '-' || s[0] == '+');
    if (numeric) {
      v = std::stol(s);
      return;
    }
  }
  invalidInput("'" + pyStr(v) + "' is not an integer");
}

void toList(json& v) {
  if (v.is_null())
    v = json::array();
  else if (!v.is_array())
    v = json::array({v});
}

}  // namespace dvr::server::validators
