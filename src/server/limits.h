// What one client or request may cost `dvr server`: the limits an operator sets with
// `dvr server` options (src/cli/server_limits.cc), each with its default here.
#pragma once

#include <cstddef>

namespace dvr::server {

struct ApiLimits {
  // Nesting of arrays and objects in a request body. Neutron's deepest bodies (a port's
  // fixed_ips, binding:profile) nest 4 levels; deeper is refused before parsing.
  int max_depth = 32;
  // An agent's long-poll (GET /dvr/v1/topology?wait=MS) waits at most this long; a longer
  // `wait` is clamped to it.
  int max_wait_ms = 30000;
  // A request body larger than this is refused with 413 before it is read.
  size_t max_body_bytes = 1 << 20;
};

}  // namespace dvr::server
