#include "ipam/resolve.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "ipam/ids.h"
#include "ipam/pools.h"
#include "model/error.h"
#include "model/ip_protocols.h"
#include "model/topology_yaml.h"

namespace dvr::ipam {
namespace {

// A pinned id, or the one derived from `key` (computed only when needed: formatting a
// UUID for every pinned object dominated a resolve of the server's state).
template <class Key>
std::string idOr(const std::optional<std::string>& pinned, Key key) {
  return pinned ? *pinned : uuidFor(key());
}

using namespace dvr::model;

std::string quoted(const std::string& kind, const std::string& name) {
  return kind + " '" + name + "'";
}

// State shared by the resolution steps; each step validates its objects and
// allocates what they leave out.
class Resolver {
 public:
  Resolver(const Topology& topo)
      : t_(topo), macs_(topo.settings.base_mac), dvr_macs_(topo.settings.dvr_base_mac) {
    cloud_.settings = topo.settings;
  }

  Cloud run(const std::string& source) {
    hosts();
    networks();
    subnets();
    reservePinnedAddresses();
    routers();
    haNetwork();
    securityGroups();
    dhcpPorts();
    vms();
    floatingIps();
    fipGateways();
    linkLocals();
    externalHosts();
    problems_.throwIfAny(source);
    return std::move(cloud_);
  }

 private:
  void hosts() {
    std::set<uint32_t> tunnel_ips;
    for (const auto& hs : t_.hosts) {
      auto obj = quoted("host", hs.name);
      if (!host_index_.emplace(hs.name, cloud_.hosts.size()).second) {
        problems_.add(obj, "defined twice", hs.line);
        continue;
      }
      if (!tunnel_ips.insert(hs.tunnel_ip.value()).second) {
        problems_.add(obj, "tunnel_ip " + hs.tunnel_ip.str() + " is used by another host", hs.line);
      }
      if (hs.dvr_mac && !dvr_macs_.take(*hs.dvr_mac)) {
        problems_.add(obj, "dvr_mac " + hs.dvr_mac->str() + " is used by another host", hs.line);
      }
      cloud_.hosts.push_back(
          {hs.name, hs.mode, hs.tunnel_ip, hs.dvr_mac.value_or(Mac()), {}, hs.dhcp});
    }
    for (size_t i = 0; i < t_.hosts.size() && i < cloud_.hosts.size(); ++i) {
      if (cloud_.hosts[i].dvr_mac.isZero()) {
        cloud_.hosts[i].dvr_mac = dvr_macs_.allocate("host:" + cloud_.hosts[i].name);
      }
    }
  }

  void networks() {
    std::set<uint32_t>& vnis = vnis_;
    for (const auto& ns : t_.networks) {
      auto obj = quoted("network", ns.name);
      if (!net_index_.emplace(ns.name, cloud_.networks.size()).second) {
        problems_.add(obj, "defined twice", ns.line);
        continue;
      }
      Network n;
      n.id = idOr(ns.id, [&] { return "network:" + ns.name; });
      n.name = ns.name;
      n.external = ns.external;
      n.mtu =
          ns.mtu.value_or(ns.external ? t_.settings.underlay_mtu : t_.settings.underlay_mtu - 50);
      if (ns.external && ns.vni) {
        problems_.add(obj, "an external network is flat on the hosts' uplinks and takes no vni",
                      ns.line);
      }
      if (ns.vni) {
        if (!vnis.insert(*ns.vni).second) {
          problems_.add(obj,
                        "vni " + std::to_string(*ns.vni) + " is already used by another network",
                        ns.line);
        }
        n.vni = *ns.vni;
      }
      if (!ns.external && n.mtu > t_.settings.underlay_mtu - 50) {
        problems_.add(obj,
                      "mtu " + std::to_string(n.mtu) +
                          " does not fit in VXLAN over an underlay of " +
                          std::to_string(t_.settings.underlay_mtu) + " (at most " +
                          std::to_string(t_.settings.underlay_mtu - 50) + ")",
                      ns.line);
      }
      network_by_id_[n.id] = cloud_.networks.size();
      cloud_.networks.push_back(std::move(n));
    }
    uint32_t next_vni = 1;
    for (auto& n : cloud_.networks) {
      if (!n.external && n.vni == 0) {
        while (vnis.count(next_vni))
          ++next_vni;
        n.vni = next_vni;
        vnis.insert(next_vni);
      }
    }
    for (size_t i = 0; i < t_.hosts.size() && i < cloud_.hosts.size(); ++i) {
      for (const auto& [net_name, dev] : t_.hosts[i].uplinks) {
        auto it = net_index_.find(net_name);
        if (it == net_index_.end() || !cloud_.networks[it->second].external) {
          problems_.add(quoted("host", t_.hosts[i].name),
                        "uplink for '" + net_name + "', which is not an external network",
                        t_.hosts[i].line);
          continue;
        }
        cloud_.hosts[i].uplinks[cloud_.networks[it->second].id] = dev;
      }
    }
  }

