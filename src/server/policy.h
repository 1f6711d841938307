// Neutron's default policy (Zed, with its deprecated admin_or_owner rules, which is what a
// stock neutron-server enforces), for the resources dvr serves. An admin (role admin)
// sees and changes everything. Anyone else:
//  - sees its project's networks, subnets, ports, routers and floating IPs, plus shared
//    and external networks, the subnets of shared networks (not of external ones) and the
//    ports on its own networks; no agents. What it cannot see answers Neutron's typed 404
//    (NetworkNotFound, ...), as if it did not exist;
//  - changes only what it owns (a subnet or port also when it owns the network); a
//    resource it sees but may not change answers 403 PolicyNotAuthorized;
//  - may not set admin-only attributes (403): a network's router:external, shared,
//    provider:*, is_default; a port's binding:host_id and binding:profile; a router's
//    distributed, ha, external_gateway_info's enable_snat and external_fixed_ips;
//  - does not see provider:* of networks, binding:host_id/profile/vif_type/vif_details of
//    ports, nor distributed/ha of routers.
// A created resource belongs to the caller's project; only an admin may give another
// (project_id/tenant_id, Neutron's 400 otherwise); neither is updatable.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "server/api_error.h"
#include "server/api_state.h"
#include "server/neutron_api.h"
#include "server/request_context.h"

namespace dvr::server::policy {

// Keeps the `items` (Neutron views of `collection`) the caller may see, without the
// attributes it may not.
void filterReadable(const RequestContext& c, const ApiState& s, const std::string& collection,
                    nlohmann::json& items);

// `item` (a view of `collection`) without the attributes the caller may not see.
void redact(const RequestContext& c, const std::string& collection, nlohmann::json& item);

// Neutron's 404 for a resource of `collection` that is not there (or not for this caller).
ApiError notFoundIn(const std::string& collection, const std::string& id);

// Before a write on the state `before`: Neutron's 403, 404 or 400 when the caller may not
// do it; nothing otherwise. `action` is a router's add/remove_router_interface.
void checkWrite(const RequestContext& c, const ApiState& before, const std::string& collection,
                const std::string& method, const std::string& id, const std::string& action,
                const std::string& body);

// A create's request with the owner filled in from the caller's project (when the body
// names none); unchanged for any other request or a body that is not JSON.
ApiRequest withOwner(const ApiRequest& request, const std::string& collection);

}  // namespace dvr::server::policy
