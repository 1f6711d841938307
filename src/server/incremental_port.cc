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
std::optional<Ipv4> lowestFree(const Subnet& s, const std::unordered_set<uint32_t>& used) {
  for (const auto& pool : s.pools) {
    for (uint32_t ip = pool.start.value(); ip <= pool.end.value() && ip != 0; ++ip) {
      if (!used.count(ip))
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

std::optional<Cloud> appendedPort(const Cloud& c, const ApiState& before, ApiState& after,
                                  std::vector<store::RowChange>& rows) {
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

  // One pass: the subnet's used addresses, the used MACs, the first fg- port (ports are
  // the routers', the HA ports, the VMs, then the fg- ports: the new VM goes before those).
  std::unordered_set<uint32_t> used_ips;
  std::unordered_set<uint64_t> used_macs;
  used_macs.reserve(c.ports.size());
  if (s->gateway)
    used_ips.insert(s->gateway->value());
  size_t at = c.ports.size();
  for (size_t i = 0; i < c.ports.size(); ++i) {
    const Port& q = c.ports[i];
    if (q.device_owner == kOwnerCompute && q.name == vm->name)
      return std::nullopt;  // defined twice: resolve's error
    if (q.device_owner == kOwnerFipGateway) {
      if (at == c.ports.size())
        at = i;
    } else if (at != c.ports.size()) {
      return std::nullopt;  // a port after the fg- ports: not the order assumed
    }
    used_macs.insert(q.mac.value());
    if (q.subnet_id == s->id)
      used_ips.insert(q.ip.value());
    for (const auto& e : q.extra_ips) {
      if (e.subnet_id == s->id)
        used_ips.insert(e.ip.value());
    }
  }
  auto ip = lowestFree(*s, used_ips);
  if (!ip)
    return std::nullopt;  // exhausted: the full path refuses it
  p.subnet_id = s->id;
  p.ip = *ip;
  p.mac = probeMac(c.settings.base_mac.value() & 0xffffff000000ULL, "port:" + p.id, used_macs);
  for (const auto& ll : c.link_locals) {
    if (ll.rfp_mac == p.mac || ll.fpr_mac == p.mac)
      return std::nullopt;  // the full path would move that pair's MAC
  }

  Cloud out = c;
  out.ports.insert(out.ports.begin() + static_cast<std::ptrdiff_t>(at), p);
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