  void subnets() {
    for (const auto& ss : t_.subnets) {
      auto obj = quoted("subnet", ss.name);
      auto net = net_index_.find(ss.network);
      if (net == net_index_.end())
        continue;  // its network was rejected already
      if (!subnet_index_.emplace(ss.name, cloud_.subnets.size()).second) {
        problems_.add(obj, "defined twice", ss.line);
        continue;
      }
      Subnet s;
      s.id = idOr(ss.id, [&] { return "subnet:" + ss.name; });
      s.name = ss.name;
      s.network_id = cloud_.networks[net->second].id;
      s.cidr = ss.cidr;
      s.enable_dhcp = ss.enable_dhcp;
      s.dns_nameservers = ss.dns_nameservers;
      if (ss.cidr.network() != ss.cidr) {
        problems_.add(obj,
                      "cidr " + ss.cidr.str() + " has host bits set (the network is " +
                          ss.cidr.network().str() + ")",
                      ss.line);
      }
      if (ss.cidr.len > 30) {
        problems_.add(obj,
                      "cidr " + ss.cidr.str() + " is too small for a router subnet (at most /30)",
                      ss.line);
      }
      Ipv4 first(s.cidr.addr.value() + 1), last(s.cidr.broadcast().value() - 1);
      if (!ss.no_gateway) {
        s.gateway = ss.gateway.value_or(first);
        if (!s.cidr.contains(*s.gateway) || *s.gateway < first || *s.gateway > last) {
          problems_.add(obj, "gateway " + s.gateway->str() + " is outside subnet " + s.cidr.str(),
                        ss.line, ProblemKind::OutsideSubnet);
        }
      }
      if (ss.pools.empty()) {
        // Neutron's default: the whole cidr minus network, broadcast and the gateway.
        if (s.gateway && *s.gateway > first)
          s.pools.push_back({first, Ipv4(s.gateway->value() - 1)});
        Ipv4 from = s.gateway && *s.gateway >= first ? Ipv4(s.gateway->value() + 1) : first;
        if (from <= last)
          s.pools.push_back({from, last});
      } else {
        for (const auto& pool : ss.pools) {
          if (!s.cidr.contains(pool.start) || !s.cidr.contains(pool.end) || pool.end < pool.start) {
            problems_.add(obj,
                          "allocation pool " + pool.start.str() + "-" + pool.end.str() +
                              " is not a range inside " + s.cidr.str(),
                          ss.line);
          } else if (s.gateway && pool.start <= *s.gateway && *s.gateway <= pool.end) {
            problems_.add(obj,
                          "allocation pool " + pool.start.str() + "-" + pool.end.str() +
                              " contains the gateway " + s.gateway->str(),
                          ss.line);
          }
        }
        s.pools = ss.pools;
      }
      for (size_t other_index : subnets_of_network_[s.network_id]) {
        const Subnet& other = cloud_.subnets[other_index];
        if (other.cidr.overlaps(s.cidr)) {
          problems_.add(obj,
                        "cidr " + s.cidr.str() + " overlaps subnet '" + other.name + "' (" +
                            other.cidr.str() + ") on the same network",
                        ss.line);
        }
      }
      if (cloud_.networks[net->second].external) {
        s.gateway_mac = Mac(0x020000000000ULL |
                            (hash64("gateway:" + s.id) & 0xffffffffffULL));  // locally administered
      }
      ip_pools_.emplace_back(s.cidr, s.pools);
      if (s.gateway)
        ip_pools_.back().take(*s.gateway);
      subnets_of_network_[s.network_id].push_back(cloud_.subnets.size());
      subnet_by_id_[s.id] = cloud_.subnets.size();
      cloud_.subnets.push_back(std::move(s));
    }
  }

  // The subnet of `network_id` that holds `ip`, or nullptr.
  const Subnet* subnetHolding(const std::string& network_id, Ipv4 ip) const {
    auto it = subnets_of_network_.find(network_id);
    if (it == subnets_of_network_.end())
      return nullptr;
    for (size_t i : it->second) {
      if (cloud_.subnets[i].cidr.contains(ip))
        return &cloud_.subnets[i];
    }
    return nullptr;
  }
  const Network* networkById(const std::string& id) const {
    auto it = network_by_id_.find(id);
    return it == network_by_id_.end() ? nullptr : &cloud_.networks[it->second];
  }
  size_t indexOf(const Subnet* s) const { return static_cast<size_t>(s - cloud_.subnets.data()); }
  const Subnet* firstSubnetOf(const std::string& network_id) const {
    auto it = subnets_of_network_.find(network_id);
    return it == subnets_of_network_.end() || it->second.empty()
               ? nullptr
               : &cloud_.subnets[it->second.front()];
  }

  // Checks a pinned address against its network and marks it used.
  void reserve(const std::string& obj, int line, const std::string& network_id, Ipv4 ip) {
    const Subnet* s = subnetHolding(network_id, ip);
    const Network* n = networkById(network_id);
    if (!s) {
      problems_.add(obj, "IP " + ip.str() + " is outside every subnet of network '" + n->name + "'",
                    line, ProblemKind::OutsideSubnet);
      return;
    }
    if (ip == s->cidr.addr || ip == s->cidr.broadcast()) {
      problems_.add(
          obj,
          "IP " + ip.str() + " is the network or broadcast address of subnet '" + s->name + "'",
          line);
      return;
    }
    if (!ip_pools_[indexOf(s)].take(ip)) {
      problems_.add(obj, "IP " + ip.str() + " is already in use in subnet '" + s->name + "'", line,
                    ProblemKind::IpInUse);
    }
  }
  void reserveMac(const std::string& obj, int line, const std::optional<Mac>& mac) {
    if (mac && !macs_.take(*mac)) {
      problems_.add(obj, "MAC " + mac->str() + " is already in use", line, ProblemKind::MacInUse);
    }
  }

  const Network* networkNamed(const std::string& name) const {
    auto it = net_index_.find(name);
    return it == net_index_.end() ? nullptr : &cloud_.networks[it->second];
  }

  void reservePinnedAddresses() {
    std::set<std::string> routed_subnets, gateway_claimed;
    for (const auto& r : t_.routers) {
      for (const auto& itf : r.interfaces)
        routed_subnets.insert(itf.subnet);
    }
    for (const auto& vm : t_.vms) {
      reserveMac(quoted("vm", vm.name), vm.line, vm.mac);
      const Network* n = networkNamed(vm.network);
      if (!n)
        continue;
      for (const auto& e : vm.extra_ips) {  // a port's further fixed IPs
        if (e.ip)
          reserve(quoted("vm", vm.name), vm.line, n->id, *e.ip);
      }
      if (!vm.ip)
        continue;
      // An unbound port may hold its subnet's gateway IP while no router does: it is the
      // port an operator makes for `router add port`.
      const Subnet* s = subnetHolding(n->id, *vm.ip);
      bool gateway_port = s && s->gateway == vm.ip && vm.host.empty() &&
                          !routed_subnets.count(s->name) && !routed_subnets.count(s->id) &&
                          gateway_claimed.insert(s->id).second;
      if (!gateway_port)
        reserve(quoted("vm", vm.name), vm.line, n->id, *vm.ip);
    }
    for (const auto& r : t_.routers) {
      reserveMac(quoted("router", r.name) + " gateway port", r.line, r.gateway_port.mac);
      const Network* gw = r.gateway_network ? networkNamed(*r.gateway_network) : nullptr;
      if (gw && r.gateway_port.ip)
        reserve(quoted("router", r.name) + " gateway port", r.line, gw->id, *r.gateway_port.ip);
      for (const auto& itf : r.interfaces) {
        auto obj = quoted("router", r.name) + " interface on '" + itf.subnet + "'";
        reserveMac(obj, itf.line, itf.port.mac);
        reserveMac(obj + " snat port", itf.line, itf.snat_port.mac);
        auto s = subnet_index_.find(itf.subnet);
        if (s != subnet_index_.end() && itf.snat_port.ip) {
          reserve(obj + " snat port", itf.line, cloud_.subnets[s->second].network_id,
                  *itf.snat_port.ip);
        }
        // The gateway is outside the pools; any other interface address is held here.
        if (s != subnet_index_.end() && itf.port.ip &&
            itf.port.ip != cloud_.subnets[s->second].gateway) {
          reserve(obj, itf.line, cloud_.subnets[s->second].network_id, *itf.port.ip);
        }
      }
    }
    for (const auto& g : t_.fip_gateways) {
      auto obj = "fip gateway of host '" + g.host + "' on '" + g.network + "'";
      reserveMac(obj, g.line, g.port.mac);
      const Network* n = networkNamed(g.network);
      if (!n || !n->external) {
        problems_.add(obj, "'" + g.network + "' is not an external network", g.line);
      } else if (g.port.ip) {
        reserve(obj, g.line, n->id, *g.port.ip);
      }
      if (!host_index_.count(g.host))
        problems_.add(obj, "unknown host '" + g.host + "'", g.line);
    }
    for (const auto& d : t_.dhcp_ports) {
      reserveMac("dhcp port of network '" + d.network + "'", d.line, d.port.mac);
      if (const Subnet* s = dhcpPinSubnet(d))
        ip_pools_[indexOf(s)].take(*d.port.ip);
    }
    for (const auto& f : t_.floating_ips) {
      const Network* n = networkNamed(f.network);
      auto obj =
          "floating IP " +
          (f.address ? f.address->str() : "#" + std::to_string(&f - t_.floating_ips.data() + 1));
      if (!n) {
        problems_.add(obj, "unknown network '" + f.network + "'", f.line);
      } else if (!n->external) {
        problems_.add(obj, "Network " + n->name + " is not a valid external network", f.line,
                      ProblemKind::NotExternalNetwork);
      } else if (f.address) {
        reserve(obj, f.line, n->id, *f.address);
      }
    }
  }

