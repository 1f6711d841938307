// The `dvr server` options that set its limits (server/limits.h), with their defaults.
#pragma once

#include <CLI/CLI.hpp>

#include "server/http_server.h"

namespace dvr::cli {

void addServerLimitOptions(CLI::App& server_cmd, server::ServerOptions& options);

}  // namespace dvr::cli
