// The agent's view of a dvr server: registers the host (and so reports liveness) and
// long-polls its host's slice of the topology, sending the digest of the slice it holds so
// that the server answers only when that slice changes (writes elsewhere in the cloud do
// not wake it). While the server is down the agent keeps the data path as it is and
// retries.
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/api_client.h"
#include "agent/cloud_source.h"
#include "ipam/resolve.h"
#include "model/topology_json.h"
#include "observe/log.h"

namespace dvr::agent {
namespace {

using nlohmann::json;

class ServerCloudSource : public CloudSource {
 public:
  // A long-poll waits at most 5 s (waitForChange): 40 s to read is ample.
  ServerCloudSource(ServerSourceOptions o)
      : o_(std::move(o)), client_(o_.url, {std::chrono::seconds(2), std::chrono::seconds(40)}) {
    if (!o_.agent_key.empty())
      client_.setHeaders({{"X-DVR-Agent-Host", o_.host}, {"X-DVR-Agent-Key", o_.agent_key}});
  }

  model::Cloud load() override {
    if (!topology_)
      fetch(0, 0);
    return ipam::resolve(*topology_, o_.url);
  }

  // The digest of the slice last loaded: the lab compares it with the server's.
  std::string version() const override { return digest_; }

  bool waitForChange(int stop_fd, int timeout_ms) override {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(timeout_ms < 0 ? INT32_MAX : timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{stop_fd, POLLIN, 0};
      if (::poll(&p, 1, 0) > 0)
        return false;
      registerHost();  // liveness, and a re-registration after a server restart
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (fetch(revision_, int(std::clamp<long>(left, 0, 5000))))
        return true;
    }
    return true;
  }

  void setHaStateProbe(std::function<std::map<std::string, std::string>()> probe) override {
    ha_probe_ = std::move(probe);
  }

  void report(const ReconcileReport& r) override {
    if (r.result == "ok") {
      applied_revision_ = fetched_revision_;
      applied_digest_ = digest_;
    }
    report_ = json{{"result", r.result},
                   {"kind", r.kind},
                   {"ms", r.ms},
                   {"changes", r.changes},
                   {"applied", r.version},
                   {"at", r.at},
                   {"applied_revision", applied_revision_}};
    if (!r.error.empty())
      report_["error"] = r.error;
  }

 private:
  void registerHost() {
    json body{{"agent_mode", o_.mode}, {"tunnel_ip", o_.tunnel_ip}, {"uplinks", o_.uplinks}};
    if (o_.dhcp)
      body["dhcp"] = true;
    if (!report_.is_null())
      body["reconcile"] = report_;
    if (ha_probe_) {
      if (auto states = ha_probe_(); !states.empty())
        body["ha_state"] = states;
    }
    auto res = client_.put("/dvr/v1/agents/" + o_.host, body.dump());
    if (!res) {
      if (!warned_)
        spdlog::warn("host={} server {} unreachable; keeping the data path, retrying", o_.host,
                     o_.url);
      warned_ = true;
      std::this_thread::sleep_for(std::chrono::seconds(1));
      return;
    }
    warned_ = false;
    if (res->status != 200)
      spdlog::error("host={} registration refused: {}", o_.host, res->body);
  }

  // True when a newer topology arrived.
  bool fetch(uint64_t since, int wait_ms) {
    if (!registered_) {
      registerHost();
      registered_ = true;
    }
    // Only this host's part of the cloud travels (server/host_slice.h).
    std::string held = topology_ ? "&digest=" + digest_ : "";
    auto res = client_.get("/dvr/v1/topology?since=" + std::to_string(since) +
                           "&wait=" + std::to_string(wait_ms) + "&host=" + o_.host + held);
    if (!res || res->status != 200) {
      if (!topology_)
        throw std::runtime_error("cannot read the topology from " + o_.url);
      std::this_thread::sleep_for(std::chrono::seconds(1));
      return false;
    }
    json j = json::parse(res->body);
    revision_ = std::max(revision_, j.at("revision").get<uint64_t>());
    std::string digest = j.at("digest").get<std::string>();
    if (topology_ && (!j.contains("topology") || digest == digest_))
      return false;  // the slice this host holds is still current
    topology_ = model::topologyFromJson(j.at("topology"));
    digest_ = digest;
    fetched_revision_ = revision_;
    return true;
  }

 public:
  std::optional<uint64_t> revisionsBehind() const override {
    return digest_ == applied_digest_ ? 0 : revision_ - std::min(revision_, applied_revision_);
  }

 private:
  ServerSourceOptions o_;
  ApiClient client_;
  std::optional<model::Topology> topology_;
  uint64_t revision_ = 0;          // the latest the server answered with
  uint64_t fetched_revision_ = 0;  // when the slice held was fetched
  uint64_t applied_revision_ = 0;  // when the slice last applied was fetched
  std::string digest_, applied_digest_;
  json report_;  // the last reconcile, sent with each heartbeat
  std::function<std::map<std::string, std::string>()> ha_probe_;
  bool registered_ = false, warned_ = false;
};

}  // namespace

std::unique_ptr<CloudSource> serverSource(const ServerSourceOptions& options) {
  return std::make_unique<ServerCloudSource>(options);
}

}  // namespace dvr::agent
