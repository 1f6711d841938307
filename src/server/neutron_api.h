// The Neutron v2.0 API subset dvr serves (networks, subnets, ports, routers with their
// interfaces and gateways, floating IPs, agents, extensions, the version document),
// plus dvr's agent endpoints (agent_api.cc). Pure request -> response over a Store: no
// HTTP here.
//
// Each mutating call is one transaction: load the state, change the topology, run
// ipam::resolve (every validation and allocation of the file path applies), pin what it
// allocated, save. Any error rolls back and returns Neutron's status and error body.
// A write that only adds a VM port is resolved from the cached cloud instead
// (server/incremental_port.h); it falls back to the full path whenever it is unsure.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "model/cloud.h"
#include "plan/cloud_index.h"
#include "server/api_state.h"
#include "server/incremental_port.h"
#include "server/limits.h"
#include "server/request_context.h"
#include "store/store.h"

namespace dvr::server {

struct ApiRequest {
  std::string method;
  std::string path;  // e.g. /v2.0/ports/<id>
  std::multimap<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  RequestContext context;  // set by the HTTP layer before handle()
};

struct WriteOutcome;  // server/resource_writes.h
struct WriteRequest;

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON, or empty (204)
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // more, e.g. WWW-Authenticate
};

// The answer to a request the database failed (disk full, connection lost): 503, with
// the cause in the log.
ApiResponse storeUnavailable(const std::string& what, const store::StoreError& e);
// How many answers storeUnavailable gave since the process started.
uint64_t databaseErrors();

class NeutronApi {
 public:
  // An agent is alive while its last heartbeat is at most `agent_down_seconds` old
  // (Neutron's agent_down_time); SNAT is placed only on alive dvr_snat agents.
  NeutronApi(store::Store& store, int agent_down_seconds);
  void setLimits(const ApiLimits& limits) { limits_ = limits; }
  const ApiLimits& limits() const { return limits_; }
  // Neutron's l3_ha: a router created without `ha` is HA.
  void setL3Ha(bool on) { l3_ha_ = on; }
  ApiResponse handle(const ApiRequest& request);

  // The revision this server saw last (for /metrics).
  uint64_t revisionSeen() {
    std::lock_guard<std::mutex> lock(mu_);
    return revision_seen_;
  }

  // Blocks until the state's revision exceeds `since` or `timeout_ms` passes.
  uint64_t waitForRevision(uint64_t since, int timeout_ms);

  // dvr's agent endpoints. PUT /dvr/v1/agents/<host> {agent_mode, tunnel_ip, uplinks}:
  // registers (the host gets its unique DVR MAC in dvr_host_macs) or reports liveness.
  ApiResponse registerAgent(const std::string& host, const std::string& body);
  // GET /dvr/v1/host-macs: the dvr_host_macs table, {"dvr_host_macs": [{host, mac_address}]}.
  ApiResponse hostMacs();
  // GET /dvr/v1/agents: {revision, agents: [{host, agent_mode, tunnel_ip, dvr_mac, alive,
  // heartbeat, reconcile}]}, where reconcile is the outcome of the agent's last reconcile
  // as its last heartbeat reported it to this server (kept in memory, like liveness).
  ApiResponse agentStatus();
  // GET /v2.0/routers/ID/l3-agents (admin): the agents of the hosts holding the router,
  // with each HA host's ha_state as its agent last reported it.
  ApiResponse l3AgentsOf(const ApiRequest& req, const std::string& router_id);
  // GET /dvr/v1/topology?since=N[&host=H][&digest=D]: {revision, digest, topology} once
  // the revision exceeds N; with a host, only the part its plan depends on
  // (server/host_slice.h). With the digest of the slice the agent holds, the poll waits on
  // until that slice changes, and at the deadline answers {revision, digest} only.
  ApiResponse topology(uint64_t since, int timeout_ms, const std::string& host = "",
                       const std::string& held_digest = "");
  // The same with its query string checked: since, wait (ms; clamped to
  // limits().max_wait_ms), host and digest; Neutron's 400 for a malformed one.
  ApiResponse topologyQuery(const std::multimap<std::string, std::string>& query);

