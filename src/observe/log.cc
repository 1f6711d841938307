#include "observe/log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <stdexcept>

namespace dvr::observe {
namespace {

// Installed once: stderr, ISO time with milliseconds, the level, the message.
bool installed = [] {
  auto logger = spdlog::stderr_logger_mt("dvr");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %-5l %v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return true;
}();

}  // namespace

void setLogLevel(const std::string& level) {
  auto l = spdlog::level::from_str(level);
  // from_str answers "off" for what it does not know.
  if (l == spdlog::level::off && level != "off")
    throw std::invalid_argument("--log-level " + level +
                                ": expected trace, debug, info, warn, error or off");
  spdlog::set_level(l);
}

std::string namespaceOfCommand(const std::string& line) {
  for (const std::string prefix : {"ip -n ", "ip netns exec "}) {
    if (line.rfind(prefix, 0) == 0)
      return line.substr(prefix.size(), line.find(' ', prefix.size()) - prefix.size());
  }
  if (line.rfind("ip netns add ", 0) == 0 || line.rfind("ip netns del ", 0) == 0)
    return line.substr(13);
  return "";
}

}  // namespace dvr::observe
