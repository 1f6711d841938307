// Security groups and their rules in the API's state. A group is a topology item (name =
// id: its stateful flag and IPv4 rules, what the plan filters by) plus its Neutron
// attributes (attrs/security_groups/<id>); every rule, IPv4 or IPv6, is kept with
// Neutron's fields in attrs/security_group_rules/<id>, and IPv4 rules also in their
// group's topology item. Each project's default group is found through
// attrs/default_security_groups/<project>.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "model/topology.h"
#include "server/api_state.h"

namespace dvr::server {

inline constexpr const char* kGroupAttrs = "security_groups";
inline constexpr const char* kRuleAttrs = "security_group_rules";
inline constexpr const char* kDefaultGroupAttrs = "default_security_groups";

model::SecurityGroupSpec* findSecurityGroup(ApiState& s, const std::string& id);
// The group, or Neutron's 404 SecurityGroupNotFound.
model::SecurityGroupSpec& existingSecurityGroup(ApiState& s, const std::string& id);

// The id of the project's default group, empty when it has none yet.
std::string defaultGroupOf(const ApiState& s, const std::string& project);
// The id of the project's default group, made with Neutron's default rules (egress
// anything, IPv4 and IPv6; ingress from members of the group, IPv4 and IPv6) when it has
// none. Its id and its rules' ids derive from the project, so that two servers making it
// at once make the same one.
std::string ensureDefaultGroup(ApiState& s, const std::string& project);

// A new group with Neutron's egress rules (anything, IPv4 and IPv6).
void addGroup(ApiState& s, const std::string& id, const nlohmann::json& attrs, bool stateful);

// Stores a rule whose fields are checked and normalized: security_group_id, direction,
// ethertype, protocol (string or null), port_range_min/max, remote_ip_prefix,
// normalized_cidr, remote_group_id, description, project_id.
void addRule(ApiState& s, const std::string& id, nlohmann::json rule);
// Removes a rule from its group and the attributes (nothing when there is none).
void removeRule(ApiState& s, const std::string& id);

// The project a write acts in: the body's project_id or tenant_id (an admin may name
// another project), else the request's.
std::string projectOf(const nlohmann::json& body, const std::string& request_project);

}  // namespace dvr::server
