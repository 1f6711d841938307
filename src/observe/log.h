// Levelled logs for the long-running processes (agent, server, lab): one line per event
// on stderr, "<time> <level> <key=value …> <what>", through spdlog. A reconcile's changes
// are logged as the ip/bridge/nft commands they are, with the host and namespace.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace dvr::observe {

// "trace", "debug", "info" (the default), "warn", "error", "off". Throws
// std::invalid_argument naming the level it does not know.
void setLogLevel(const std::string& level);

// The namespace a reconcile log line is about: "ip -n NS …" and "ip netns exec NS …"
// name it; anything else is the host's own ("").
std::string namespaceOfCommand(const std::string& line);

}  // namespace dvr::observe