  // The DHCP-enabled subnet holding a DHCP port's pinned IP, or nullptr: a pin that no
  // longer fits (its network or subnet gone, DHCP disabled) is dropped, never an error, so
  // that deleting a subnet or network takes its DHCP port with it.
  const Subnet* dhcpPinSubnet(const DhcpPortSpec& d) const {
    const Network* n = networkNamed(d.network);
    if (!n || n->external || !d.port.ip)
      return nullptr;
    const Subnet* s = subnetHolding(n->id, *d.port.ip);
    return s && s->enable_dhcp ? s : nullptr;
  }

  // Internal subnets: lowest free address, as Neutron. External subnets: by `key`, so
  // that a new router, floating IP or host moves nobody else's address.
  std::optional<Ipv4> allocateIp(const Subnet& s, const std::string& obj, int line,
                                 const std::string& key = "") {
    bool external = networkById(s.network_id)->external;
    auto ip =
        external ? ip_pools_[indexOf(&s)].allocateFor(key) : ip_pools_[indexOf(&s)].allocate();
    if (!ip) {
      problems_.add(obj,
                    "no more IP addresses available in subnet '" + s.name + "' (" + s.cidr.str() +
                        "): allocation pool exhausted",
                    line, ProblemKind::PoolExhausted);
    }
    return ip;
  }

  size_t addPort(Port port, const std::optional<Mac>& pinned_mac) {
    port.mac = pinned_mac.value_or(Mac());
    if (port.mac.isZero())
      port.mac = macs_.allocate("port:" + port.id);
    cloud_.ports.push_back(std::move(port));
    return cloud_.ports.size() - 1;
  }

  // An HA router's hosts: its pinned one first, then the least loaded (as placeSnat) up
  // to the cloud's ha_hosts. Fewer when there are fewer dvr_snat hosts, as Neutron
  // schedules an HA router on the agents it has.
  std::vector<std::string> placeHaSnat(const RouterSpec& rs) {
    std::vector<std::string> hosts;
    // A pinned placement (the server's) stands, for the hosts that are still dvr_snat.
    for (const auto& h : rs.ha_hosts) {
      auto it = host_index_.find(h);
      if (it != host_index_.end() && cloud_.hosts[it->second].mode == AgentMode::DvrSnat &&
          std::find(hosts.begin(), hosts.end(), h) == hosts.end()) {
        hosts.push_back(h);
        ++snat_load_[h];
      }
    }
    if (!hosts.empty())
      return hosts;
    if (pinnedSnatHost(rs))
      hosts.push_back(*rs.snat_host);
    while (int(hosts.size()) < std::max(1, t_.settings.ha_hosts)) {
      std::string best;
      size_t best_load = SIZE_MAX;
      for (const auto& h : cloud_.hosts) {
        if (h.mode != AgentMode::DvrSnat || unschedulable_.count(h.name) ||
            std::find(hosts.begin(), hosts.end(), h.name) != hosts.end())
          continue;
        if (size_t load = snat_load_[h.name]; load < best_load) {
          best = h.name;
          best_load = load;
        }
      }
      if (best.empty())
        break;
      ++snat_load_[best];
      hosts.push_back(best);
    }
    return hosts;
  }

  // A router's pinned placement while its host is a dvr_snat host; otherwise Neutron's
  // LeastRoutersScheduler over the schedulable dvr_snat hosts, ties broken by file order.
  std::string placeSnat(const RouterSpec& rs) {
    if (pinnedSnatHost(rs))
      return *rs.snat_host;  // counted in snat_load_ before any router was placed
    std::string best;
    size_t best_load = SIZE_MAX;
    for (const auto& h : cloud_.hosts) {
      if (h.mode != AgentMode::DvrSnat || unschedulable_.count(h.name))
        continue;
      size_t load = snat_load_[h.name];
      if (load < best_load) {
        best = h.name;
        best_load = load;
      }
    }
    if (!best.empty())
      ++snat_load_[best];
    return best;
  }

  bool pinnedSnatHost(const RouterSpec& rs) const {
    if (!rs.snat_host)
      return false;
    auto it = host_index_.find(*rs.snat_host);
    return it != host_index_.end() && cloud_.hosts[it->second].mode == AgentMode::DvrSnat;
  }

