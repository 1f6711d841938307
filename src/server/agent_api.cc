// dvr's agent endpoints of the server: registration and liveness, the DVR host MAC table,
// and the long-polled topology (each agent gets its host's slice). Neutron's own
// resources are in neutron_api.cc.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>

#include "ipam/ids.h"
#include "model/error.h"
#include "model/topology_json.h"
#include "server/api_error.h"
#include "server/host_slice.h"
#include "server/list_query.h"
#include "server/neutron_api.h"
#include "server/neutron_views.h"
#include "server/request_args.h"
#include "server/validators.h"

namespace dvr::server {

using nlohmann::json;

namespace {

[[noreturn]] void invalid(const std::string& what, const std::string& value,
                          const std::string& reason) {
  throw badRequest("Invalid input for " + what + ". Reason: '" + value + "' " + reason + ".");
}

// A host as agents name themselves: a hostname (letters, digits, '.', '-', '_').
void checkHost(const std::string& host) {
  bool ok =
      !host.empty() && host.size() <= 255 && std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
      });
  if (!ok)
    invalid("host", host, "is not a valid host name");
}

// A registration body: {agent_mode, tunnel_ip, uplinks: {network or "*": device}, dhcp}.
void checkRegistration(const json& b) {
  std::string unknown;
  for (const auto& [k, item] : b.items()) {
    // "reconcile": the agent's last reconcile's outcome, sent with each heartbeat;
    // "ha_state": router id -> "active" or "standby", for the host's HA routers.
    // "dhcp": the host runs a DHCP agent too (`dvr agent --dhcp`).
    if (k != "agent_mode" && k != "tunnel_ip" && k != "uplinks" && k != "reconcile" &&
        k != "ha_state" && k != "dhcp")
      unknown += (unknown.empty() ? "" : ", ") + k;
  }
  if (!unknown.empty())
    throw badRequest("Unrecognized attribute(s) '" + unknown + "'");
  if (b.contains("reconcile")) {
    if (auto r = validators::dict(b["reconcile"]))
      throw badRequest("Invalid input for reconcile. Reason: " + *r + ".");
  }
  if (b.contains("ha_state")) {
    const json& h = b["ha_state"];
    bool ok = h.is_object();
    if (ok) {
      for (const auto& [router, state] : h.items())
        ok = ok && (state == "active" || state == "standby" || state == "unknown");
    }
    if (!ok)
      throw badRequest(
          "Invalid input for ha_state. Reason: expected router id -> active, standby or unknown.");
  }
  if (b.contains("dhcp") && !b["dhcp"].is_boolean())
    throw badRequest("Invalid input for dhcp. Reason: '" + validators::pyStr(b["dhcp"]) +
                     "' is not a boolean.");
  if (b.contains("agent_mode")) {
    if (auto r = validators::values(b["agent_mode"], {"dvr", "dvr_snat"}))
      throw badRequest("Invalid input for agent_mode. Reason: " + *r + ".");
  }
  if (auto r = validators::ipAddress(b.value("tunnel_ip", json(""))))
    throw badRequest("Invalid input for tunnel_ip. Reason: " + *r + ".");
  if (!b.contains("uplinks"))
    return;
  if (auto r = validators::dict(b["uplinks"]))
    throw badRequest("Invalid input for uplinks. Reason: " + *r + ".");
  for (const auto& [net, dev] : b["uplinks"].items()) {
    // A Linux interface name: at most 15 bytes, no '/', no whitespace.
    bool ok = dev.is_string() && !dev.get<std::string>().empty() &&
              dev.get<std::string>().size() <= 15 &&
              dev.get<std::string>().find_first_of("/ \t\n:") == std::string::npos;
    if (!ok)
      invalid("uplinks", validators::pyStr(dev), "is not a valid interface name");
    if (auto r = validators::string(json(net), 255))
      throw badRequest("Invalid input for uplinks. Reason: " + *r + ".");
  }
}

