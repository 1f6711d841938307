// Neutron's attribute validators and converters (neutron_lib/api/validators and
// converters), with Neutron's messages, over JSON values.
//
// A validator returns the reason a value is invalid, or nothing; the caller wraps it as
// Neutron does: "Invalid input for <attr>. Reason: <reason>." (HTTPBadRequest). A
// converter changes the value in place to its canonical type, or throws Neutron's
// InvalidInput ("Invalid input for operation: <message>.").
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace dvr::server::validators {

using Reason = std::optional<std::string>;
using Validator = std::function<Reason(const nlohmann::json&)>;

// Python's "%s" of the value as Neutron would print it: strings bare, True/False/None,
// lists and dicts with quoted strings.
std::string pyStr(const nlohmann::json& v);

Reason string(const nlohmann::json& v, size_t max_len);
Reason uuid(const nlohmann::json& v);
Reason uuidOrNone(const nlohmann::json& v);
Reason ipAddress(const nlohmann::json& v);
Reason ipAddressOrNone(const nlohmann::json& v);
// An IPv4 network in canonical form: a prefix, no host bits, "10.7.0.0/24" (not /024).
Reason subnet(const nlohmann::json& v);
// A unicast MAC: not all-zero, broadcast or multicast.
Reason macAddress(const nlohmann::json& v);
Reason dict(const nlohmann::json& v);
Reason dictOrNone(const nlohmann::json& v);
Reason listOfUniqueStrings(const nlohmann::json& v, size_t max_len);
Reason uuidList(const nlohmann::json& v);
Reason fixedIps(const nlohmann::json& v);
Reason ipPools(const nlohmann::json& v);
Reason nameservers(const nlohmann::json& v);
Reason hostRoutes(const nlohmann::json& v);
Reason allowedAddressPairs(const nlohmann::json& v);
Reason range(const nlohmann::json& v, long min, long max);

// An IPv4 or IPv6 address or prefix as Neutron's convert_ip_prefix_to_cidr makes it
// (netaddr's str of it: "10.0.0.5" -> "10.0.0.5/32", host bits kept), with its network
// (normalized_cidr, "10.0.0.0/24" of "10.0.0.5/24") and IP version.
struct IpPrefix {
  std::string cidr, normalized;
  int version = 4;
};
std::optional<IpPrefix> ipPrefix(const std::string& text);
Reason values(const nlohmann::json& v, const std::vector<nlohmann::json>& allowed);

// Converters (throw ApiError 400 InvalidInput).
void toBoolean(nlohmann::json& v);
void toInt(nlohmann::json& v);
void toList(nlohmann::json& v);

// "Invalid input for operation: <message>." (InvalidInput, 400), Neutron's InvalidInput.
[[noreturn]] void invalidInput(const std::string& message);

}  // namespace dvr::server::validators