  void routers() {
    for (const auto& h : t_.hosts) {
      if (!h.schedulable)
        unschedulable_.insert(h.name);
    }
    for (const auto& rs : t_.routers) {
      if ((rs.gateway_network || !rs.distributed) && pinnedSnatHost(rs))
        ++snat_load_[*rs.snat_host];
    }
    std::map<std::string, std::string> subnet_owner;  // subnet name -> router name
    for (const auto& rs : t_.routers) {
      auto obj = quoted("router", rs.name);
      if (!router_index_.emplace(rs.name, cloud_.routers.size()).second) {
        problems_.add(obj, "defined twice", rs.line);
        continue;
      }
      router_spec_[rs.name] = &rs;
      Router r;
      r.id = idOr(rs.id, [&] { return "router:" + rs.name; });
      r.name = rs.name;
      r.enable_snat = rs.enable_snat;
      r.distributed = rs.distributed;
      r.admin_state_up = rs.admin_state_up;
      if (!rs.distributed && rs.ha)
        problems_.add(obj, "an HA router is distributed in dvr", rs.line);
      const Network* gw = nullptr;
      if (rs.gateway_network) {
        gw = networkNamed(*rs.gateway_network);
        if (!gw) {
          problems_.add(obj, "external_gateway: unknown network '" + *rs.gateway_network + "'",
                        rs.line);
        } else if (!gw->external) {
          problems_.add(
              obj,
              "Network " + gw->name + " is not an external network: it cannot be a router gateway",
              rs.line);
          gw = nullptr;
        } else if (!firstSubnetOf(gw->id)) {
          problems_.add(obj,
                        "external network '" + gw->name + "' has no subnet for the gateway port",
                        rs.line);
          gw = nullptr;
        }
      }
      r.ha_mode = rs.ha;
      if (!rs.distributed) {
        // A centralized router is on one dvr_snat host, gateway or not, placed as SNAT is.
        if (gw)
          r.gateway_network_id = gw->id;
        // With no dvr_snat host it waits unscheduled, planned nowhere, as Neutron's legacy
        // router waits for an L3 agent.
        r.snat_host = placeSnat(rs);
      } else if (gw) {
        r.gateway_network_id = gw->id;
        if (rs.ha) {
          r.ha_hosts = placeHaSnat(rs);
          r.snat_host = r.ha_hosts.empty() ? "" : r.ha_hosts.front();
        } else {
          r.snat_host = placeSnat(rs);
        }
      }
      std::vector<const Subnet*> attached;
      for (const auto& itf : rs.interfaces) {
        auto iobj = obj + " interface on '" + itf.subnet + "'";
        auto si = subnet_index_.find(itf.subnet);
        if (si == subnet_index_.end()) {
          problems_.add(iobj, "unknown subnet '" + itf.subnet + "'", itf.line);
          continue;
        }
        const Subnet& s = cloud_.subnets[si->second];
        const Network& n = *networkById(s.network_id);
        if (n.external) {
          problems_.add(iobj, "subnet '" + s.name + "' is on external network '" + n.name + "'",
                        itf.line);
          continue;
        }
        if (!s.gateway) {
          problems_.add(iobj, "Subnet for router interface must have a gateway IP", itf.line);
          continue;
        }
        if (auto [it, fresh] = subnet_owner.emplace(s.name, rs.name); !fresh) {
          problems_.add(
              iobj, "subnet '" + s.name + "' is already attached to router '" + it->second + "'",
              itf.line);
          continue;
        }
        bool overlap = false;
        for (const Subnet* other : attached) {
          if (other->cidr.overlaps(s.cidr)) {
            problems_.add(iobj,
                          "Cidr " + s.cidr.str() + " of subnet '" + s.name +
                              "' overlaps with cidr " + other->cidr.str() + " of subnet '" +
                              other->name + "' on the same router",
                          itf.line);
            overlap = true;
          }
        }
        if (overlap)
          continue;
        attached.push_back(&s);
        Port qr;
        qr.id = idOr(itf.port.id, [&] { return "qr:" + r.id + ":" + s.id; });
        qr.network_id = s.network_id;
        qr.subnet_id = s.id;
        qr.device_owner = rs.distributed ? kOwnerRouterInterface : kOwnerRouterInterfaceCentralized;
        qr.device_id = r.id;
        if (!rs.distributed)
          qr.host = r.snat_host;  // bound there: other hosts reach it over the tunnel
        // By default the subnet's gateway; an interface added by a port keeps the port's IP
        // (reserved with the pinned addresses), as in Neutron: the router answers there.
        qr.ip = itf.port.ip.value_or(*s.gateway);
        if (!s.cidr.contains(qr.ip)) {
          problems_.add(iobj,
                        "port ip " + qr.ip.str() + " is outside subnet '" + s.name + "' (" +
                            s.cidr.str() + ")",
                        itf.line, ProblemKind::OutsideSubnet);
        }
        router_of_subnet_[s.id] = cloud_.routers.size();
        r.interface_ports.push_back(addPort(std::move(qr), itf.port.mac));
      }
      extraRoutes(rs, obj, r);
      router_by_id_[r.id] = cloud_.routers.size();
      cloud_.routers.push_back(std::move(r));
    }
    // Gateway-side ports after all interfaces, so pinned MACs are all reserved first.
    for (size_t ri = 0; ri < cloud_.routers.size(); ++ri) {
      Router& r = cloud_.routers[ri];
      const RouterSpec& rs = *router_spec_.at(r.name);
      if (!r.gateway_network_id)
        continue;
      auto obj = quoted("router", r.name);
      const Subnet* ext = rs.gateway_port.ip
                              ? subnetHolding(*r.gateway_network_id, *rs.gateway_port.ip)
                              : firstSubnetOf(*r.gateway_network_id);
      Port qg;
      qg.id = idOr(rs.gateway_port.id, [&] { return "qg:" + r.id; });
      qg.network_id = *r.gateway_network_id;
      qg.device_owner = kOwnerRouterGateway;
      qg.device_id = r.id;
      qg.host = r.snat_host;
      qg.ha_hosts = r.ha_hosts;
      if (ext) {
        qg.subnet_id = ext->id;
        auto ip = rs.gateway_port.ip
                      ? rs.gateway_port.ip
                      : allocateIp(*ext, obj + " gateway port", rs.line, "qg:" + r.id);
        qg.ip = ip.value_or(Ipv4());
      }
      r.gateway_port = addPort(std::move(qg), rs.gateway_port.mac);
      if (r.snat_host.empty())
        continue;
      requireUplink(r.snat_host, *r.gateway_network_id, obj + " SNAT", rs.line);
      if (r.centralized())
        continue;  // SNAT in its qrouter-, through qg-: no sg- ports
      for (size_t h = 1; h < r.ha_hosts.size(); ++h)
        requireUplink(r.ha_hosts[h], *r.gateway_network_id, obj + " SNAT", rs.line);
      for (size_t k = 0; k < r.interface_ports.size(); ++k) {
        const Port& qr = cloud_.ports[r.interface_ports[k]];
        const InterfaceSpec& itf = *interfaceSpecFor(rs, qr.subnet_id);
        const Subnet& s = cloud_.subnets[subnet_by_id_.at(qr.subnet_id)];
        Port sg;
        sg.id = idOr(itf.snat_port.id, [&] { return "sg:" + r.id + ":" + s.id; });
        sg.network_id = s.network_id;
        sg.subnet_id = s.id;
        sg.device_owner = kOwnerSnat;
        sg.device_id = r.id;
        sg.host = r.snat_host;
        sg.ha_hosts = r.ha_hosts;
        auto ip = itf.snat_port.ip
                      ? itf.snat_port.ip
                      : allocateIp(s, obj + " snat port on '" + s.name + "'", itf.line);
        sg.ip = ip.value_or(Ipv4());
        size_t idx = addPort(std::move(sg), itf.snat_port.mac);
        cloud_.routers[ri].snat_ports.push_back(idx);
      }
    }
  }