// A decimal parameter of the agent endpoints; nullopt: absent. Values past `max` are
// `max` (an agent asking to wait a year waits the longest the server allows).
std::optional<uint64_t> decimal(const Query& query, const char* name, uint64_t max) {
  auto it = query.find(name);
  if (it == query.end())
    return std::nullopt;
  const std::string& text = it->second;
  if (text.empty() || text.size() > 64 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    invalid(name, text, text.rfind('-', 0) == 0 ? "should be non-negative" : "is not an integer");
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range || value > max)
    return max;
  return value;
}

}  // namespace

std::optional<ApiResponse> NeutronApi::parseTopologyQuery(const Query& query, TopologyPoll& poll) {
  try {
    for (const auto& [key, value] : query) {
      if (key != "since" && key != "wait" && key != "host" && key != "digest")
        throw badRequest("[" + key + "] is invalid attribute for filtering");
    }
    // A revision this server could have given: past the largest, it is not one.
    poll.since = decimal(query, "since", UINT64_MAX).value_or(0);
    if (poll.since == UINT64_MAX)
      invalid("since", query.find("since")->second, "is not a revision");
    poll.wait_ms = int(decimal(query, "wait", uint64_t(limits_.max_wait_ms)).value_or(0));
    if (auto it = query.find("host"); it != query.end()) {
      poll.host = it->second;
      checkHost(poll.host);
    }
    if (auto it = query.find("digest"); it != query.end()) {
      poll.digest = it->second;
      if (poll.digest.size() > 64 ||
          !std::all_of(poll.digest.begin(), poll.digest.end(), ::isxdigit))
        invalid("digest", poll.digest, "is not a digest this server gave");
    }
    return std::nullopt;
  } catch (const ApiError& e) {
    return ApiResponse{e.status(), errorText(e)};
  }
}

ApiResponse NeutronApi::topologyQuery(const Query& query) {
  TopologyPoll poll;
  if (auto refused = parseTopologyQuery(query, poll))
    return *refused;
  return topology(poll.since, poll.wait_ms, poll.host, poll.digest);
}