  // The same long-poll without a thread waiting in it, for an event loop: parse the
  // query (an answer: refused), then take a step now and after each change (see
  // setChangeListener), and a final one at the deadline (poll.wait_ms).
  struct TopologyPoll {
    uint64_t since = 0;
    int wait_ms = 0;
    std::string host, digest;
  };
  std::optional<ApiResponse> parseTopologyQuery(
      const std::multimap<std::string, std::string>& query, TopologyPoll& poll);
  // The answer when there is one (a slice other than the one the agent holds or, when
  // `final`, {revision, digest}); nothing: wait on.
  std::optional<ApiResponse> topologyStep(TopologyPoll& poll, bool final);
  // Called, from any thread, whenever the revision may have moved (a write here, or
  // another server's seen through the store's watch).
  void setChangeListener(std::function<void()> listener) {
    std::lock_guard<std::mutex> lock(listener_mu_);
    listener_ = std::move(listener);
  }

  // The last state seen, parsed and resolved: a request at the same revision (every read,
  // and a write when no other server wrote in between) skips parsing and resolving.
  struct Cached {
    uint64_t revision;
    ApiState state;
    model::Cloud cloud;
    // The hosts resolve() was told not to place SNAT on (agents down): a write resolved
    // from this cloud instead of from scratch must see the same ones.
    std::set<std::string> unschedulable;
    // What agents' slices are cut from, made once per revision on the first agent's
    // request (a thousand agents ask after every write).
    struct ForAgents {
      std::once_flag once;
      model::Topology topology;  // with the hosts from the agents
      std::unique_ptr<plan::CloudIndex> index;
    };
    std::shared_ptr<ForAgents> for_agents = std::make_shared<ForAgents>();
  };
  // The state and cloud at the store's current revision (tests compare them with the
  // full path's).
  std::shared_ptr<const Cached> snapshot() { return current(); }

 private:
  ApiResponse dispatch(const ApiRequest& request);
  // /v2.0/quotas[/<project>[/<action>]] (server/quotas.h).
  ApiResponse quotas(const ApiRequest& request, const std::string& project, std::string action);
  // Runs `change` on the current state in one transaction: resolve, pin, store the rows
  // that changed, cache the result. An ApiError (or a problem resolving) rolls it back.
  WriteOutcome commit(const std::function<WriteOutcome(ApiState&, const WriteRequest&)>& change,
                      const ApiRequest& request, const std::string& collection,
                      const std::string& id, const std::string& action);
  void notifyChanged();
  bool l3_ha_ = false;
  ApiLimits limits_;
  std::mutex listener_mu_;
  std::function<void()> listener_;

  std::shared_ptr<const Cached> cached(uint64_t revision);
  // The state at the store's current revision, parsed and resolved (from the cache when
  // it is current).
  std::shared_ptr<const Cached> current();
  // Caches `c` unless a newer state is cached; returns the state it replaced.
  std::shared_ptr<const Cached> remember(std::shared_ptr<const Cached> c);
  std::mutex cache_mu_;
  std::mutex write_mu_;
  PortIndex port_index_;  // of the cached cloud, for appendedPort; under write_mu_
  // A state a write replaced and no reader held: the next write copies into its lists
  // (strings and vectors keep their memory) instead of freeing one state and allocating
  // another. Made non-const (Cached are made so), so reusing it is allowed; under write_mu_.
  std::shared_ptr<Cached> spare_;
  std::shared_ptr<const Cached> cache_;
  store::Store& store_;
  std::mutex mu_;
  std::condition_variable changed_;
  uint64_t revision_seen_ = 0;
  // Liveness does not bump the revision. Its own lock: it is read inside store
  // transactions, while mu_ is held around store reads (two orders would deadlock).
  std::mutex beats_mu_;
  std::map<std::string, long> heartbeats_;         // host -> time
  std::map<std::string, nlohmann::json> reports_;  // host -> its last reconcile
  // host -> router id -> "active" or "standby", as its agent last saw its keepalived.
  std::map<std::string, nlohmann::json> ha_states_;
  int agent_down_seconds_;
  // Writes by other servers over the same database wake this server's long-polls.
  std::unique_ptr<store::Watch> watch_;
  long lastHeartbeat(const std::string& host, const nlohmann::json& agent);
  bool agentAlive(const std::string& host, const nlohmann::json& agent);
  std::function<bool(const std::string&)> schedulable(const ApiState& s);
};

}  // namespace dvr::server
