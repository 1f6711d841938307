// Neutron's quotas extension (`quotas`, `quota_details`): per-project limits on how many
// networks, subnets, ports, routers, floating IPs, security groups and rules a project
// may own, set by an admin and enforced on every create.
//
//   GET    /v2.0/quotas                       the projects with limits of their own (admin)
//   GET    /v2.0/quotas/<project>             its limits (admin, or the project itself)
//   GET    /v2.0/quotas/<project>/default     the defaults
//   GET    /v2.0/quotas/<project>/details     {resource: {limit, used, reserved}}
//   PUT    /v2.0/quotas/<project> {"quota": {"network": 2, ...}}   (admin)
//   DELETE /v2.0/quotas/<project>             back to the defaults (admin)
//
// The defaults are -1 (unlimited), not Neutron's (10 routers, 100 networks, …): dvr is
// sized for clouds of 100,000 ports and its first user should not meet a limit it did not
// set. A limit is stored as attrs/quotas/<project>. A create that would take a project
// beyond a limit is Neutron's 409 OverQuota and changes nothing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "server/api_state.h"
#include "server/request_context.h"

namespace dvr::server {

inline constexpr const char* kQuotaAttrs = "quotas";

// The limits of `project` (the defaults where it set none).
nlohmann::json quotaOf(const ApiState& s, const std::string& project);

// The answer to a GET on /v2.0/quotas[/<project>[/default|/details]]; throws ApiError.
nlohmann::json readQuotas(const RequestContext& c, const ApiState& s, const std::string& project,
                          const std::string& action);

// PUT (body {"quota": {...}}) or DELETE of a project's limits; throws ApiError 400/403.
// Returns the answer's body (null for DELETE).
nlohmann::json writeQuotas(const RequestContext& c, ApiState& s, const std::string& method,
                           const std::string& project, const std::string& body);

// After a create on `collection` ("networks", …): throws 409 OverQuota when a project
// owns more of that kind than its limit. `before` is the state the write started from:
// only the projects whose count grew are checked.
void enforceQuotas(const ApiState& before, const ApiState& after, const std::string& collection);

}  // namespace dvr::server