  // Extra routes: each nexthop on a subnet of one of the router's interfaces, and not the
  // router's own address (Neutron's extraroute checks); one nexthop per destination.
  void extraRoutes(const RouterSpec& rs, const std::string& obj, Router& r) {
    std::set<Cidr> destinations;
    for (const auto& e : rs.routes) {
      std::string robj = obj + " route to " + e.destination.str();
      bool connected = false, own = false;
      for (size_t p : r.interface_ports) {
        const Port& qr = cloud_.ports[p];
        connected =
            connected || cloud_.subnets[subnet_by_id_.at(qr.subnet_id)].cidr.contains(e.nexthop);
        own = own || qr.ip == e.nexthop;
      }
      if (!connected)
        problems_.add(robj, "the nexthop " + e.nexthop.str() + " is not connected with router",
                      rs.line);
      else if (own)
        problems_.add(robj, "the nexthop " + e.nexthop.str() + " is used by router", rs.line);
      else if (!destinations.insert(e.destination.network()).second)
        problems_.add(robj, "a destination has one nexthop", rs.line);
      else
        r.routes.push_back({e.destination.network(), e.nexthop});
    }
  }

  // Neutron's HA network, one for the cloud: a VXLAN network on the hosts of the HA
  // routers' snat- namespaces, with an ha- port per (router, host) from the settings'
  // ha_cidr, over which their keepalived speak VRRP. Each router has a VRRP id of its own
  // there (so at most 255 HA routers), and every id and address is chosen from the
  // router's id, so that one more router moves no other one's.
  void haNetwork() {
    std::vector<size_t> ha;
    for (size_t ri = 0; ri < cloud_.routers.size(); ++ri) {
      if (cloud_.routers[ri].ha())
        ha.push_back(ri);
    }
    if (ha.empty())
      return;
    if (ha.size() > 255) {
      problems_.add("HA network", std::to_string(ha.size()) +
                                      " HA routers: VRRP has 255 router ids, so at most 255");
      return;
    }
    Network n;
    n.id = uuidFor("ha-network");
    n.name = "HA network";
    n.ha = true;
    n.mtu = t_.settings.underlay_mtu - 50;
    n.vni = t_.settings.ha_vni;  // the server's choice, the same in every host's slice
    if (n.vni == 0 || vnis_.count(n.vni)) {
      for (n.vni = 1; vnis_.count(n.vni);)
        ++n.vni;
    }
    vnis_.insert(n.vni);
    Subnet s;
    s.id = uuidFor("ha-subnet");
    s.name = "HA subnet";
    s.network_id = n.id;
    s.cidr = t_.settings.ha_cidr.network();
    if (s.cidr.len > 30) {
      problems_.add("settings", "l3_ha_net_cidr " + s.cidr.str() + " is too small (at most /30)");
      return;
    }
    s.pools.push_back({Ipv4(s.cidr.addr.value() + 1), Ipv4(s.cidr.broadcast().value() - 1)});
    network_by_id_[n.id] = cloud_.networks.size();
    cloud_.networks.push_back(std::move(n));
    ip_pools_.emplace_back(s.cidr, s.pools);
    subnets_of_network_[s.network_id].push_back(cloud_.subnets.size());
    subnet_by_id_[s.id] = cloud_.subnets.size();
    cloud_.subnets.push_back(s);
    size_t pool = ip_pools_.size() - 1;
    std::set<int> vrids;
    std::sort(ha.begin(), ha.end(),
              [&](size_t a, size_t b) { return cloud_.routers[a].id < cloud_.routers[b].id; });
    for (size_t ri : ha) {
      Router& r = cloud_.routers[ri];
      r.vrid = 1 + int(hash64("vrid:" + r.id) % 255);
      while (!vrids.insert(r.vrid).second)
        r.vrid = r.vrid % 255 + 1;
      for (const std::string& host : r.ha_hosts) {
        Port p;
        p.id = uuidFor("ha:" + r.id + ":" + host);
        p.name = "HA port tenant " + host;
        p.network_id = s.network_id;
        p.subnet_id = s.id;
        p.device_owner = kOwnerHaInterface;
        p.device_id = r.id;
        p.host = host;
        auto ip = ip_pools_[pool].allocateFor("ha:" + r.id + ":" + host);
        if (!ip) {
          problems_.add(quoted("router", r.name),
                        "no more addresses in the HA network's " + s.cidr.str());
          return;
        }
        p.ip = *ip;
        size_t idx = addPort(std::move(p), std::nullopt);
        cloud_.routers[ri].ha_ports.push_back(idx);
      }
    }
  }

  const InterfaceSpec* interfaceSpecFor(const RouterSpec& rs, const std::string& subnet_id) const {
    for (const auto& itf : rs.interfaces) {
      auto si = subnet_index_.find(itf.subnet);
      if (si != subnet_index_.end() && cloud_.subnets[si->second].id == subnet_id)
        return &itf;
    }
    return nullptr;
  }

  void requireUplink(const std::string& host, const std::string& network_id, const std::string& obj,
                     int line) {
    const Host* h = cloud_.findHost(host);
    if (h && !h->uplinks.count(network_id)) {
      problems_.add(obj,
                    "host '" + host + "' has no uplink for external network '" +
                        networkById(network_id)->name + "' (hosts: uplinks:)",
                    line);
    }
  }

