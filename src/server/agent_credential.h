// The agents' credential: a per-deployment secret file given to the server
// (--agent-secret-file) from which each host's own key is derived,
// key(host) = hex(HMAC-SHA256(secret, host)). `dvr agent-key --secret-file F --host H`
// prints it; the agent of host H is given only that key (--agent-key-file) and sends
// X-DVR-Agent-Host: H and X-DVR-Agent-Key: key(H) with every request. So a key opens one
// host's registration and slice and no other, and no host can be taken over by a caller
// that does not hold its key, while the server needs no list of hosts.
#pragma once

#include <optional>
#include <string>

namespace dvr::server {

// The secret's bytes, from a file of at least 16 of them (a trailing newline dropped);
// nullopt with the reason otherwise.
std::optional<std::string> readAgentSecret(const std::string& path, std::string& why);

// The key of `host` under `secret` (64 lower-case hex digits).
std::string agentKey(const std::string& secret, const std::string& host);

// Whether `key` is `host`'s key, compared in constant time.
bool agentKeyMatches(const std::string& secret, const std::string& host, const std::string& key);

// A key file's content (one line, surrounding whitespace dropped); nullopt with the reason.
std::optional<std::string> readAgentKey(const std::string& path, std::string& why);

}  // namespace dvr::server
