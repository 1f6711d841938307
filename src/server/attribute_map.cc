#include "server/attribute_map.h"

#include <cctype>
#include <climits>
#include <functional>
#include <map>

#include "model/ip_protocols.h"
#include "server/api_error.h"
#include "server/extra_dhcp_opts.h"
#include "server/validators.h"

namespace dvr::server {

using nlohmann::json;
namespace v = validators;

namespace {

// Field sizes of Neutron's database (neutron_lib/db/constants.py) and tagging extension.
constexpr size_t kNameMax = 255, kDescriptionMax = 255, kProjectIdMax = 255, kDeviceIdMax = 255,
                 kDeviceOwnerMax = 255, kHostMax = 255, kPhysnetMax = 64, kTagMax = 60;

struct Attribute {
  std::function<void(json&)> convert;  // may be empty
  v::Validator validate;               // may be empty
};
using Map = std::map<std::string, Attribute>;

Attribute str(size_t max) {
  return {nullptr, [max](const json& x) { return v::string(x, max); }};
}
Attribute strOrNone(size_t max) {
  return {nullptr, [max](const json& x) { return x.is_null() ? std::nullopt : v::string(x, max); }};
}
Attribute boolean() {
  return {v::toBoolean, nullptr};
}
Attribute booleanOrNone() {
  return {[](json& x) {
            if (!x.is_null())
              v::toBoolean(x);
          },
          nullptr};
}
Attribute check(v::Reason (*f)(const json&)) {
  return {nullptr, f};
}
Attribute integer(long min, long max) {
  return {v::toInt, [min, max](const json& x) { return v::range(x, min, max); }};
}
Attribute stringList(size_t max) {
  return {nullptr, [max](const json& x) { return v::listOfUniqueStrings(x, max); }};
}

// name, description, project and tags: every resource has them.
Map common(Map more) {
  more.emplace("name", str(kNameMax));
  more.emplace("description", str(kDescriptionMax));
  more.emplace("tenant_id", str(kProjectIdMax));
  more.emplace("project_id", str(kProjectIdMax));
  more.emplace("tags", stringList(kTagMax));
  return more;
}

// external_gateway_info: Neutron's dict_or_nodata with its key specs.
void gatewayInfo(json& g) {
  auto fail = [](const std::string& reason) {
    throw badRequest("Invalid input for external_gateway_info. Reason: " + reason + ".");
  };
  if (g.is_null() || (g.is_object() && g.empty()))
    return;
  if (!g.is_object())
    fail("'" + v::pyStr(g) + "' is not a dictionary");
  if (!g.contains("network_id")) {
    std::string keys;
    for (const auto& [k, item] : g.items())
      keys += (keys.empty() ? "'" : ", '") + k + "'";
    fail("Validation of dictionary's keys failed. Expected keys: {'network_id'} Provided keys: {" +
         keys + "}");
  }
  std::string unexpected;
  for (const auto& [k, item] : g.items()) {
    if (k != "network_id" && k != "enable_snat" && k != "external_fixed_ips")
      unexpected += (unexpected.empty() ? "" : ", ") + k;
  }
  if (!unexpected.empty())
    fail("Unexpected keys supplied: " + unexpected);
  if (auto r = v::uuid(g["network_id"]))
    fail(*r);
  if (g.contains("enable_snat"))
    v::toBoolean(g["enable_snat"]);
  if (g.contains("external_fixed_ips")) {
    if (auto r = v::fixedIps(g["external_fixed_ips"]))
      fail(*r);
  }
}

// ---- security group rules: neutron_lib.api.definitions.security_groups' converters ----

// convert_protocol: a name (any case) of IP_PROTOCOL_MAP, a number 0..255 (kept as its
// string, as Neutron stores it), or any / null for every protocol (null).
void protocol(json& p) {
  if (p.is_null())
    return;
  std::string text = p.is_string() ? p.get<std::string>() : v::pyStr(p);
  if (p.is_number_integer())
    text = std::to_string(p.get<long>());
  std::string lower = text;
  for (char& c : lower)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  bool any = false;
  auto number = model::ipProtocolNumber(lower, &any);
  if (any && lower == "any") {
    p = nullptr;
    return;
  }
  if (number && !lower.empty() && std::isdigit(static_cast<unsigned char>(lower[0]))) {
    p = std::to_string(*number);
    return;
  }
  if (number) {
    p = lower;
    return;
  }
  std::string names = "[None";
  for (const auto& name :
       {"ah",     "dccp",       "egp",       "esp",        "gre",       "hopopt",
        "icmp",   "igmp",       "ipip",      "ipv6-encap", "ipv6-frag", "ipv6-icmp",
        "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route", "ospf",      "pgm",
        "rsvp",   "sctp",       "tcp",       "udp",        "udplite",   "vrrp"})
    names += std::string(", '") + name + "'";
  throw ApiError(400, "SecurityGroupRuleInvalidProtocol",
                 "Security group rule protocol " + text + " not supported. Only protocol values " +
                     names + "] and integer representations [0 to 255] are supported.");
}

// convert_validate_port_value: an integer (or its string) 0..65535, or null.
void portValue(json& p) {
  if (p.is_null())
    return;
  json n = p;
  try {
    v::toInt(n);
  } catch (const ApiError&) {
    n = nullptr;
  }
  if (!n.is_number_integer() || n.get<long>() < 0 || n.get<long>() > 65535)
    throw ApiError(400, "SecurityGroupInvalidPortValue",
                   "Invalid value for port " + v::pyStr(p) + ".");
  p = n;
}

// convert_ip_prefix_to_cidr: netaddr's form of an address or prefix, or Neutron's
// InvalidCIDR.
void ipPrefix(json& p) {
  if (p.is_null() || (p.is_string() && p.get<std::string>().empty())) {
    p = nullptr;
    return;
  }
  auto prefix = p.is_string() ? v::ipPrefix(p.get<std::string>()) : std::nullopt;
  if (!prefix)
    throw ApiError(400, "InvalidCIDR", "Invalid CIDR " + v::pyStr(p) + " given as IP prefix.");
  p = prefix->cidr;
}

// convert_ethertype_to_case_insensitive
void ethertype(json& e) {
  if (!e.is_string())
    return;
  std::string lower = e.get<std::string>();
  for (char& c : lower)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "ipv4")
    e = "IPv4";
  else if (lower == "ipv6")
    e = "IPv6";
}

const std::map<std::string, Map>& attributeMap() {
  static const std::map<std::string, Map> map{
      {"network", common({{"admin_state_up", boolean()},
                          {"router:external", boolean()},
                          {"shared", boolean()},
                          {"port_security_enabled", boolean()},
                          {"is_default", boolean()},
                          // The network type's maximum is the write's to check (it knows the type).
                          {"mtu", integer(68, 65535)},
                          {"provider:network_type", str(255)},
                          {"provider:physical_network", strOrNone(kPhysnetMax)},
                          {"provider:segmentation_id", {v::toInt, nullptr}},
                          {"availability_zone_hints", stringList(255)},
                          {"dns_domain", str(255)},
                          {"qos_policy_id", check(v::uuidOrNone)}})},
      {"subnet",
       common({{"network_id", check(v::uuid)},
               {"ip_version",
                {v::toInt,
                 [](const json& x) {
                   return v::values(x, {4, 6});
                 }}},
               {"cidr",
                {nullptr, [](const json& x) { return x.is_null() ? std::nullopt : v::subnet(x); }}},
               {"gateway_ip", check(v::ipAddressOrNone)},
               {"allocation_pools", check(v::ipPools)},
               {"enable_dhcp", boolean()},
               {"dns_nameservers", check(v::nameservers)},
               {"host_routes", check(v::hostRoutes)},
               {"service_types", stringList(255)},
               {"subnetpool_id", check(v::uuidOrNone)},
               {"prefixlen", integer(0, 32)},
               {"segment_id", check(v::uuidOrNone)}})},
      {"port", common({{"network_id", check(v::uuid)},
                       {"admin_state_up", boolean()},
                       {"mac_address", check(v::macAddress)},
                       {"fixed_ips", check(v::fixedIps)},
                       {"device_id", str(kDeviceIdMax)},
                       {"device_owner", str(kDeviceOwnerMax)},
                       {"binding:host_id", strOrNone(kHostMax)},
                       {"binding:vnic_type",
                        {nullptr,
                         [](const json& x) {
                           return v::values(
                               x, {"normal", "direct", "macvtap", "baremetal", "direct-physical",
                                   "virtio-forwarder", "smart-nic", "vdpa", "accelerator-direct",
                                   "accelerator-direct-physical", "remote-managed"});
                         }}},
                       {"binding:profile", check(v::dictOrNone)},
                       {"security_groups", {v::toList, v::uuidList}},
                       {"port_security_enabled", boolean()},
                       {"allowed_address_pairs", check(v::allowedAddressPairs)},
                       {"extra_dhcp_opts", check(extraDhcpOptsReason)},
                       {"dns_name", str(255)},
                       {"qos_policy_id", check(v::uuidOrNone)}})},
      {"router", common({{"admin_state_up", boolean()},
                         {"external_gateway_info", {gatewayInfo, nullptr}},
                         {"distributed", booleanOrNone()},
                         {"ha", booleanOrNone()},
                         {"availability_zone_hints", stringList(255)},
                         {"flavor_id", check(v::uuidOrNone)},
                         {"service_type_id", check(v::uuidOrNone)},
                         // Neutron's convert_none_to_empty_list: null clears them.
                         {"routes",
                          {[](json& x) {
                             if (x.is_null())
                               x = json::array();
                           },
                           v::hostRoutes}}})},
      {"security_group", common({{"stateful", boolean()}})},
      // Prefixes and lengths are checked by the write (server/subnet_pools.h).
      {"subnetpool", common({{"shared", boolean()},
                             {"is_default", boolean()},
                             {"address_scope_id", strOrNone(255)}})},
      {"security_group_rule",
       {{"security_group_id", check(v::uuid)},
        {"direction",
         {nullptr,
          [](const json& x) {
            return v::values(x, {"ingress", "egress"});
          }}},
        {"ethertype",
         {ethertype,
          [](const json& x) {
            return v::values(x, {"IPv4", "IPv6"});
          }}},
        {"protocol", {protocol, nullptr}},
        {"port_range_min", {portValue, nullptr}},
        {"port_range_max", {portValue, nullptr}},
        {"remote_ip_prefix", {ipPrefix, nullptr}},
        // No uuid check, as in Neutron: a group that is not there, well-formed or not,
        // is its 404 SecurityGroupNotFound (what Tempest expects of "bad_group_id").
        {"remote_group_id", strOrNone(kProjectIdMax)},
        {"description", str(kDescriptionMax)},
        {"tenant_id", str(kProjectIdMax)},
        {"project_id", str(kProjectIdMax)}}},
      {"floatingip", common({{"floating_network_id", check(v::uuid)},
                             {"floating_ip_address", check(v::ipAddressOrNone)},
                             {"port_id", check(v::uuidOrNone)},
                             {"fixed_ip_address", check(v::ipAddressOrNone)},
                             {"subnet_id", check(v::uuidOrNone)},
                             {"dns_name", str(255)},
                             {"dns_domain", str(255)},
                             {"qos_policy_id", check(v::uuidOrNone)}})},
  };
  return map;
}

}  // namespace

void checkAttributes(const std::string& resource, json& body) {
  auto kind = attributeMap().find(resource);
  if (kind == attributeMap().end() || !body.is_object())
    return;
  for (auto& [name, value] : body.items()) {
    auto attr = kind->second.find(name);
    if (attr == kind->second.end())
      continue;
    if (attr->second.convert)
      attr->second.convert(value);
    if (attr->second.validate) {
      if (v::Reason r = attr->second.validate(value))
        throw badRequest("Invalid input for " + name + ". Reason: " + *r + ".");
    }
  }
}

const std::map<std::string, std::string> kResourceOfCollection{
    {"networks", "network"},
    {"subnets", "subnet"},
    {"ports", "port"},
    {"routers", "router"},
    {"floatingips", "floatingip"},
    {"agents", "agent"},
    {"security-groups", "security_group"},
    {"security-group-rules", "security_group_rule"},
    {"subnetpools", "subnetpool"}};

}  // namespace dvr::server
