// Finding and editing resources in the API's state, as every write does. In the state's
// topology a resource's name is its id.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "model/topology.h"
#include "server/api_state.h"

namespace dvr::server {

model::NetworkSpec* findNetwork(ApiState& s, const std::string& id);
model::SubnetSpec* findSubnet(ApiState& s, const std::string& id);
model::RouterSpec* findRouter(ApiState& s, const std::string& id);
model::VmSpec* findPort(ApiState& s, const std::string& id);
model::FloatingIpSpec* findFip(ApiState& s, const std::string& id);

// The resource a request names, or Neutron's 404 for it.
model::NetworkSpec& existingNetwork(ApiState& s, const std::string& id);
model::SubnetSpec& existingSubnet(ApiState& s, const std::string& id);
model::RouterSpec& existingRouter(ApiState& s, const std::string& id);
model::VmSpec& existingPort(ApiState& s, const std::string& id);
model::FloatingIpSpec& existingFip(ApiState& s, const std::string& id);

// A new resource id (a UUID).
std::string newId(const ApiState& s, const char* kind);

// Stores the `keys` of `body` as the resource's attributes dvr does not model, with
// Neutron's created_at / updated_at / revision_number.
void setAttrs(ApiState& s, const char* kind, const std::string& id, const nlohmann::json& body,
              const std::set<std::string>& keys, bool creating);

}  // namespace dvr::server
