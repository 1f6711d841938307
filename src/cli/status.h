// `dvr status`: every agent a server knows, one line per host, like `openstack network
// agent list` with what dvr knows besides: liveness, the revision its last reconcile
// applied against the server's, that reconcile's result, kind and duration, the DVR MAC.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <string>

namespace dvr::cli {

// The table for GET /dvr/v1/agents's answer.
std::string formatStatus(const nlohmann::json& agents);
// Asks `url`; returns the process exit code (1 when an agent is down or failed).
// `headers`: the credential to send (cli/credentials.h).
int status(const std::string& url, const std::map<std::string, std::string>& headers);

}  // namespace dvr::cli
