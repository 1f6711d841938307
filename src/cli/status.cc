#include "cli/status.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "agent/api_client.h"

namespace dvr::cli {

std::string formatStatus(const nlohmann::json& answer) {
  uint64_t server_revision = answer.value("revision", uint64_t(0));
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-16s %-8s %-5s %-9s %-6s %-8s %-11s %9s %7s  %s\n", "HOST",
                "MODE", "ALIVE", "REVISION", "SERVER", "LAST", "KIND", "MS", "CHANGES", "DVR MAC");
  out += line;
  for (const auto& a : answer.value("agents", nlohmann::json::array())) {
    const nlohmann::json r = a.value("reconcile", nlohmann::json::object());
    std::string applied = r.contains("applied_revision")
                              ? std::to_string(r["applied_revision"].get<uint64_t>())
                              : "-";
    char ms[32] = "-";
    if (r.contains("ms"))
      std::snprintf(ms, sizeof ms, "%.1f", r["ms"].get<double>());
    std::snprintf(line, sizeof line, "%-16s %-8s %-5s %-9s %-6s %-8s %-11s %9s %7s  %s\n",
                  a.value("host", "").c_str(), a.value("agent_mode", "").c_str(),
                  a.value("alive", false) ? "yes" : "NO", applied.c_str(),
                  std::to_string(server_revision).c_str(), r.value("result", "-").c_str(),
                  r.value("kind", "-").c_str(), ms,
                  r.contains("changes") ? std::to_string(r["changes"].get<int>()).c_str() : "-",
                  a.value("dvr_mac", "").c_str());
    out += line;
    if (r.contains("error"))
      out += "    last error: " + r["error"].get<std::string>() + "\n";
  }
  return out;
}

int status(const std::string& url, const std::map<std::string, std::string>& headers) {
  agent::ApiClient client(url, {std::chrono::seconds(3), std::chrono::seconds(30)});
  client.setHeaders(headers);
  auto res = client.get("/dvr/v1/agents");
  if (!res)
    throw std::runtime_error("cannot reach " + url);
  if (res->status != 200)
    throw std::runtime_error(url + " answered " + std::to_string(res->status) + ": " + res->body);
  auto answer = nlohmann::json::parse(res->body);
  std::cout << formatStatus(answer);
  for (const auto& a : answer.value("agents", nlohmann::json::array())) {
    if (!a.value("alive", false) ||
        a.value("reconcile", nlohmann::json::object()).value("result", "ok") != "ok")
      return 1;
  }
  return 0;
}

}  // namespace dvr::cli
