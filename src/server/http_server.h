// `dvr server`: the Neutron API over HTTP/1.1 (cpp-httplib, keep-alive, a thread pool).
#pragma once

#include <memory>
#include <string>

#include "server/authenticator.h"
#include "server/limits.h"

namespace dvr::server {

// Neutron's default agent_down_time, in seconds.
inline constexpr int kDefaultAgentDownTime = 75;

struct ServerOptions {
  std::string bind = "127.0.0.1:9696";
  std::string db = "sqlite:dvr.db";
  int agent_down_time = kDefaultAgentDownTime;  // seconds, as Neutron's agent_down_time
  bool l3_ha = false;                           // new routers are HA unless they say (Neutron's)
  ApiLimits limits;
  AuthOptions auth;  // who may call it (server/authenticator.h)
};

// Serves until SIGTERM/SIGINT. Returns the exit code.
int runServer(const ServerOptions& options);

}  // namespace dvr::server
