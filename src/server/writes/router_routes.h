// A router's extra routes through the API (Neutron's extraroute extension): `routes` on
// router update, checked as Neutron's extraroute_db does, and the interface removal that
// a route's nexthop still needs. The routes themselves are planned by plan/ in the
// router's namespaces.
#pragma once

#include <nlohmann/json.hpp>

#include "model/topology.h"
#include "server/api_state.h"

namespace dvr::server {

// Neutron's max_routes.
inline constexpr size_t kMaxRoutes = 30;

// Replaces the router's routes with `routes` (a list of {destination, nexthop}, already
// shaped by the attribute map; null clears them). Throws Neutron's InvalidRoutes (400)
// for a nexthop not on one of the router's interface subnets or one of its own addresses,
// RoutesExhausted (400) beyond kMaxRoutes.
void setRoutes(ApiState& s, model::RouterSpec& rt, const nlohmann::json& routes);

// Throws RouterInterfaceInUseByRoute (409) when a route's nexthop is on `subnet`.
void checkNoRouteThrough(ApiState& s, const model::RouterSpec& rt, const std::string& subnet);

}  // namespace dvr::server
