// dvr's agent endpoints of the server: registration and liveness, the DVR host MAC table,
// and the long-polled topology (each agent gets its host's slice). Neutron's own
// resources are in neutron_api.cc.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>

#include "ipam/ids.h"
#include "model/error.h"
#include "model/topology_json.h"
#include "server/api_error.h"
#include "server/host_slice.h"
#include "server/neutron_api.h"

namespace dvr::server {

using nlohmann::json;

NeutronApi::NeutronApi(store::Store& store, int agent_down_seconds)
    : store_(store), agent_down_seconds_(agent_down_seconds) {
  watch_ = store_.watch([this] {
    uint64_t now = store_.revision();
    std::lock_guard<std::mutex> lock(mu_);
    revision_seen_ = std::max(revision_seen_, now);
    changed_.notify_all();
  });
}

uint64_t NeutronApi::waitForRevision(uint64_t since, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  revision_seen_ = std::max(revision_seen_, store_.revision());
  changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                    [&] { return revision_seen_ > since; });
  return revision_seen_;
}

long NeutronApi::lastHeartbeat(const std::string& host, const json& agent) {
  std::lock_guard<std::mutex> lock(beats_mu_);
  long beat = agent.value("heartbeat", 0L);
  if (auto it = heartbeats_.find(host); it != heartbeats_.end())
    beat = std::max(beat, it->second);
  return beat;
}

bool NeutronApi::agentAlive(const std::string& host, const json& agent) {
  return std::time(nullptr) - lastHeartbeat(host, agent) <= agent_down_seconds_;
}

std::function<bool(const std::string&)> NeutronApi::schedulable(const ApiState& s) {
  return [this, &s](const std::string& host) {
    return s.agents.contains(host) && agentAlive(host, s.agents.at(host));
  };
}

ApiResponse NeutronApi::registerAgent(const std::string& host, const std::string& body) {
  try {
    json b = json::parse(body, nullptr, false);
    if (b.is_discarded() || !b.is_object())
      throw badRequest("malformed agent registration");
    std::string mode = b.value("agent_mode", "dvr");
    if (mode != "dvr" && mode != "dvr_snat")
      throw badRequest("agent_mode must be dvr or dvr_snat");
    Ipv4 tunnel = ipArg(b.value("tunnel_ip", ""), "tunnel_ip");
    long t = std::time(nullptr);
    {
      std::lock_guard<std::mutex> lock(beats_mu_);
      heartbeats_[host] = t;
    }
    // A heartbeat (the same registration again, every few seconds from every agent) is
    // answered from the cached state: no transaction, no write lock.
    if (auto snap = current(); snap->state.agents.contains(host)) {
      const json& a = snap->state.agents.at(host);
      if (a.value("agent_mode", "") == mode && a.value("tunnel_ip", "") == tunnel.str() &&
          a.value("uplinks", json::object()) == b.value("uplinks", json::object()) &&
          a.contains("dvr_mac")) {
        return {200, json{{"agent", {{"host", host}, {"dvr_mac", a["dvr_mac"]}}}}.dump()};
      }
    }
    json out;
    bool changed = false;
    store_.transact([&](store::Transaction& tx) {
      std::shared_ptr<const Cached> base = cached(tx.revision());
      std::optional<ApiState> loaded;
      if (!base)
        loaded = ApiState::fromRows(tx.read().rows);
      const ApiState& before = base ? base->state : *loaded;
      ApiState s = before;
      s.trackAttrs();  // registration touches no attributes
      if (!s.agents.contains(host))
        s.agents[host] = json::object();
      json& a = s.agents[host];
      json want{{"agent_mode", mode},
                {"tunnel_ip", tunnel.str()},
                {"uplinks", b.value("uplinks", json::object())}};
      auto macs = tx.hostMacs();
      if (!macs.count(host)) {
        // Neutron's dvr_host_macs: a unique MAC under dvr_base_mac, kept for the host's life.
        std::set<std::string> used;
        for (const auto& [h, m] : macs)
          used.insert(m);
        uint64_t base = s.topo.settings.dvr_base_mac.value() & 0xffffff000000ULL;
        uint64_t low = ipam::hash64("host:" + host) & 0xffffff;
        std::string mac;
        for (uint64_t i = 0;; ++i) {
          mac = Mac(base | ((low + i) & 0xffffff)).str();
          if (!used.count(mac))
            break;
        }
        tx.setHostMac(host, mac);
        macs[host] = mac;
      }
      want["dvr_mac"] = macs[host];
      changed = a.value("agent_mode", json()) != want["agent_mode"] ||
                a.value("tunnel_ip", json()) != want["tunnel_ip"] ||
                a.value("uplinks", json()) != want["uplinks"] ||
                a.value("dvr_mac", json()) != want["dvr_mac"];
      out = {{"host", host}, {"dvr_mac", macs[host]}};
      if (!changed)
        return;
      if (!a.contains("id"))
        a["id"] = ipam::uuidFor("agent:" + host);
      if (!a.contains("started"))
        a["started"] = t;
      a["heartbeat"] = t;
      a.update(want);
      try {
        // Routers left without SNAT (no dvr_snat agent was alive) may get placed now.
        s.pinAllocations(s.resolve(schedulable(s), "agent " + host));
      } catch (const InputError& e) {
        throw badRequest(e.what());
      }
      tx.write(s.changesSince(before));
    });
    if (changed) {
      std::lock_guard<std::mutex> lock(mu_);
      revision_seen_++;
    }
    changed_.notify_all();
    return {200, json{{"agent", out}}.dump()};
  } catch (const ApiError& e) {
    return {e.status(), errorBody(e).dump()};
  }
}

ApiResponse NeutronApi::hostMacs() {
  json rows = json::array();
  store_.transact([&](store::Transaction& tx) {
    for (const auto& [host, mac] : tx.hostMacs())
      rows.push_back({{"host", host}, {"mac_address", mac}});
  });
  return {200, json{{"dvr_host_macs", rows}}.dump()};
}

namespace {

// FNV-1a over the slice's JSON text: the same slice gives the same digest on every server.
std::string digestOf(const std::string& text) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : text)
    h = (h ^ ch) * 1099511628211ull;
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

}  // namespace

ApiResponse NeutronApi::topology(uint64_t since, int timeout_ms, const std::string& host,
                                 const std::string& held_digest) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  try {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      waitForRevision(since, int(std::max<long>(0, left.count())));
      std::shared_ptr<const Cached> snap = current();
      Cached::ForAgents& all = *snap->for_agents;
      std::call_once(all.once, [&] {
        all.topology = snap->state.topologyForResolve();
        all.index = std::make_unique<plan::CloudIndex>(snap->cloud);
      });
      std::string text =
          toJson(host.empty() ? all.topology : hostSlice(all.topology, *all.index, host)).dump();
      std::string digest = digestOf(text);
      json head{{"revision", snap->revision}, {"digest", digest}};
      if (held_digest.empty() || digest != held_digest) {
        std::string body = head.dump();  // {"revision":..,"digest":..} + ,"topology":..}
        body.pop_back();
        return {200, body + ",\"topology\":" + text + "}"};
      }
      // The agent holds this slice already: writes that do not touch its host keep the
      // poll waiting; at the deadline the answer carries no topology.
      if (std::chrono::steady_clock::now() >= deadline)
        return {200, head.dump()};
      since = std::max(since, snap->revision);
    }
  } catch (const ApiError& e) {
    return {e.status(), errorBody(e).dump()};
  }
}

}  // namespace dvr::server