  // Groups and their rules, checked as Neutron checks a rule (its texts), before the VMs
  // that name them.
  void securityGroups() {
    std::vector<const SecurityGroupSpec*> group_specs;  // parallel to cloud_.security_groups
    for (const auto& gs : t_.security_groups) {
      if (!group_index_.emplace(gs.name, cloud_.security_groups.size()).second) {
        problems_.add(quoted("security group", gs.name), "defined twice", gs.line);
        continue;
      }
      SecurityGroup g;
      g.id = idOr(gs.id, [&] { return "security-group:" + gs.name; });
      g.name = gs.name;
      g.stateful = gs.stateful;
      cloud_.security_groups.push_back(std::move(g));
      group_specs.push_back(&gs);
    }
    for (size_t gi = 0; gi < cloud_.security_groups.size(); ++gi) {
      const SecurityGroupSpec& gs = *group_specs[gi];
      auto obj = quoted("security group", gs.name);
      for (size_t k = 0; k < gs.rules.size(); ++k) {
        const SecurityGroupRuleSpec& rs = gs.rules[k];
        auto robj = obj + " rule #" + std::to_string(k + 1);
        SecurityGroupRule r;
        r.id =
            idOr(rs.id, [&] { return "security-group-rule:" + gs.name + ":" + std::to_string(k); });
        r.ingress = rs.ingress;
        r.protocol = rs.protocol;
        r.port_min = rs.port_min;
        r.port_max = rs.port_max;
        if (auto why = portRangeProblem(rs.protocol, rs.port_min, rs.port_max))
          problems_.add(robj, why->message, rs.line);
        if (rs.remote_ip_prefix && rs.remote_group) {
          problems_.add(robj, "Only remote_ip_prefix or remote_group_id may be provided.", rs.line);
        }
        if (rs.remote_ip_prefix)
          r.remote_ip_prefix = rs.remote_ip_prefix->network();  // Neutron's normalized_cidr
        if (rs.remote_group) {
          auto it = group_index_.find(*rs.remote_group);
          if (it == group_index_.end()) {
            problems_.add(robj, "remote_group: unknown security group '" + *rs.remote_group + "'",
                          rs.line);
          } else {
            r.remote_group_id = cloud_.security_groups[it->second].id;
          }
        }
        auto& rules = cloud_.security_groups[gi].rules;
        for (size_t o = 0; o < rules.size(); ++o) {
          const SecurityGroupRule& other = rules[o];
          if (other.ingress == r.ingress && other.protocol == r.protocol &&
              other.port_min == r.port_min && other.port_max == r.port_max &&
              other.remote_ip_prefix == r.remote_ip_prefix &&
              other.remote_group_id == r.remote_group_id) {
            problems_.add(robj,
                          "Security group rule already exists. Rule id is " + other.id +
                              " (rule #" + std::to_string(o + 1) + ")",
                          rs.line);
          }
        }
        rules.push_back(std::move(r));
      }
    }
  }

  // A VM port's filtering: its groups by name, its address pairs (the port's MAC when a
  // pair names none), refused on a port without port security as Neutron refuses them.
  void portSecurity(const VmSpec& vs, const std::string& obj, Port& p) {
    p.port_security = vs.port_security;
    if (!vs.port_security && !vs.security_groups.empty()) {
      problems_.add(obj,
                    "Port security must be enabled and port must have an IP address in order "
                    "to use security groups.",
                    vs.line);
    }
    if (!vs.port_security && !vs.allowed_address_pairs.empty()) {
      problems_.add(obj,
                    "Port Security must be enabled in order to have allowed address pairs on a "
                    "port.",
                    vs.line);
    }
    for (const auto& name : vs.security_groups) {
      auto it = group_index_.find(name);
      if (it == group_index_.end()) {
        problems_.add(obj, "unknown security group '" + name + "'", vs.line);
        continue;
      }
      const std::string& id = cloud_.security_groups[it->second].id;
      if (std::find(p.security_group_ids.begin(), p.security_group_ids.end(), id) ==
          p.security_group_ids.end())
        p.security_group_ids.push_back(id);
    }
    for (size_t k = 0; k < vs.allowed_address_pairs.size(); ++k) {
      const auto& a = vs.allowed_address_pairs[k];
      for (size_t o = 0; o < k; ++o) {
        if (vs.allowed_address_pairs[o] == a) {
          problems_.add(obj,
                        "Request contains duplicate address pair: mac_address " +
                            (a.mac ? a.mac->str() : std::string("None")) + " ip_address " +
                            a.ip.str() + ".",
                        vs.line);
        }
      }
      p.allowed_address_pairs.push_back({a.ip, a.mac.value_or(Mac())});  // MAC: after addPort
    }
  }

  // A port's fixed IPs beyond the first: on subnets of its network, pinned (reserved
  // with the others) or allocated now. Routers hold neighbours for them and a floating IP
  // may NAT to one; the port's SNAT and its own routes use the first.
  void extraIps(const VmSpec& vs, const Network& n, const std::string& obj, Port& p) {
    if (!vs.extra_ips.empty() && vs.no_ip)
      problems_.add(obj, "a port without fixed IPs names no subnet or IP", vs.line);
    for (size_t k = 0; k < vs.extra_ips.size(); ++k) {
      const auto& e = vs.extra_ips[k];
      auto si = subnet_index_.find(e.subnet);
      if (si == subnet_index_.end() || cloud_.subnets[si->second].network_id != n.id) {
        problems_.add(obj, "subnet '" + e.subnet + "' is not a subnet of network '" + n.name + "'",
                      vs.line);
        continue;
      }
      const Subnet& s = cloud_.subnets[si->second];
      if (e.ip && !s.cidr.contains(*e.ip)) {
        problems_.add(obj,
                      "fixed IP " + e.ip->str() + " is outside subnet '" + s.name + "' (" +
                          s.cidr.str() + ")",
                      vs.line, ProblemKind::OutsideSubnet);
        continue;
      }
      auto ip = e.ip ? e.ip : allocateIp(s, obj, vs.line, "port:" + p.id + "#" + std::to_string(k));
      if (ip)
        p.extra_ips.push_back({s.id, *ip});
    }
  }

  void vms() {
    for (const auto& vs : t_.vms) {
      auto obj = quoted("vm", vs.name);
      if (!vm_index_.emplace(vs.name, cloud_.ports.size()).second) {
        problems_.add(obj, "defined twice", vs.line);
        continue;
      }
      const Network* n = networkNamed(vs.network);
      if (!n) {
        problems_.add(obj, "unknown network '" + vs.network + "'", vs.line);
        vm_index_.erase(vs.name);
        continue;
      }
      // An unbound port on an external network only holds an address (as clients make one
      // to find a free IP); dvr plugs VMs into internal networks only.
      if (n->external && !vs.host.empty()) {
        problems_.add(
            obj, "VMs bound to a host attach to internal networks; '" + n->name + "' is external",
            vs.line);
      }
      if (!vs.host.empty() && !host_index_.count(vs.host)) {  // empty: an unbound port
        problems_.add(obj, "unknown host '" + vs.host + "'", vs.line);
      }
      const Subnet* s = nullptr;
      if (vs.no_ip) {
        if (vs.subnet || vs.ip)
          problems_.add(obj, "a port without fixed IPs names no subnet or IP", vs.line);
      } else if (vs.subnet) {
        auto si = subnet_index_.find(*vs.subnet);
        if (si == subnet_index_.end() || cloud_.subnets[si->second].network_id != n->id) {
          problems_.add(obj,
                        "subnet '" + *vs.subnet + "' is not a subnet of network '" + n->name + "'",
                        vs.line);
        } else {
          s = &cloud_.subnets[si->second];
        }
      } else if (vs.ip) {
        s = subnetHolding(n->id, *vs.ip);  // outside every subnet: reported by reserve()
      } else {
        s = firstSubnetOf(n->id);
        if (!s)
          problems_.add(obj, "network '" + n->name + "' has no subnet", vs.line);
      }
      if (s && vs.ip && !s->cidr.contains(*vs.ip)) {
        problems_.add(obj,
                      "fixed IP " + vs.ip->str() + " is outside subnet '" + s->name + "' (" +
                          s->cidr.str() + ")",
                      vs.line, ProblemKind::OutsideSubnet);
      }
      Port p;
      p.id = idOr(vs.port_id, [&] { return "vm:" + vs.name; });
      p.name = vs.name;
      p.network_id = n->id;
      p.device_owner = kOwnerCompute;
      p.device_id = uuidFor("instance:" + vs.name);
      p.host = vs.host;
      if (s) {
        p.subnet_id = s->id;
        auto ip = vs.ip ? vs.ip : allocateIp(*s, obj, vs.line);
        p.ip = ip.value_or(Ipv4());
      }
      extraIps(vs, *n, obj, p);
      portSecurity(vs, obj, p);
      p.extra_dhcp_opts = vs.extra_dhcp_opts;
      Port& added = cloud_.ports[addPort(std::move(p), vs.mac)];
      for (auto& pair : added.allowed_address_pairs) {
        if (pair.mac.isZero())
          pair.mac = added.mac;
      }
    }
  }

