// IP protocols as Neutron's security group rules name them (neutron-lib's
// IP_PROTOCOL_MAP and its `icmpv6` alias), and Neutron's check of a rule's port fields:
// one table and one check for topology files and the API.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dvr::model {

// The number of a protocol given by name, or by its number in 0..255 as text. `any`
// and the empty string are no protocol (nullopt with *any set true); anything else
// unknown is nullopt with *any false.
std::optional<int> ipProtocolNumber(std::string_view text, bool* any);

// Neutron's name for a protocol number, empty when it has none.
std::string_view ipProtocolName(int number);

// Protocols whose port_range_min/max are ports (the rest take no ports, except ICMP
// whose fields are type and code).
bool protocolHasPorts(int number);
bool protocolIsIcmp(int number);  // icmp (1) or ipv6-icmp (58)

// "ah, dccp, …": the names, in Neutron's order.
std::string ipProtocolNames();

// What is wrong with a rule's port fields, as Neutron's _validate_port_range says it:
// ports only for TCP, UDP, UDPLITE, SCTP and DCCP (no 0, min <= max); ICMP's type
// (port_range_min) and code (port_range_max) in 0..255, no code without a type.
struct PortRangeProblem {
  const char* type;  // Neutron's exception name
  std::string message;
};
std::optional<PortRangeProblem> portRangeProblem(std::optional<int> protocol,
                                                 std::optional<long> min, std::optional<long> max);

}  // namespace dvr::model
