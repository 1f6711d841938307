// The credential the operator's commands (`dvr status`, `dvr host-macs`, `--server` of
// trace and draw) send to a `dvr server` that requires one, as the agent sends its own:
//  - an agent's key: --agent-key-file F --agent-host H (X-DVR-Agent-Host, X-DVR-Agent-Key;
//    the key opens the server's read-only agent tables, as for the agent of H);
//  - a Keystone token: --os-token T (or OS_TOKEN), or one issued now with the usual
//    OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, OS_*_DOMAIN_NAME (the
//    server admits an admin's token on its agent endpoints).
// Nothing given and no OS_* set: no credential (a server under noauth needs none).
#pragma once

#include <map>
#include <string>

namespace CLI {
class App;
}

namespace dvr::cli {

struct ServerCredentials {
  std::string agent_key_file, agent_host, os_token;
};

// Adds --agent-key-file, --agent-host and --os-token to `cmd`.
void addCredentialOptions(CLI::App* cmd, ServerCredentials& c);

// The headers to send. Throws InputError for a half-given agent credential, an unreadable
// key file, or Keystone refusing (or not answering) the OS_* password.
std::map<std::string, std::string> credentialHeaders(const ServerCredentials& c);

}  // namespace dvr::cli
