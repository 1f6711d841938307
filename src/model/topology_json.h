// A topology as JSON: how the API server keeps its state (every allocated value pinned)
// and hands it to agents. Round-trips exactly: fromJson(toJson(t)) == t.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "model/topology.h"

namespace dvr::model {

nlohmann::json toJson(const Topology& t);
// Throws std::runtime_error naming the field for a malformed document.
Topology topologyFromJson(const nlohmann::json& j);

}  // namespace dvr::model
