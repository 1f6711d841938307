// Neutron's extra_dhcp_opt extension on ports: `extra_dhcp_opts`, a list of
// {opt_name, opt_value, ip_version}, checked as neutron-lib's EXTRA_DHCP_OPT_KEY_SPECS
// check it, and merged on update as Neutron's ExtraDhcpOptMixin does (an option is
// known by its name and IP version; a null value deletes it, a new value replaces it).
// Pure functions over JSON; the port write stores the result with the port's attributes.
#pragma once

#include <nlohmann/json.hpp>

#include "model/topology.h"
#include "server/validators.h"

namespace dvr::server {

// The attribute map's validator: null, or a list of option dicts (reason otherwise).
validators::Reason extraDhcpOptsReason(const nlohmann::json& v);

// The options a new port keeps: each with ip_version (default 4), those with a null
// value left out (Neutron creates nothing for them).
nlohmann::json extraDhcpOptsOfNew(const nlohmann::json& requested);

// `had` after an update's `requested` options: same name and version replaced, or
// deleted when the value is null; others added. A null list changes nothing.
nlohmann::json extraDhcpOptsUpdated(const nlohmann::json& had, const nlohmann::json& requested);

// What the port's dnsmasq sends it: the IPv4 options (dvr's DHCP is IPv4), in order.
std::vector<model::DhcpOptionSpec> dhcpOptionsServed(const nlohmann::json& opts);

}  // namespace dvr::server