  void floatingIps() {
    std::set<std::pair<std::string, std::string>> associated;  // (port id, network id)
    for (const auto& fs : t_.floating_ips) {
      const Network* n = networkNamed(fs.network);
      if (!n || !n->external)
        continue;  // reported while reserving
      auto obj =
          "floating IP " +
          (fs.address ? fs.address->str() : "#" + std::to_string(&fs - t_.floating_ips.data() + 1));
      FloatingIp f;
      f.network_id = n->id;
      if (fs.address) {
        f.address = *fs.address;
      } else if (const Subnet* s = firstSubnetOf(n->id)) {
        std::string key =
            fs.id ? *fs.id
                  : "fip:" + fs.vm.value_or("#" + std::to_string(&fs - t_.floating_ips.data()));
        f.address = allocateIp(*s, obj, fs.line, key).value_or(Ipv4());
      } else {
        problems_.add(obj, "Network " + n->name + " does not contain any IPv4 subnet", fs.line);
      }
      f.id = idOr(fs.id, [&] { return "fip:" + f.address.str(); });
      if (fs.vm) {
        auto vi = vm_index_.find(*fs.vm);
        if (vi == vm_index_.end()) {
          problems_.add(obj, "unknown vm '" + *fs.vm + "'", fs.line);
        } else {
          const Port& p = cloud_.ports[vi->second];
          // The address it NATs to: the port's first unless it names another of the port's.
          std::string fixed_subnet = p.subnet_id;
          f.fixed = p.ip;
          if (fs.fixed_ip && p.hasIp() && *fs.fixed_ip != p.ip) {
            fixed_subnet.clear();
            for (const auto& e : p.extra_ips) {
              if (e.ip == *fs.fixed_ip)
                fixed_subnet = e.subnet_id;
            }
            f.fixed = *fs.fixed_ip;
          }
          const Router* router = routerServing(fixed_subnet, n->id);
          if (fixed_subnet.empty() && fs.fixed_ip && p.hasIp()) {
            problems_.add(obj,
                          "Bad floatingip request: Port " + p.id + " does not have fixed ip " +
                              fs.fixed_ip->str() + ".",
                          fs.line);
          } else if (!p.hasIp()) {
            problems_.add(obj,
                          "Bad floatingip request: Cannot add floating IP to port " + p.id +
                              " that has no global IPv4 addresses.",
                          fs.line, ProblemKind::PortHasNoIp);
          } else if (!router) {
            const Subnet* s = cloud_.findSubnet(fixed_subnet);
            problems_.add(obj,
                          "External network " + n->name + " is not reachable from subnet " +
                              (s ? s->name : "?") + ".  Therefore, cannot associate Port " +
                              p.name + " with a Floating IP.",
                          fs.line, ProblemKind::NoExternalGateway);
          } else if (!associated.emplace(p.id, n->id).second) {
            problems_.add(obj, "vm '" + p.name + "' already has a floating IP on '" + n->name + "'",
                          fs.line, ProblemKind::PortHasFloatingIp);
          } else {
            f.port = vi->second;
            f.router_id = router->id;
          }
        }
      }
      cloud_.floating_ips.push_back(std::move(f));
    }
  }

  // The router with an interface on the subnet and its gateway on the external network.
  const Router* routerServing(const std::string& subnet_id, const std::string& ext_net_id) const {
    auto it = router_of_subnet_.find(subnet_id);
    if (it == router_of_subnet_.end())
      return nullptr;
    const Router& r = cloud_.routers[it->second];
    return r.gateway_network_id == ext_net_id ? &r : nullptr;
  }

  // A floating IP served on its port's host (fip-, fg-, rfp-): a distributed router's. A
  // centralized router holds its floating IPs on its qg-.
  // (By index: a scan per floating IP made resolve quadratic in a cloud's routers.)
  bool distributedFip(const FloatingIp& f) const {
    auto it = router_by_id_.find(f.router_id);
    return it != router_by_id_.end() && cloud_.routers[it->second].distributed;
  }

  // Neutron's DHCP scheduling, one agent per network (dhcp_agents_per_network = 1): each
  // internal network with a DHCP-enabled subnet gets a DHCP port on a DHCP host, its pinned
  // one while that host is still a DHCP host, else the schedulable DHCP host serving the
  // fewest networks (ties: host order). The port takes the lowest free address of the
  // network's first DHCP-enabled subnet, before the VMs, as Neutron's agent makes it when
  // it takes the network. No DHCP host: no port, and the cloud is as it was without DHCP.
  // A full pool: no port either (Neutron's agent fails the same way), not an error.
  void dhcpPorts() {
    std::map<std::string, size_t> load;
    std::map<std::string, const DhcpPortSpec*> pin_of;  // network name -> pin
    auto dhcpHost = [&](const std::string& h) {
      auto it = host_index_.find(h);
      return it != host_index_.end() && cloud_.hosts[it->second].dhcp;
    };
    for (const auto& d : t_.dhcp_ports) {
      pin_of[d.network] = &d;
      if (dhcpHost(d.host))
        ++load[d.host];
    }
    for (const Network& n : cloud_.networks) {
      if (n.external || n.ha)
        continue;
      const Subnet* s = nullptr;
      for (size_t i : subnets_of_network_[n.id]) {
        if (!s && cloud_.subnets[i].enable_dhcp)
          s = &cloud_.subnets[i];
      }
      if (!s)
        continue;
      auto pi = pin_of.find(n.name);
      const DhcpPortSpec* pin = pi == pin_of.end() ? nullptr : pi->second;
      std::string host;
      if (pin && dhcpHost(pin->host)) {
        host = pin->host;
      } else {
        size_t best = SIZE_MAX;
        for (const auto& h : cloud_.hosts) {
          if (h.dhcp && !unschedulable_.count(h.name) && load[h.name] < best) {
            host = h.name;
            best = load[h.name];
          }
        }
        if (host.empty())
          continue;
        ++load[host];
      }
      std::optional<Ipv4> ip;
      if (pin && dhcpPinSubnet(*pin)) {
        s = dhcpPinSubnet(*pin);
        ip = pin->port.ip;
      } else {
        ip = ip_pools_[indexOf(s)].allocate();
      }
      if (!ip)
        continue;
      Port p;
      p.id = pin && pin->port.id ? *pin->port.id : uuidFor("dhcp-port:" + n.id);
      p.name = "";
      p.network_id = n.id;
      p.subnet_id = s->id;
      p.ip = *ip;
      p.device_owner = kOwnerDhcp;
      // Neutron's: "dhcp" + a UUID of the agent's host + "-" + the network id.
      p.device_id = "dhcp" + uuidFor("dhcp-agent:" + host) + "-" + n.id;
      p.host = host;
      addPort(std::move(p), pin ? pin->port.mac : std::nullopt);
    }
  }

