// Where an agent learns the cloud from: a topology file, or a dvr server (its host's
// slice of the server's cloud). Both implement the same seam.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "model/cloud.h"

namespace dvr::agent {

// How the agent's last reconcile went, for whoever follows the agents (`dvr status`).
struct ReconcileReport {
  std::string result;  // "ok", "rejected" (bad input, nothing changed) or "error"
  std::string kind;    // "full" or "incremental"
  double ms = 0;
  int changes = 0;
  std::string version;  // CloudSource::version() of what was applied ("" for a file)
  long at = 0;          // Unix time
  std::string error;    // the first line of what failed
};

class CloudSource {
 public:
  virtual ~CloudSource() = default;
  // The current cloud. Throws InputError when the source holds bad input.
  virtual model::Cloud load() = 0;
  // Blocks until the source may have changed (no fixed polling delay), `timeout_ms`
  // passed (-1: no timeout), or `stop_fd` became readable. Returns false when stopped.
  virtual bool waitForChange(int stop_fd, int timeout_ms) = 0;
  // Which version of the cloud load() returned last (the digest of the server's slice for
  // this host), or "".
  virtual std::string version() const { return ""; }
  // The last reconcile's outcome; a server source sends it with its next heartbeat.
  virtual void report(const ReconcileReport&) {}
  // What this host's HA routers are now (router id -> "active"/"standby"), asked for at
  // each heartbeat so that the server follows a failover within one heartbeat.
  virtual void setHaStateProbe(std::function<std::map<std::string, std::string>()>) {}
  // How many revisions the server is past the one whose slice was last applied, when the
  // slice it offers now is not that one (0 when this host is current); nullopt for a file.
  virtual std::optional<uint64_t> revisionsBehind() const { return std::nullopt; }
};

// Follows a topology file with inotify: a write or an atomic rename both count.
std::unique_ptr<CloudSource> topologyFileSource(const std::string& path);

// The agent's settings for following a server: where it is, and what this host
// registers as.
struct ServerSourceOptions {
  std::string url;   // http://127.0.0.1:9696
  std::string host;  // this host's name
  std::string mode = "dvr";
  std::string tunnel_ip;
  std::map<std::string, std::string> uplinks;  // external network (id, or "*") -> device
  bool dhcp = false;  // also a DHCP agent: the server may schedule networks' DHCP here
  // This host's agent key (server/agent_credential.h), sent with every request; empty:
  // none (a server without agent credentials).
  std::string agent_key;
};
// Follows a dvr server: registers this host, then long-polls its topology.
std::unique_ptr<CloudSource> serverSource(const ServerSourceOptions& options);

}  // namespace dvr::agent
