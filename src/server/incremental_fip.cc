#include "server/incremental_fip.h"

#include <atomic>

#include "ipam/pools.h"

namespace dvr::server {

using namespace dvr::model;

namespace {

std::atomic<uint64_t> g_resolved{0}, g_deleted{0};

// The id of the one floating IP whose topology row the rows write (`deleted`: remove),
// when they write no other topology row (attribute rows do not reach resolve).
std::optional<std::string> onlyFipRow(const std::vector<store::RowChange>& rows, bool deleted) {
  const std::string prefix = "topology/floating_ips/";
  const store::RowChange* row = nullptr;
  for (const auto& r : rows) {
    if (r.key.starts_with("attrs/"))
      continue;
    if (row || !r.key.starts_with(prefix) || bool(r.body) == deleted)
      return std::nullopt;
    row = &r;
  }
  if (!row)
    return std::nullopt;
  return row->key.substr(prefix.size());
}

// The index of the one floating IP the rows change, when they change nothing else of the
// topology: one appended last, or one of the same id, network and pinned address in the
// same place.
std::optional<size_t> onlyChangedFip(const ApiState& before, const ApiState& after,
                                     const std::vector<store::RowChange>& rows) {
  auto row = onlyFipRow(rows, false);
  if (!row)
    return std::nullopt;
  const std::string& id = *row;
  const auto &was = before.topo.floating_ips, &is = after.topo.floating_ips;
  if (is.size() == was.size() + 1)
    return is.back().id == id ? std::optional(is.size() - 1) : std::nullopt;
  if (is.size() != was.size())
    return std::nullopt;
  for (size_t i = 0; i < is.size(); ++i) {
    if (is[i].id != id)
      continue;
    bool same = was[i].id == id && was[i].network == is[i].network && was[i].address &&
                was[i].address == is[i].address;
    return same ? std::optional(i) : std::nullopt;
  }
  return std::nullopt;
}

// The index (before the write) of the one floating IP the rows delete, when they change
// nothing else of the topology.
std::optional<size_t> onlyDeletedFip(const ApiState& before, const ApiState& after,
                                     const std::vector<store::RowChange>& rows) {
  auto row = onlyFipRow(rows, true);
  const auto &was = before.topo.floating_ips, &is = after.topo.floating_ips;
  if (!row || is.size() + 1 != was.size())
    return std::nullopt;
  const std::string& id = *row;
  for (size_t i = 0; i < was.size(); ++i) {
    if (was[i].id == id)  // erased in place: the others keep their order
      return i < is.size() && is[i].id == id ? std::nullopt : std::optional(i);
  }
  return std::nullopt;
}

// resolve()'s address for a new floating IP: the network's first subnet, by a hash of the
// floating IP's id, around every address in use there.
std::optional<Ipv4> allocateAddress(const Cloud& c, const Network& n, const std::string& id) {
  const Subnet* s = nullptr;
  for (const auto& x : c.subnets) {
    if (x.network_id == n.id) {
      s = &x;
      break;
    }
  }
  if (!s)
    return std::nullopt;
  ipam::IpPool pool(s->cidr, s->pools);
  if (s->gateway)
    pool.take(*s->gateway);
  for (const auto& p : c.ports) {
    if (p.subnet_id == s->id)
      pool.take(p.ip);
    for (const auto& e : p.extra_ips) {
      if (e.subnet_id == s->id)
        pool.take(e.ip);
    }
  }
  for (const auto& f : c.floating_ips) {
    if (f.network_id == n.id && s->cidr.contains(f.address))
      pool.take(f.address);
  }
  return pool.allocateFor(id);
}

// The router resolve() finds serving a subnet: the last with an interface on it.
const Router* routerOfSubnet(const Cloud& c, const std::string& subnet_id) {
  const Router* found = nullptr;
  for (const auto& r : c.routers) {
    for (size_t p : r.interface_ports) {
      if (c.ports[p].subnet_id == subnet_id)
        found = &r;
    }
  }
  return found;
}

// resolve()'s association of floating IP `i` (of spec `fs`) in `c`; false where resolve
// would refuse it or this file is unsure.
bool associate(const Cloud& c, size_t i, const FloatingIpSpec& fs, FloatingIp& f) {
  f.port.reset();
  f.fixed = Ipv4();
  f.router_id.clear();
  if (!fs.vm)
    return true;
  size_t pi = c.ports.size();
  for (size_t k = 0; k < c.ports.size(); ++k) {
    if (c.ports[k].device_owner == kOwnerCompute && c.ports[k].name == *fs.vm) {
      pi = k;
      break;
    }
  }
  if (pi == c.ports.size() || !c.ports[pi].hasIp())
    return false;
  const Port& p = c.ports[pi];
  std::string fixed_subnet = p.subnet_id;
  f.fixed = p.ip;
  if (fs.fixed_ip && *fs.fixed_ip != p.ip) {
    fixed_subnet.clear();
    for (const auto& e : p.extra_ips) {
      if (e.ip == *fs.fixed_ip)
        fixed_subnet = e.subnet_id;
    }
    f.fixed = *fs.fixed_ip;
    if (fixed_subnet.empty())
      return false;
  }
  const Router* r = routerOfSubnet(c, fixed_subnet);
  if (!r || r->gateway_network_id != f.network_id)
    return false;
  for (size_t j = 0; j < c.floating_ips.size(); ++j) {
    if (j != i && c.floating_ips[j].port == pi && c.floating_ips[j].network_id == f.network_id)
      return false;  // one floating IP per port and network: resolve's refusal
  }
  f.port = pi;
  f.router_id = r->id;
  return true;
}

// What a floating IP served on its port's host needs there: the fg- port of (host,
// network) and the link-local pair of (router, host). Nothing for any other.
struct Needs {
  bool operator==(const Needs&) const = default;
  std::string host, network_id, router_id;
};
std::optional<Needs> needsOf(const Cloud& c, const FloatingIp& f) {
  if (!f.port || c.ports[*f.port].host.empty())
    return std::nullopt;
  const Router* r = c.findRouter(f.router_id);
  if (!r || !r->distributed)
    return std::nullopt;
  return Needs{c.ports[*f.port].host, f.network_id, f.router_id};
}

bool hasFgPort(const Cloud& c, const Needs& n) {
  for (const auto& p : c.ports) {
    if (p.device_owner == kOwnerFipGateway && p.host == n.host && p.network_id == n.network_id)
      return true;
  }
  return false;
}
bool hasPair(const Cloud& c, const Needs& n) {
  for (const auto& ll : c.link_locals) {
    if (ll.router_id == n.router_id && ll.host == n.host)
      return true;
  }
  return false;
}

// Whether some floating IP of `c` still needs the fg- port and the pair `gone` needed.
bool stillNeeded(const Cloud& c, const Needs& gone) {
  bool fg = false, pair = false;
  for (const auto& f : c.floating_ips) {
    if (!f.port || c.ports[*f.port].host != gone.host)
      continue;
    auto n = needsOf(c, f);
    fg = fg || (n && n->network_id == gone.network_id);
    pair = pair || (n && n->router_id == gone.router_id);
  }
  return fg && pair;
}

}  // namespace

std::optional<Cloud> floatingIpChanged(const Cloud& c, const ApiState& before, ApiState& after,
                                       std::vector<store::RowChange>& rows, Cloud spare) {
  auto at = onlyChangedFip(before, after, rows);
  if (!at)
    return std::nullopt;
  size_t i = *at;
  FloatingIpSpec& fs = after.topo.floating_ips[i];
  const bool creating = i == before.topo.floating_ips.size();
  if (!fs.id || (creating && fs.address) || (!creating && i >= c.floating_ips.size()))
    return std::nullopt;
  const Network* n = findByName(c.networks, fs.network);
  if (!n || !n->external)
    return std::nullopt;

  FloatingIp f;
  if (creating) {
    auto address = allocateAddress(c, *n, *fs.id);
    if (!address)
      return std::nullopt;  // no subnet, or exhausted: the full path refuses it
    f.id = *fs.id;
    f.network_id = n->id;
    f.address = *address;
  } else {
    f = c.floating_ips[i];
  }
  if (!associate(c, i, fs, f))
    return std::nullopt;
  // The fg- ports and pairs are made for the set of what floating IPs need: one more or
  // one fewer moves others (by MAC probing, by order), so those take the full path.
  auto now = needsOf(c, f);
  if (now && (!hasFgPort(c, *now) || !hasPair(c, *now)))
    return std::nullopt;
  std::optional<Needs> was = creating ? std::nullopt : needsOf(c, c.floating_ips[i]);

  Cloud out = std::move(spare);
  out = c;  // over the spare's items: their memory reused
  if (creating)
    out.floating_ips.push_back(std::move(f));
  else
    out.floating_ips[i] = std::move(f);
  if (was && was != now && !stillNeeded(out, *was))
    return std::nullopt;
  // pinAllocations of the floating IP, and its row as changesSince writes it.
  fs.address = out.floating_ips[i].address;
  const std::string key = "topology/floating_ips/" + *fs.id;
  for (auto& r : rows) {
    if (r.key == key)
      r.body = ApiState::rowBody(fs);
  }
  g_resolved.fetch_add(1);
  return out;
}

std::optional<Cloud> floatingIpDeleted(const Cloud& c, const ApiState& before,
                                       const ApiState& after,
                                       const std::vector<store::RowChange>& rows, Cloud spare) {
  auto at = onlyDeletedFip(before, after, rows);
  if (!at || *at >= c.floating_ips.size() ||
      c.floating_ips[*at].id != before.topo.floating_ips[*at].id)
    return std::nullopt;
  std::optional<Needs> was = needsOf(c, c.floating_ips[*at]);
  Cloud out = std::move(spare);
  out = c;
  out.floating_ips.erase(out.floating_ips.begin() + long(*at));
  // The last floating IP of a host's fg- port or of a router's pair there: those go, and
  // with them the order others were made in (the full path).
  if (was && !stillNeeded(out, *was))
    return std::nullopt;
  g_deleted.fetch_add(1);
  return out;
}

uint64_t floatingIpsResolved() {
  return g_resolved.load();
}
uint64_t floatingIpDeletesResolved() {
  return g_deleted.load();
}

}  // namespace dvr::server
