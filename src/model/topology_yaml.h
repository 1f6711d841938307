// Reads a topology file (YAML). Syntax and shape only: unknown keys, bad addresses and
// wrong types are reported with their line; semantic checks are in model/validate.h.
#pragma once

#include <string>

#include "model/topology.h"

namespace dvr::model {

// Throws InputError naming every problem found, with `source` as the file name.
Topology parseTopology(const std::string& yaml_text, const std::string& source);
Topology loadTopologyFile(const std::string& path);

}  // namespace dvr::model
