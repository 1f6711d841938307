#include "cli/credentials.h"

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "model/error.h"
#include "server/agent_credential.h"
#include "server/keystone_auth.h"

namespace dvr::cli {

void addCredentialOptions(CLI::App* cmd, ServerCredentials& c) {
  cmd->add_option("--agent-key-file", c.agent_key_file,
                  "an agent's key (from `dvr agent-key`), with --agent-host");
  cmd->add_option("--agent-host", c.agent_host, "the host whose key --agent-key-file holds");
  cmd->add_option("--os-token", c.os_token,
                  "a Keystone token (default $OS_TOKEN; else one issued with OS_AUTH_URL, "
                  "OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME)");
}

std::map<std::string, std::string> credentialHeaders(const ServerCredentials& c) {
  if (!c.agent_key_file.empty() || !c.agent_host.empty()) {
    if (c.agent_key_file.empty() || c.agent_host.empty())
      throw InputError("dvr", {{"--agent-key-file/--agent-host",
                                "an agent credential is a key file and its host together", 0}});
    std::string why;
    auto key = server::readAgentKey(c.agent_key_file, why);
    if (!key)
      throw InputError("dvr", {{"--agent-key-file", why, 0}});
    return {{"X-DVR-Agent-Host", c.agent_host}, {"X-DVR-Agent-Key", *key}};
  }
  std::string token = c.os_token;
  if (token.empty() && std::getenv("OS_TOKEN"))
    token = std::getenv("OS_TOKEN");
  if (!token.empty())
    return {{"X-Auth-Token", token}};
  const char* url = std::getenv("OS_AUTH_URL");
  if (!url || !*url)
    return {};
  std::string missing;
  auto user = server::ServiceCredentials::fromEnvironment(missing);
  if (!missing.empty())
    throw InputError("dvr", {{"OS_AUTH_URL", "is set but " + missing + " is not", 0}});
  server::KeystoneAuth keystone(url, user);
  std::string why;
  auto issued = keystone.issueToken(why);
  if (!issued)
    throw InputError("dvr", {{"OS_AUTH_URL", why, 0}});
  return {{"X-Auth-Token", *issued}};
}

}  // namespace dvr::cli
