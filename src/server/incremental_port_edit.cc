#include "server/incremental_port_edit.h"

#include <algorithm>
#include <atomic>

namespace dvr::server {

using namespace dvr::model;

namespace {

std::atomic<uint64_t> g_removed{0}, g_rebound{0}, g_attributes{0};

bool attributeRow(const store::RowChange& r) {
  return r.key.starts_with("attrs/");
}

// The one topology row the rows write, when there is exactly one.
const store::RowChange* onlyTopologyRow(const std::vector<store::RowChange>& rows) {
  const store::RowChange* row = nullptr;
  for (const auto& r : rows) {
    if (attributeRow(r))
      continue;
    if (row)
      return nullptr;
    row = &r;
  }
  return row;
}

// The VM a topology row is of ("topology/vms/<name>"), or nothing.
std::optional<std::string> vmOfRow(const store::RowChange* row) {
  const std::string prefix = "topology/vms/";
  if (!row || !row->key.starts_with(prefix))
    return std::nullopt;
  return row->key.substr(prefix.size());
}

// The index of the VM port named `name` in `c` (resolve gives a VM port its name).
std::optional<size_t> vmPortIndex(const Cloud& c, const std::string& name) {
  for (size_t i = 0; i < c.ports.size(); ++i) {
    if (c.ports[i].name == name && c.ports[i].device_owner == kOwnerCompute)
      return i;
  }
  return std::nullopt;
}

bool natsTo(const Cloud& c, size_t port) {
  return std::any_of(c.floating_ips.begin(), c.floating_ips.end(),
                     [&](const FloatingIp& f) { return f.port == port; });
}

bool onInternalNetwork(const Cloud& c, const Port& p) {
  const Network* n = c.findNetwork(p.network_id);
  return n && !n->external;
}

// Whether a router holds a port at `at` or after it (resolve makes the routers' ports
// before the VMs; one after would be renumbered by a deletion).
bool routerPortFrom(const Cloud& c, size_t at) {
  auto from = [&](size_t i) { return i >= at; };
  for (const auto& r : c.routers) {
    if ((r.gateway_port && from(*r.gateway_port)) ||
        std::any_of(r.interface_ports.begin(), r.interface_ports.end(), from) ||
        std::any_of(r.snat_ports.begin(), r.snat_ports.end(), from) ||
        std::any_of(r.ha_ports.begin(), r.ha_ports.end(), from))
      return true;
  }
  return false;
}

}  // namespace

std::optional<Cloud> removedPort(const Cloud& c, const ApiState& before, const ApiState& after,
                                 const std::vector<store::RowChange>& rows, PortIndex& index,
                                 Cloud spare) {
  const store::RowChange* row = onlyTopologyRow(rows);
  auto name = vmOfRow(row);
  if (!name || row->body || after.topo.vms.size() + 1 != before.topo.vms.size())
    return std::nullopt;
  auto at = vmPortIndex(c, *name);
  if (!at || *at >= index.first_fg)
    return std::nullopt;
  const Port& gone = c.ports[*at];
  if (!onInternalNetwork(c, gone) || natsTo(c, *at) || routerPortFrom(c, *at))
    return std::nullopt;
  const auto& displaced = index.displaced_link_local_macs;
  if (std::any_of(displaced.begin(), displaced.end(),
                  [&](const PortIndex::Probe& p) { return p.passes(gone.mac.value()); }))
    return std::nullopt;  // a pair's MAC would move to the one freed

  Cloud out = splicedPorts(c, *at, nullptr, std::move(spare));
  for (auto& f : out.floating_ips) {
    if (f.port && *f.port > *at)
      --*f.port;  // the ports after it moved down by one
  }

  // Its MAC and addresses are free again; a subnet's gateway address stays taken.
  index.port_macs.erase(gone.mac.value());
  auto release = [&](const std::string& subnet_id, Ipv4 ip) {
    const Subnet* s = c.findSubnet(subnet_id);
    if (s && s->gateway == ip)
      return;
    index.used_ips[subnet_id].erase(ip.value());
  };
  if (gone.hasIp())
    release(gone.subnet_id, gone.ip);
  for (const auto& e : gone.extra_ips)
    release(e.subnet_id, e.ip);
  index.vm_names.erase(gone.name);
  --index.first_fg;
  g_removed.fetch_add(1);
  return out;
}

std::optional<Cloud> reboundPort(const Cloud& c, const ApiState& before, const ApiState& after,
                                 const std::vector<store::RowChange>& rows, Cloud spare) {
  const store::RowChange* row = onlyTopologyRow(rows);
  auto name = vmOfRow(row);
  if (!name || !row->body || after.topo.vms.size() != before.topo.vms.size())
    return std::nullopt;
  auto named = [&](const VmSpec& v) { return v.name == *name; };
  auto was = std::find_if(before.topo.vms.begin(), before.topo.vms.end(), named);
  auto is = std::find_if(after.topo.vms.begin(), after.topo.vms.end(), named);
  if (was == before.topo.vms.end() || is == after.topo.vms.end() ||
      was - before.topo.vms.begin() != is - after.topo.vms.begin())
    return std::nullopt;
  VmSpec moved = *was;
  moved.host = is->host;
  if (!(moved == *is) || (!is->host.empty() && !findByName(c.hosts, is->host)))
    return std::nullopt;
  auto at = vmPortIndex(c, *name);
  if (!at)
    return std::nullopt;
  const Port& p = c.ports[*at];
  const Subnet* s = p.hasIp() ? c.findSubnet(p.subnet_id) : nullptr;
  // An unbound port may hold its subnet's gateway address (resolve checks it again).
  if (!onInternalNetwork(c, p) || natsTo(c, *at) || (s && s->gateway == p.ip))
    return std::nullopt;
  Cloud out = std::move(spare);
  out = c;  // over the spare's items: their memory reused
  out.ports[*at].host = is->host;
  g_rebound.fetch_add(1);
  return out;
}

bool onlyAttributeRows(const std::vector<store::RowChange>& rows) {
  return std::all_of(rows.begin(), rows.end(), attributeRow);
}

Cloud unchangedCloud(const Cloud& c, Cloud spare) {
  Cloud out = std::move(spare);
  out = c;
  g_attributes.fetch_add(1);
  return out;
}

uint64_t removedPortsResolved() {
  return g_removed.load();
}
uint64_t reboundPortsResolved() {
  return g_rebound.load();
}
uint64_t attributeWritesResolved() {
  return g_attributes.load();
}

}  // namespace dvr::server
