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
  // Open connections (agents' long-polls included); past it a new one is answered 503
  // and closed. Raised to fit the process's file limit at start if need be.
  int max_connections = 4096;
  // Connections the kernel queues before the server accepts them (capped by
  // net.core.somaxconn).
  int listen_backlog = 4096;
  // A request must arrive whole (and an idle keep-alive connection send its next one)
  // within this many seconds, or the connection is closed: slow clients cost a socket.
  int request_timeout_s = 30;
  // Threads that run requests (the database's time); waiting long-polls take none.
  int worker_threads = 8;
  // Long-polls one host may have waiting; a further one answers the oldest.
  int max_waits_per_host = 2;
};

}  // namespace dvr::server