NeutronApi::NeutronApi(store::Store& store, int agent_down_seconds)
    : store_(store), agent_down_seconds_(agent_down_seconds) {
  watch_ = store_.watch([this] {
    uint64_t now = store_.revision();
    std::lock_guard<std::mutex> lock(mu_);
    revision_seen_ = std::max(revision_seen_, now);
    notifyChanged();
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
    checkHost(host);
    if (nestedDeeperThan(body, limits_.max_depth))
      throw badRequest("Malformed request body: nested deeper than " +
                       std::to_string(limits_.max_depth) + " levels");
    json b = json::parse(body, nullptr, false);
    if (b.is_discarded() || !b.is_object())
      throw badRequest("malformed agent registration");
    checkRegistration(b);
    std::string mode = b.value("agent_mode", "dvr");
    if (mode != "dvr" && mode != "dvr_snat")
      throw badRequest("agent_mode must be dvr or dvr_snat");
    Ipv4 tunnel = ipArg(b.value("tunnel_ip", ""), "tunnel_ip");
    long t = std::time(nullptr);
    // The agent counts as alive while its own registration is placed (it may be the
    // dvr_snat agent SNAT waits for); a refused registration leaves the last beat as it was.
    std::optional<long> previous_beat;
    {
      std::lock_guard<std::mutex> lock(beats_mu_);
      if (auto it = heartbeats_.find(host); it != heartbeats_.end())
        previous_beat = it->second;
      heartbeats_[host] = t;
      if (b.contains("reconcile"))
        reports_[host] = b["reconcile"];
      if (b.contains("ha_state") && b["ha_state"].is_object())
        ha_states_[host] = b["ha_state"];
    }
    struct RestoreBeat {
      NeutronApi* api;
      const std::string& host;
      std::optional<long> previous;
      bool committed = false;
      ~RestoreBeat() {
        if (committed)
          return;
        std::lock_guard<std::mutex> lock(api->beats_mu_);
        if (previous)
          api->heartbeats_[host] = *previous;
        else
          api->heartbeats_.erase(host);
      }
    } restore{this, host, previous_beat};
    // A heartbeat (the same registration again, every few seconds from every agent) is
    // answered from the cached state: no transaction, no write lock.
    if (auto snap = current(); snap->state.agents.contains(host)) {
      const json& a = snap->state.agents.at(host);
      if (a.value("agent_mode", "") == mode && a.value("tunnel_ip", "") == tunnel.str() &&
          a.value("uplinks", json::object()) == b.value("uplinks", json::object()) &&
          a.value("dhcp", false) == b.value("dhcp", false) && a.contains("dvr_mac")) {
        restore.committed = true;
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
      if (b.value("dhcp", false))  // stored only when set: agents' rows stay as they were
        want["dhcp"] = true;
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
                a.value("dvr_mac", json()) != want["dvr_mac"] ||
                a.value("dhcp", false) != want.value("dhcp", false);
      out = {{"host", host}, {"dvr_mac", macs[host]}};
      if (!changed)
        return;
      if (!a.contains("id"))
        a["id"] = ipam::uuidFor("agent:" + host);
      if (!a.contains("started"))
        a["started"] = t;
      a["heartbeat"] = t;
      a.erase("dhcp");
      a.update(want);
      try {
        // Routers left without SNAT (no dvr_snat agent was alive) may get placed now.
        s.pinAllocations(s.resolve(schedulable(s), "agent " + host));
      } catch (const InputError& e) {
        throw badRequest(e.what());
      }
      tx.write(s.changesSince(before));
    });
    restore.committed = true;
    if (changed) {
      std::lock_guard<std::mutex> lock(mu_);
      revision_seen_++;
    }
    notifyChanged();
    return {200, json{{"agent", out}}.dump()};
  } catch (const ApiError& e) {
    return {e.status(), errorText(e)};
  } catch (const store::StoreError& e) {
    return storeUnavailable("PUT /dvr/v1/agents/" + host, e);
  }
}

ApiResponse NeutronApi::agentStatus() {
  try {
    auto snap = current();
    json agents = json::array();
    for (const auto& [host, a] : snap->state.agents.items()) {
      json row{{"host", host},
               {"agent_mode", a.value("agent_mode", "")},
               {"tunnel_ip", a.value("tunnel_ip", "")},
               {"dhcp", a.value("dhcp", false)},
               {"dvr_mac", a.value("dvr_mac", "")},
               {"alive", agentAlive(host, a)},
               {"heartbeat", lastHeartbeat(host, a)}};
      std::lock_guard<std::mutex> lock(beats_mu_);
      if (auto it = reports_.find(host); it != reports_.end())
        row["reconcile"] = it->second;
      if (auto it = ha_states_.find(host); it != ha_states_.end())
        row["ha_state"] = it->second;
      agents.push_back(std::move(row));
    }
    return {200, json{{"revision", snap->revision}, {"agents", agents}}.dump()};
  } catch (const store::StoreError& e) {
    return storeUnavailable("GET /dvr/v1/agents", e);
  }
}

ApiResponse NeutronApi::l3AgentsOf(const ApiRequest& req, const std::string& router_id) {
  if (!req.context.is_admin)
    throw ApiError(403, "PolicyNotAuthorized", "(rule:get_l3-agents) is disallowed by policy");
  auto snap = current();
  const model::Cloud& c = snap->cloud;
  const model::Router* router = nullptr;
  for (const auto& r : c.routers) {
    if (r.id == router_id)
      router = &r;
  }
  if (!router)
    throw ApiError(404, "RouterNotFound", "Router " + router_id + " could not be found");
  // Its snat- hosts, then the hosts where its VMs are (a distributed router is on those;
  // a centralized one only on its own).
  std::vector<std::string> hosts = router->ha_hosts;
  if (hosts.empty() && !router->snat_host.empty())
    hosts.push_back(router->snat_host);
  std::set<std::string> subnets;
  for (size_t p : router->interface_ports) {
    if (router->distributed)
      subnets.insert(c.ports[p].subnet_id);
  }
  for (const auto& p : c.ports) {
    if (p.device_owner == model::kOwnerCompute && subnets.count(p.subnet_id) &&
        std::find(hosts.begin(), hosts.end(), p.host) == hosts.end() && !p.host.empty())
      hosts.push_back(p.host);
  }
  View v{snap->state, c};
  json agents = json::array();
  for (const auto& host : hosts) {
    if (!snap->state.agents.contains(host))
      continue;
    const json& a = snap->state.agents.at(host);
    json live = a;
    live["heartbeat"] = lastHeartbeat(host, a);
    live["alive"] = agentAlive(host, a);
    json row = v.agent(host, live);
    json state = nullptr;
    if (router->ha()) {
      std::lock_guard<std::mutex> lock(beats_mu_);
      auto it = ha_states_.find(host);
      if (it != ha_states_.end() && it->second.contains(router_id))
        state = it->second[router_id];
      else if (std::find(router->ha_hosts.begin(), router->ha_hosts.end(), host) !=
               router->ha_hosts.end())
        state = "unknown";
    }
    row["ha_state"] = state;
    agents.push_back(std::move(row));
  }
  return {200, json{{"agents", agents}}.dump()};
}

ApiResponse NeutronApi::hostMacs() {
  json rows = json::array();
  try {
    store_.transact([&](store::Transaction& tx) {
      for (const auto& [host, mac] : tx.hostMacs())
        rows.push_back({{"host", host}, {"mac_address", mac}});
    });
  } catch (const store::StoreError& e) {
    return storeUnavailable("GET /dvr/v1/host-macs", e);
  }
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

std::optional<ApiResponse> NeutronApi::topologyStep(TopologyPoll& poll, bool final) {
  try {
    if (waitForRevision(poll.since, 0) <= poll.since && !final)
      return std::nullopt;
    std::shared_ptr<const Cached> snap = current();
    Cached::ForAgents& all = *snap->for_agents;
    std::call_once(all.once, [&] {
      all.topology = snap->state.topologyForResolve();
      all.index = std::make_unique<plan::CloudIndex>(snap->cloud);
    });
    std::string text =
        toJson(poll.host.empty() ? all.topology : hostSlice(all.topology, *all.index, poll.host))
            .dump();
    std::string digest = digestOf(text);
    json head{{"revision", snap->revision}, {"digest", digest}};
    if (poll.digest.empty() || digest != poll.digest) {
      std::string body = head.dump();  // {"revision":..,"digest":..} + ,"topology":..}
      body.pop_back();
      return ApiResponse{200, body + ",\"topology\":" + text + "}"};
    }
    // The agent holds this slice already: writes that do not touch its host keep the
    // poll waiting; at the deadline the answer carries no topology.
    if (final)
      return ApiResponse{200, head.dump()};
    poll.since = std::max(poll.since, snap->revision);
    return std::nullopt;
  } catch (const ApiError& e) {
    return ApiResponse{e.status(), errorText(e)};
  } catch (const store::StoreError& e) {
    return storeUnavailable("GET /dvr/v1/topology", e);
  }
}

ApiResponse NeutronApi::topology(uint64_t since, int timeout_ms, const std::string& host,
                                 const std::string& held_digest) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  TopologyPoll poll{since, timeout_ms, host, held_digest};
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    bool final = left.count() <= 0;
    if (!final)
      waitForRevision(poll.since, int(left.count()));
    if (auto answer = topologyStep(poll, final || std::chrono::steady_clock::now() >= deadline))
      return *answer;
  }
}

void NeutronApi::notifyChanged() {
  changed_.notify_all();
  std::function<void()> listener;
  {
    std::lock_guard<std::mutex> lock(listener_mu_);
    listener = listener_;
  }
  if (listener)
    listener();
}

}  // namespace dvr::server
