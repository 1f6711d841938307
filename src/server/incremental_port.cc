#include "server/incremental_port.h"

#include <algorithm>
#include <atomic>
#include <unordered_set>

#include "ipam/ids.h"

namespace dvr::server {

using namespace dvr::model;

namespace {

std::atomic<uint64_t> g_resolved{0};

// The new VM when the rows change nothing of the topology but one VM row, for the VM
// appended last (attribute rows do not reach resolve).
VmSpec* onlyAppendedVm(const ApiState& before, ApiState& after,
                       const std::vector<store::RowChange>& rows) {
  if (after.topo.vms.size() != before.topo.vms.size() + 1)
    return nullptr;
  VmSpec& vm = after.topo.vms.back();
  const std::string key = "topology/vms/" + vm.name;
  int vm_rows = 0;
  for (const auto& r : rows) {
    if (r.key.starts_with("attrs/"))
      continue;
    if (r.key != key || !r.body)
      return nullptr;
    ++vm_rows;
  }
  return vm_rows == 1 ? &vm : nullptr;
}

// The cases this file resolves as resolve() does; anything else takes the full path.
bool simpleVm(const VmSpec& vm) {
  return vm.port_id && !vm.ip && !vm.no_ip && !vm.mac && vm.extra_ips.empty() &&
         vm.allowed_address_pairs.empty() && vm.extra_dhcp_opts.empty() &&
         (vm.port_security || vm.security_groups.empty());
}

// resolve()'s subnet for a VM: the one it names, else its network's first.
const Subnet* subnetFor(const Cloud& c, const VmSpec& vm, const Network& n) {
  for (const auto& s : c.subnets) {
    if (s.network_id == n.id && (!vm.subnet || s.name == *vm.subnet))
      return &s;
  }
  return nullptr;
}

// IpPool::allocate with every address pinned: the lowest address of the pools not used.
std::optional<Ipv4> lowestFree(const Subnet& s, const std::unordered_set<uint32_t>* used) {
  for (const auto& pool : s.pools) {
    for (uint32_t ip = pool.start.value(); ip <= pool.end.value() && ip != 0; ++ip) {
      if (!used || !used->count(ip))
        return Ipv4(ip);
      if (ip == pool.end.value())
        break;
    }
  }
  return std::nullopt;
}

// MacPool::allocate over `used`.
Mac probeMac(uint64_t prefix, const std::string& key, const std::unordered_set<uint64_t>& used) {
  uint64_t low = ipam::hash64(key, 7) & 0xffffff;
  for (uint64_t i = 0; i < 0x1000000; ++i) {
    uint64_t candidate = prefix | ((low + i) & 0xffffff);
    if (!used.count(candidate))
      return Mac(candidate);
  }
  return Mac();
}

}  // namespace

Cloud splicedPorts(const Cloud& c, size_t at, const Port* inserted, Cloud out) {
  out.settings = c.settings;
  out.hosts = c.hosts;
  out.networks = c.networks;
  out.subnets = c.subnets;
  out.routers = c.routers;
  auto split = c.ports.begin() + static_cast<std::ptrdiff_t>(at);
  out.ports.reserve(c.ports.size() + 1);
  out.ports.assign(c.ports.begin(), split);
  if (inserted)
    out.ports.push_back(*inserted);
  out.ports.insert(out.ports.end(), inserted ? split : split + 1, c.ports.end());
  out.floating_ips = c.floating_ips;
  out.link_locals = c.link_locals;
  out.external_hosts = c.external_hosts;
  out.security_groups = c.security_groups;
  return out;
}

bool PortIndex::Probe::passes(uint64_t mac) const {
  uint32_t low = static_cast<uint32_t>(mac & 0xffffff);
  return ((low - first) & 0xffffff) < ((taken - first) & 0xffffff);
}

PortIndex PortIndex::of(const Cloud& c, uint64_t revision) {
  PortIndex x;
  x.revision = revision;
  x.port_macs.reserve(c.ports.size());
  for (const auto& s : c.subnets) {
    if (s.gateway)
      x.used_ips[s.id].insert(s.gateway->value());
  }
  x.first_fg = c.ports.size();
  for (size_t i = 0; i < c.ports.size(); ++i) {
    const Port& q = c.ports[i];
    if (q.device_owner == kOwnerCompute)
      x.vm_names.insert(q.name);
    if (q.device_owner == kOwnerFipGateway) {
      if (x.first_fg == c.ports.size())
        x.first_fg = i;
    } else if (x.first_fg != c.ports.size()) {
      x.ordered = false;
    }
    x.port_macs.insert(q.mac.value());
    x.used_ips[q.subnet_id].insert(q.ip.value());
    for (const auto& e : q.extra_ips)
      x.used_ips[e.subnet_id].insert(e.ip.value());
  }
  auto probed = [&](const std::string& key, Mac taken) {
    auto first = static_cast<uint32_t>(ipam::hash64(key, 7) & 0xffffff);  // MacPool's first
    auto low = static_cast<uint32_t>(taken.value() & 0xffffff);
    if (low != first)
      x.displaced_link_local_macs.push_back({first, low});
  };
  for (const auto& ll : c.link_locals) {
    x.link_local_macs.insert(ll.rfp_mac.value());
    x.link_local_macs.insert(ll.fpr_mac.value());
    const std::string at = ll.router_id + ":" + ll.host;
    probed("rfp:" + at, ll.rfp_mac);
    probed("fpr:" + at, ll.fpr_mac);
  }
  return x;
}

std::optional<Cloud> appendedPort(const Cloud& c, const ApiState& before, ApiState& after,
                                  std::vector<store::RowChange>& rows, PortIndex& index,
                                  Cloud spare) {
  VmSpec* vm = onlyAppendedVm(before, after, rows);
  if (!vm || !simpleVm(*vm))
    return std::nullopt;
  const Network* n = findByName(c.networks, vm->network);
  if (!n || n->external)
    return std::nullopt;
  if (!vm->host.empty() && !findByName(c.hosts, vm->host))
    return std::nullopt;
  const Subnet* s = subnetFor(c, *vm, *n);
  if (!s)
    return std::nullopt;

  Port p;
  p.id = *vm->port_id;
  p.name = vm->name;
  p.network_id = n->id;
  p.device_owner = kOwnerCompute;
  p.device_id = ipam::uuidFor("instance:" + vm->name);
  p.host = vm->host;
  p.port_security = vm->port_security;
  for (const auto& g : vm->security_groups) {
    const SecurityGroup* sg = findByName(c.security_groups, g);
    if (!sg)
      return std::nullopt;
    if (std::find(p.security_group_ids.begin(), p.security_group_ids.end(), sg->id) ==
        p.security_group_ids.end())
      p.security_group_ids.push_back(sg->id);
  }

  if (index.vm_names.count(vm->name) || !index.ordered)
    return std::nullopt;  // defined twice (resolve's error), or not the order assumed
  auto used = index.used_ips.find(s->id);
  auto ip = lowestFree(*s, used == index.used_ips.end() ? nullptr : &used->second);
  if (!ip)
    return std::nullopt;  // exhausted: the full path refuses it
  p.subnet_id = s->id;
  p.ip = *ip;
  p.mac =
      probeMac(c.settings.base_mac.value() & 0xffffff000000ULL, "port:" + p.id, index.port_macs);
  if (index.link_local_macs.count(p.mac.value()))
    return std::nullopt;  // the full path would move that pair's MAC

  // The new VM goes before the fg- ports (ports are the routers', the HA ports, the VMs,
  // then the fg- ports).
  Cloud out = splicedPorts(c, index.first_fg, &p, std::move(spare));
  index.port_macs.insert(p.mac.value());
  index.used_ips[p.subnet_id].insert(p.ip.value());
  index.vm_names.insert(p.name);
  ++index.first_fg;
  // pinAllocations of the new VM, and its row as changesSince writes it.
  vm->port_id = p.id;
  vm->mac = p.mac;
  vm->ip = p.ip;
  vm->subnet = p.subnet_id;
  vm->extra_ips.clear();
  const std::string key = "topology/vms/" + vm->name;
  for (auto& r : rows) {
    if (r.key == key)
      r.body = ApiState::rowBody(*vm);
  }
  g_resolved.fetch_add(1);
  return out;
}

uint64_t appendedPortsResolved() {
  return g_resolved.load();
}

}  // namespace dvr::server
