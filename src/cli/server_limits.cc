#include "cli/server_limits.h"

namespace dvr::cli {

void addServerLimitOptions(CLI::App& cmd, server::ServerOptions& o) {
  cmd.add_option("--max-body-bytes", o.limits.max_body_bytes,
                 "largest request body; larger gets 413 (default 1048576)")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  cmd.add_option("--max-depth", o.limits.max_depth,
                 "deepest nesting of arrays and objects in a request body; deeper gets 400 "
                 "(default 32)")
      ->check(CLI::Range(4, 10000));
  cmd.add_option("--max-wait-ms", o.limits.max_wait_ms,
                 "longest an agent's long-poll waits; a longer wait= is clamped (default 30000)")
      ->check(CLI::Range(0, 3600000));
  cmd.add_option("--max-connections", o.limits.max_connections,
                 "open connections, agents' long-polls included; past it a new client gets 503 "
                 "(default 4096)")
      ->check(CLI::Range(1, 1 << 20));
  cmd.add_option("--listen-backlog", o.limits.listen_backlog,
                 "connections the kernel queues before they are accepted (default 4096)")
      ->check(CLI::Range(1, 1 << 20));
  cmd.add_option("--request-timeout", o.limits.request_timeout_s,
                 "seconds a request (or an idle keep-alive connection's next one) may take to "
                 "arrive before the connection is closed (default 30)")
      ->check(CLI::Range(1, 3600));
  cmd.add_option("--workers", o.limits.worker_threads,
                 "threads that run requests; waiting long-polls take none (default 8)")
      ->check(CLI::Range(1, 256));
  cmd.add_option("--max-waits-per-host", o.limits.max_waits_per_host,
                 "long-polls one host may have waiting; a further one answers the oldest "
                 "(default 2)")
      ->check(CLI::Range(1, 64));
}

}  // namespace dvr::cli