  // One fg- port per (host, external network) with floating IPs on that host.
  void fipGateways() {
    std::set<std::pair<std::string, std::string>> needed;  // (host, network id) in sorted order
    for (const auto& f : cloud_.floating_ips) {
      if (f.port && !cloud_.ports[*f.port].host.empty() && distributedFip(f))
        needed.emplace(cloud_.ports[*f.port].host, f.network_id);
    }
    for (const auto& [host, net_id] : needed) {
      const Network& n = *networkById(net_id);
      const FipGatewaySpec* pin = nullptr;
      for (const auto& g : t_.fip_gateways) {
        if (g.host == host && g.network == n.name)
          pin = &g;
      }
      auto obj = "fip gateway of host '" + host + "' on '" + n.name + "'";
      requireUplink(host, net_id, obj, pin ? pin->line : 0);
      const Subnet* s =
          pin && pin->port.ip ? subnetHolding(net_id, *pin->port.ip) : firstSubnetOf(net_id);
      Port fg;
      fg.id = pin && pin->port.id ? *pin->port.id : uuidFor("fg:" + host + ":" + net_id);
      fg.network_id = net_id;
      fg.device_owner = kOwnerFipGateway;
      fg.device_id = uuidFor("l3-agent:" + host);
      fg.host = host;
      if (s) {
        fg.subnet_id = s->id;
        auto ip = pin && pin->port.ip ? pin->port.ip
                                      : allocateIp(*s, obj, 0, "fg:" + host + ":" + net_id);
        fg.ip = ip.value_or(Ipv4());
      }
      addPort(std::move(fg), pin ? pin->port.mac : std::nullopt);
    }
  }

  void linkLocals() {
    const Cidr pool = t_.settings.link_local_pool.network();
    std::set<std::pair<std::string, std::string>> needed;  // (router id, host)
    for (const auto& f : cloud_.floating_ips) {
      if (f.port && !cloud_.ports[*f.port].host.empty() && distributedFip(f))
        needed.emplace(f.router_id, cloud_.ports[*f.port].host);
    }
    std::map<std::string, LinkLocalPool> per_host;
    std::map<std::pair<std::string, std::string>, Ipv4> pinned;
    for (const auto& l : t_.link_locals) {
      auto obj = "link-local pair of router '" + l.router + "' on host '" + l.host + "'";
      auto ri = router_index_.find(l.router);
      if (ri == router_index_.end()) {
        problems_.add(obj, "unknown router '" + l.router + "'", l.line);
        continue;
      }
      if (l.pair.len != 31 || (l.pair.addr.value() & 1) || !pool.contains(l.pair.addr)) {
        problems_.add(obj,
                      "pair " + l.pair.str() + " must be an even /31 inside the link-local pool " +
                          pool.str(),
                      l.line);
        continue;
      }
      auto& hp = per_host.try_emplace(l.host, pool).first->second;
      if (!hp.take(l.pair.addr)) {
        problems_.add(obj, "pair " + l.pair.str() + " is already used on host '" + l.host + "'",
                      l.line);
        continue;
      }
      pinned[{cloud_.routers[ri->second].id, l.host}] = l.pair.addr;
    }
    for (const auto& key : needed) {
      const auto& [router_id, host] = key;
      auto& hp = per_host.try_emplace(host, pool).first->second;
      std::optional<Ipv4> even;
      if (auto it = pinned.find(key); it != pinned.end()) {
        even = it->second;
      } else {
        even = hp.allocate(router_id);
      }
      if (!even) {
        problems_.add("host '" + host + "'", "link-local pool " + pool.str() + " is exhausted", 0,
                      ProblemKind::PoolExhausted);
        continue;
      }
      LinkLocal ll{router_id, host, *even, Ipv4(even->value() + 1), {}, {}};
      ll.rfp_mac = macs_.allocate("rfp:" + router_id + ":" + host);
      ll.fpr_mac = macs_.allocate("fpr:" + router_id + ":" + host);
      cloud_.link_locals.push_back(ll);
    }
  }

  void externalHosts() {
    for (const auto& e : t_.external_hosts) {
      const Network* n = networkNamed(e.network);
      if (!n || !n->external) {
        problems_.add(quoted("external host", e.name),
                      "'" + e.network + "' is not an external network", e.line);
        continue;
      }
      cloud_.external_hosts.push_back({e.name, e.ip, n->id});
    }
  }

  const Topology& t_;
  Cloud cloud_;
  Problems problems_;
  MacPool macs_;
  MacPool dvr_macs_;
  std::vector<IpPool> ip_pools_;  // parallel to cloud_.subnets
  std::set<uint32_t> vnis_;       // taken by a network
  std::map<std::string, size_t> host_index_, net_index_, subnet_index_, router_index_, vm_index_;
  std::unordered_map<std::string, size_t> group_index_;
  std::map<std::string, size_t> snat_load_;
  std::unordered_set<std::string> unschedulable_;  // hosts whose agent is down
  std::unordered_map<std::string, size_t> network_by_id_, subnet_by_id_, router_of_subnet_,
      router_by_id_;
  std::unordered_map<std::string, std::vector<size_t>> subnets_of_network_;
  std::unordered_map<std::string, const RouterSpec*> router_spec_;
};

}  // namespace

model::Cloud resolve(const model::Topology& topo, const std::string& source) {
  return Resolver(topo).run(source);
}

model::Cloud loadCloudFile(const std::string& path) {
  return resolve(model::loadTopologyFile(path), path);
}

}  // namespace dvr::ipam
