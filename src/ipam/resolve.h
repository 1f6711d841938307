// Turns a topology into a Cloud: validates it and allocates everything left out
// (ids, MACs, fixed IPs, VNIs, DVR host MACs, link-local pairs, fg-/sg-/qg- ports).
// Deterministic: the same topology gives the same Cloud, byte for byte.
#pragma once

#include <string>

#include "model/cloud.h"
#include "model/topology.h"

namespace dvr::ipam {

// Throws InputError (with `source` and YAML lines) naming every problem; returns a Cloud
// only for input that is wholly valid.
model::Cloud resolve(const model::Topology& topo, const std::string& source);
// The topology file at `path`, read and resolved; its problems name the file and lines.
model::Cloud loadCloudFile(const std::string& path);

}  // namespace dvr::ipam
