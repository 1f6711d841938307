// Neutron's subnet pools (extension `subnet_allocation`): a project's (or a shared) set of
// IPv4 prefixes from which subnets are carved. POST/PUT/DELETE /v2.0/subnetpools; a
// subnet made with `subnetpool_id` and no `cidr` gets the first free block of
// `prefixlen` (default: the pool's default_prefixlen) in the pool's prefixes, one with a
// `cidr` must lie inside them; no two subnets of one pool overlap. A pool is kept as
// attrs/subnetpools/<id> (it plans nothing: the subnets it gives are ordinary subnets).
// Address scopes, IPv6 and quotas of addresses are not done: `address_scope_id` other than
// null and `default_quota` are refused.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "model/net.h"
#include "server/api_state.h"
#include "server/resource_writes.h"

namespace dvr::server {

inline constexpr const char* kPoolAttrs = "subnetpools";

WriteOutcome writeSubnetPool(ApiState& s, const WriteRequest& w);

// Neutron's body for the pool `id` of the state.
nlohmann::json subnetPoolView(const ApiState& s, const std::string& id);

// The CIDR a new subnet gets from `pool`: `asked` when it lies in the pool's prefixes and
// overlaps none of the pool's subnets, else the first free block of `prefixlen` (the
// pool's default when none). Throws Neutron's errors (404 SubnetPoolNotFound, 400, 409).
Cidr subnetFromPool(const ApiState& s, const std::string& pool, const std::optional<Cidr>& asked,
                    std::optional<long> prefixlen);

}  // namespace dvr::server
