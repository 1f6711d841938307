// Shows a plan the way the kernel tools show state: `ip link/addr/rule/route/neigh`,
// `bridge fdb`, `sysctl` and `nft list table` lines, grouped by namespace.
#pragma once

#include <string>

#include "plan/host_plan.h"

namespace dvr::plan {

std::string renderText(const HostPlan& plan);
std::string renderJson(const HostPlan& plan);  // one JSON document, stable key order

// Single lines, shared with the reconciler's logs so that both read alike.
std::string linkLine(const Link& l);
std::string addressLine(const Address& a);
std::string routeLine(const Route& r);
std::string ruleLine(const Rule& r);
std::string neighbourLine(const Neighbour& n);
std::string fdbLine(const FdbEntry& f);
std::string nsLabel(const std::string& ns);  // "" -> "host namespace"

}  // namespace dvr::plan
