// The server's state: the topology with every allocated value pinned (names are resource
// ids), the Neutron attributes dvr does not model, and the agents. Stored as one row per
// resource (store/store.h): a write stores the rows that differ from the state before.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "model/cloud.h"
#include "model/topology.h"
#include "store/store.h"

namespace dvr::server {

struct ApiState {
  model::Topology topo;
  nlohmann::json attrs = nlohmann::json::object();  // kind -> id -> {name, description, ...}
  nlohmann::json agents =
      nlohmann::json::object();  // host -> {id, agent_mode, tunnel_ip, uplinks, heartbeat}

  // Rows keys: "topology/settings", "topology/<section>/<key>" (section as in the
  // topology's JSON: networks, vms, …), "attrs/<kind>/<id>", "agents/<host>".
  static ApiState fromRows(const std::vector<store::Row>& rows);
  // A copy for a write to change: each list with room for one more item, so that the
  // item a write appends does not move the 100,000 before it again.
  // Built in the lists of `reuse` (a state no longer needed, or empty): their items' memory is
  // reused.
  static ApiState copyForWrite(const ApiState& from, ApiState reuse);
  // The rows to write to turn `before` into this state. With trackAttrs() called on a
  // copy of `before`, only the attributes touched since are compared.
  std::vector<store::RowChange> changesSince(const ApiState& before) const;
  // The body of a VM's or floating IP's row, as changesSince writes it.
  static std::string rowBody(const model::VmSpec& vm);
  static std::string rowBody(const model::FloatingIpSpec& fip);

  // Attribute changes go through these, so that a write compares only what it touched
  // (comparing every resource's attributes cost more than the rest of a write).
  void trackAttrs() { touched_.emplace(); }
  void untrackAttrs() { touched_.reset(); }
  void touchAttrs(const std::string& kind, const std::string& id) {
    if (touched_)
      touched_->emplace(kind, id);
  }
  void eraseAttrs(const std::string& kind, const std::string& id) {
    touchAttrs(kind, id);
    if (attrs.contains(kind)) {
      attrs[kind].erase(id);
      if (attrs[kind].empty())  // as the rows load: no kind without a resource
        attrs.erase(kind);
    }
  }

  // The topology as resolve() wants it: hosts from the registered agents; new SNAT
  // placements only on hosts `schedulable` accepts (all when it is empty).
  model::Topology topologyForResolve(
      const std::function<bool(const std::string&)>& schedulable = nullptr) const;
  // ipam::resolve of topologyForResolve(schedulable), without copying the topology.
  // Throws InputError as resolve does.
  model::Cloud resolve(const std::function<bool(const std::string&)>& schedulable,
                       const std::string& label);
  // Writes every value resolve() allocated back into the topology, so that it never
  // moves again, and drops pins nothing needs any more.
  void pinAllocations(const model::Cloud& cloud);

 private:
  std::vector<model::HostSpec> hostsFromAgents(
      const std::function<bool(const std::string&)>& schedulable) const;
  std::optional<std::set<std::pair<std::string, std::string>>> touched_;  // (kind, id)
};

}  // namespace dvr::server
