#include "model/ip_protocols.h"

#include <array>
#include <utility>

namespace dvr::model {
namespace {

// neutron_lib.constants.IP_PROTOCOL_MAP, in its order.
constexpr std::array<std::pair<std::string_view, int>, 23> kProtocols{{
    {"ah", 51},        {"dccp", 33},      {"egp", 8},         {"esp", 50},       {"gre", 47},
    {"hopopt", 0},     {"icmp", 1},       {"igmp", 2},        {"ipip", 4},       {"ipv6-encap", 41},
    {"ipv6-frag", 44}, {"ipv6-icmp", 58}, {"ipv6-nonxt", 59}, {"ipv6-opts", 60}, {"ipv6-route", 43},
    {"ospf", 89},      {"pgm", 113},      {"rsvp", 46},       {"sctp", 132},     {"tcp", 6},
    {"udp", 17},       {"udplite", 136},  {"vrrp", 112},
}};

}  // namespace

std::optional<int> ipProtocolNumber(std::string_view text, bool* any) {
  *any = false;
  if (text.empty() || text == "any") {
    *any = true;
    return std::nullopt;
  }
  if (text == "icmpv6")  // IP_PROTOCOL_NAME_ALIASES
    return 58;
  for (const auto& [name, number] : kProtocols) {
    if (name == text)
      return number;
  }
  if (text.size() > 3)
    return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > 255)
    return std::nullopt;
  return value;
}

std::string_view ipProtocolName(int number) {
  for (const auto& [name, n] : kProtocols) {
    if (n == number)
      return name;
  }
  return {};
}

bool protocolHasPorts(int number) {
  return number == 6 || number == 17 || number == 132 || number == 33 || number == 136;
}

bool protocolIsIcmp(int number) {
  return number == 1 || number == 58;
}

std::string ipProtocolNames() {
  std::string out;
  for (const auto& [name, n] : kProtocols) {
    out += out.empty() ? "" : ", ";
    out += name;
  }
  return out;
}

std::optional<PortRangeProblem> portRangeProblem(std::optional<int> protocol,
                                                 std::optional<long> min, std::optional<long> max) {
  if (!min && !max)
    return std::nullopt;
  if (!protocol)
    return PortRangeProblem{"SecurityGroupProtocolRequiredWithPorts",
                            "Must also specify protocol if port range is given."};
  if (protocolHasPorts(*protocol)) {
    if (min == 0 || max == 0)
      return PortRangeProblem{"SecurityGroupInvalidPortValue", "Invalid value for port 0."};
    if (min && max && *min <= *max)
      return std::nullopt;
    return PortRangeProblem{"SecurityGroupInvalidPortRange",
                            "For TCP/UDP protocols, port_range_min must be <= port_range_max"};
  }
  if (protocolIsIcmp(*protocol)) {
    if (min && (*min < 0 || *min > 255)) {
      return PortRangeProblem{"SecurityGroupInvalidIcmpValue",
                              "Invalid value for ICMP type (port_range_min) " +
                                  std::to_string(*min) + ". It must be 0 to 255."};
    }
    if (max && (*max < 0 || *max > 255)) {
      return PortRangeProblem{"SecurityGroupInvalidIcmpValue",
                              "Invalid value for ICMP code (port_range_max) " +
                                  std::to_string(*max) + ". It must be 0 to 255."};
    }
    if (!min) {
      return PortRangeProblem{"SecurityGroupMissingIcmpType",
                              "ICMP code (port-range-max) " + std::to_string(*max) +
                                  " is provided but ICMP type (port-range-min) is missing."};
    }
    return std::nullopt;
  }
  std::string name(ipProtocolName(*protocol));
  return PortRangeProblem{"SecurityGroupInvalidProtocolForPort",
                          "Invalid protocol " + (name.empty() ? std::to_string(*protocol) : name) +
                              " for port range, only supported for TCP, UDP, UDPLITE, SCTP and "
                              "DCCP."};
}

}  // namespace dvr::model
