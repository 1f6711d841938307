// Deterministic identifiers: the same name always gives the same UUID and the same
// preferred MAC or slot, so plans are byte-identical across runs and machines.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dvr::ipam {

uint64_t hash64(std::string_view text, uint64_t seed = 0);

// A UUID-shaped id (8-4-4-4-12 hex) derived from `key`.
std::string uuidFor(std::string_view key);

}  // namespace dvr::ipam
