#include "server/writes/router_routes.h"

#include <set>

#include "server/api_error.h"
#include "server/state_edit.h"
#include "server/validators.h"

namespace dvr::server {

using namespace dvr::model;
using json = nlohmann::json;

namespace {

[[noreturn]] void invalidRoutes(const json& routes, const std::string& reason) {
  throw badRequest("Invalid format for routes: " + validators::pyStr(routes) + ", " + reason,
                   "InvalidRoutes");
}

}  // namespace

void setRoutes(ApiState& s, RouterSpec& rt, const json& routes) {
  std::vector<ExtraRoute> wanted;
  if (routes.is_null()) {
    rt.routes.clear();
    return;
  }
  if (routes.size() > kMaxRoutes)
    throw badRequest("Unable to complete operation for " + rt.name +
                         ". The number of routes exceeds the maximum " +
                         std::to_string(kMaxRoutes) + ".",
                     "RoutesExhausted");
  // The router's interface subnets and its own addresses on them.
  std::vector<Cidr> cidrs;
  std::set<Ipv4> own;
  for (const auto& itf : rt.interfaces) {
    const SubnetSpec& sn = existingSubnet(s, itf.subnet);
    cidrs.push_back(sn.cidr);
    if (auto ip = itf.port.ip ? itf.port.ip : sn.gateway)
      own.insert(*ip);
  }
  std::set<Cidr> destinations;
  for (const auto& r : routes) {
    Cidr dst = Cidr::parse(r.at("destination").get<std::string>()).value();
    Ipv4 hop = ipArg(r.at("nexthop").get<std::string>(), "routes");
    bool connected = false;
    for (const Cidr& c : cidrs)
      connected = connected || c.contains(hop);
    // Neutron also takes a nexthop on the gateway's subnet; dvr's routers route extra routes
    // through their internal interfaces only, and say so rather than drop it.
    for (const SubnetSpec& sn : s.topo.subnets) {
      if (!connected && rt.gateway_network == sn.network && sn.cidr.contains(hop))
        invalidRoutes(routes, "dvr routes extra routes through internal interfaces only");
    }
    if (!connected)
      invalidRoutes(routes, "the nexthop is not connected with router");
    if (own.count(hop))
      invalidRoutes(routes, "the nexthop is used by router");
    // One nexthop per destination: the kernel's main table holds one route to a prefix.
    if (!destinations.insert(dst.network()).second)
      invalidRoutes(routes, "dvr routes a destination through one nexthop");
    wanted.push_back({dst, hop});
  }
  rt.routes = std::move(wanted);
}

void checkNoRouteThrough(ApiState& s, const RouterSpec& rt, const std::string& subnet) {
  const SubnetSpec& sn = existingSubnet(s, subnet);
  for (const ExtraRoute& r : rt.routes) {
    if (sn.cidr.contains(r.nexthop))
      throw conflict("Router interface for subnet " + subnet + " on router " + rt.name +
                         " cannot be deleted, as it is required by one or more routes.",
                     "RouterInterfaceInUseByRoute");
  }
}

}  // namespace dvr::server
