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
}

}  // namespace dvr::cli
