#include "plan/planner.h"

#include <algorithm>
#include <thread>
#include <unordered_set>

#include "ipam/ids.h"
#include "plan/conntrackd.h"
#include "plan/dnsmasq.h"
#include "plan/keepalived.h"
#include "plan/names.h"
#include "plan/port_filter.h"

namespace dvr::plan {

using namespace dvr::model;

const char* linkKindName(LinkKind kind) {
  switch (kind) {
    case LinkKind::Bridge:
      return "bridge";
    case LinkKind::Veth:
      return "veth";
    case LinkKind::Vxlan:
      return "vxlan";
    case LinkKind::Adopted:
      return "device";
  }
  return "?";
}

const Link* HostPlan::findLink(const std::string& ns, const std::string& name) const {
  for (const auto& l : links) {
    if (l.ns == ns && l.name == name)
      return &l;
  }
  return nullptr;
}

namespace {

const Cidr kDefault{Ipv4(0), 0};

// Builds one host's plan; each method adds one kind of namespace.
class HostPlanner {
 public:
  HostPlanner(const CloudIndex& index, const Host& host)
      : ix_(index), c_(index.cloud()), host_(host) {
    plan_.host = host.name;
    plan_.dvr_mac.host_mac = host.dvr_mac;
  }

  HostPlan run() {
    for (size_t r : ix_.routersOn(host_.name))
      qrouter(c_.routers[r]);
    fipNamespaces();
    for (size_t r : ix_.routersOn(host_.name)) {
      const Router& router = c_.routers[r];
      bool here = router.snat_host == host_.name ||
                  std::find(router.ha_hosts.begin(), router.ha_hosts.end(), host_.name) !=
                      router.ha_hosts.end();
      if (here && router.gateway_network_id && router.distributed)
        snat(router);
    }
    dhcpServers();
    vmPorts();
    networks();
    portFilter();
    hostLinksWithoutIpv6();
    sortAll();
    return std::move(plan_);
  }

 private:
  void sysctl(const std::string& ns, std::string key, std::string value) {
    plan_.sysctls.push_back({ns, std::move(key), std::move(value)});
  }

  void newNamespace(const std::string& ns) {
    plan_.namespaces.push_back(ns);
    sysctl(ns, "net.ipv4.ip_forward", "1");
    sysctl(ns, "net.ipv4.conf.all.rp_filter", "0");
    sysctl(ns, "net.ipv4.conf.default.rp_filter", "0");
    // IPv4 only. The qr- MAC is the same on every host, so its IPv6 link-local address
    // would be too: DAD would fail across hosts.
    sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1");
    sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1");
  }

  // A router-side port: veth tap<id> on the network's bridge <-> <dev> in `ns`.
  // `addr` unset: the port's address is not dvr's to hold (keepalived's, on an HA router).
  void plugPort(const std::string& ns, const std::string& dev, const Port& port, int mtu,
                const std::optional<Cidr>& addr) {
    std::string tap = names::tap(port.id);
    plan_.links.push_back({.ns = "",
                           .name = tap,
                           .kind = LinkKind::Veth,
                           .mtu = mtu,
                           .master = names::bridge(port.network_id),
                           .peer = dev,
                           .peer_ns = ns});
    plan_.links.push_back({.ns = ns,
                           .name = dev,
                           .kind = LinkKind::Veth,
                           .mac = port.mac,
                           .mtu = mtu,
                           .peer = tap,
                           .peer_ns = ""});
    if (addr)
      plan_.addresses.push_back({ns, dev, *addr});
    useNetwork(port.network_id);
  }

  void useNetwork(const std::string& network_id) { networks_.insert(network_id); }

  Cidr onSubnet(Ipv4 ip, const std::string& subnet_id) const {
    return {ip, ix_.subnet(subnet_id).cidr.len};
  }

  void qrouter(const Router& r) {
    std::string ns = names::qrouterNs(r.id);
    newNamespace(ns);
    sysctl(ns, "net.ipv4.conf.all.send_redirects", "0");
    sysctl(ns, "net.ipv4.conf.default.send_redirects", "0");
    sysctl(ns, "net.ipv4.conf.all.arp_ignore", "1");
    sysctl(ns, "net.ipv4.conf.all.arp_announce", "2");
    for (size_t k = 0; k < r.interface_ports.size(); ++k) {
      const Port& qr = c_.ports[r.interface_ports[k]];
      const Network& net = ix_.network(qr.network_id);
      std::string dev = names::qr(qr.id);
      plugPort(ns, dev, qr, net.mtu, onSubnet(qr.ip, qr.subnet_id));
      // A distributed gateway's MAC is on every host: its frames never cross the tunnel
      // and ARP for it stays local. A centralized router's is on this host only, and is
      // reached over the tunnel as any port's.
      if (r.distributed) {
        plan_.dvr_mac.gateway_macs.insert(qr.mac);
        plan_.dvr_mac.gateway_arp.emplace(names::vxlan(net.vni), qr.ip);
      }
      // Permanent neighbours for every port of the subnet, on any host: no ARP across hosts.
      for (size_t p : ix_.endpointsOn(qr.subnet_id)) {
        const Port& ep = c_.ports[p];
        plan_.neighbours.push_back({ns, dev, ep.ip, ep.mac, false});
        if (ep.host == host_.name && r.distributed)
          plan_.dvr_mac.gateway_mac_of_port[ep.mac] = qr.mac;
      }
      for (const auto& [p, ip] : ix_.extraAddressesOn(qr.subnet_id)) {
        const Port& ep = c_.ports[p];
        plan_.neighbours.push_back({ns, dev, ip, ep.mac, false});
        if (ep.host == host_.name && r.distributed)
          plan_.dvr_mac.gateway_mac_of_port.emplace(ep.mac, qr.mac);
      }
      // SNAT redirect: traffic of this subnet with no better route goes to the sg- port.
      if (k < r.snat_ports.size()) {
        const Port& sg = c_.ports[r.snat_ports[k]];
        uint32_t table = snatRedirectTable(qr.ip);
        plan_.rules.push_back({ns, table, onSubnet(qr.ip, qr.subnet_id), "", table});
        plan_.routes.push_back({ns, table, kDefault, sg.ip, dev});
        sysctl(ns, "net.ipv4.conf." + dev + ".send_redirects", "0");
      }
    }
    extraRoutes(r, ns, r.interface_ports, names::qr);
    if (r.centralized()) {
      if (r.gateway_port)
        centralizedGateway(r, ns);
      return;
    }
    const LinkLocal* ll = ix_.linkLocal(r.id, host_.name);
    if (ll && r.gateway_network_id)
      floatingIpPath(r, *ll, ns);
  }

  // A centralized router's gateway, as Neutron's legacy router: qg- in its qrouter- with
  // the default route, SNAT to the qg- address, and each floating IP of the router as a
  // /32 on qg- (so qg- answers ARP for it), NAT'd there.
  void centralizedGateway(const Router& r, const std::string& ns) {
    const Port& qg = c_.ports[*r.gateway_port];
    const Network& ext = ix_.network(qg.network_id);
    std::string dev = names::qg(qg.id);
    plugPort(ns, dev, qg, ext.mtu, onSubnet(qg.ip, qg.subnet_id));
    externals_.insert(ext.id);
    plan_.announcements.push_back({ns, dev, qg.ip});
    if (auto gw = ix_.subnet(qg.subnet_id).gateway)
      plan_.routes.push_back({ns, kMainTable, kDefault, *gw, dev});
    if (r.enable_snat)
      plan_.source_nat.push_back({ns, dev, qg.ip});
    for (size_t f : ix_.floatingIpsOn(host_.name)) {
      const FloatingIp& fip = c_.floating_ips[f];
      if (fip.router_id != r.id)
        continue;
      plan_.addresses.push_back({ns, dev, {fip.address, 32}});
      plan_.floating_nat.push_back({ns, fip.address, fip.fixed, dev});
      plan_.announcements.push_back({ns, dev, fip.address});
    }
  }

  // The router's extra routes in one of its namespaces (main table, which every rule of
  // the namespace consults first): through the port of `ports` on the nexthop's subnet.
  void extraRoutes(const Router& r, const std::string& ns, const std::vector<size_t>& ports,
                   std::string (*dev)(const std::string&)) {
    extraRoutes(r, ns, ports, dev, plan_.routes);
  }
  void extraRoutes(const Router& r, const std::string& ns, const std::vector<size_t>& ports,
                   std::string (*dev)(const std::string&), std::vector<Route>& into) {
    for (const ExtraRoute& e : r.routes) {
      for (size_t p : ports) {
        const Port& port = c_.ports[p];
        if (ix_.subnet(port.subnet_id).cidr.contains(e.nexthop))
          into.push_back({ns, kMainTable, e.destination, e.nexthop, dev(port.id)});
      }
    }
  }

  void floatingIpPath(const Router& r, const LinkLocal& ll, const std::string& ns) {
    const Network& ext = ix_.network(*r.gateway_network_id);
    std::string fns = names::fipNs(ext.id);
    std::string rfp = names::rfp(r.id), fpr = names::fpr(r.id);
    fip_networks_.insert(ext.id);
    plan_.links.push_back({.ns = ns,
                           .name = rfp,
                           .kind = LinkKind::Veth,
                           .mac = ll.rfp_mac,
                           .mtu = ext.mtu,
                           .peer = fpr,
                           .peer_ns = fns});
    plan_.links.push_back({.ns = fns,
                           .name = fpr,
                           .kind = LinkKind::Veth,
                           .mac = ll.fpr_mac,
                           .mtu = ext.mtu,
                           .peer = rfp,
                           .peer_ns = ns});
    plan_.addresses.push_back({ns, rfp, {ll.rfp_ip, 31}});
    plan_.addresses.push_back({fns, fpr, {ll.fpr_ip, 31}});
    plan_.neighbours.push_back({ns, rfp, ll.fpr_ip, ll.fpr_mac, false});
    plan_.neighbours.push_back({fns, fpr, ll.rfp_ip, ll.rfp_mac, false});
    plan_.routes.push_back({ns, kFipTable, kDefault, ll.fpr_ip, rfp});
    uint32_t table = fipRouterTable(ll.fpr_ip);
    plan_.rules.push_back({fns, table, std::nullopt, fpr, table});
    const Port* fg = ix_.fipGatewayPort(host_.name, ext.id);
    const Subnet& ext_subnet = ix_.subnet(fg->subnet_id);
    if (ext_subnet.gateway)
      plan_.routes.push_back({fns, table, kDefault, *ext_subnet.gateway, names::fg(fg->id)});
    std::unordered_set<uint32_t> used_priorities;  // per qrouter-: rules are per namespace
    for (size_t f : ix_.floatingIpsOn(host_.name)) {
      const FloatingIp& fip = c_.floating_ips[f];
      if (fip.router_id != r.id)
        continue;
      // NAT'd to the address the floating IP names (a port's second one, say), not the first.
      plan_.addresses.push_back({ns, rfp, {fip.address, 32}});  // as in the seed's listing
      plan_.rules.push_back(
          {ns, fipRulePriority(fip.address, used_priorities), Cidr{fip.fixed, 32}, "", kFipTable});
      plan_.floating_nat.push_back({ns, fip.address, fip.fixed, rfp});
      plan_.routes.push_back({fns, kMainTable, {fip.address, 32}, ll.rfp_ip, fpr});
      plan_.neighbours.push_back({fns, names::fg(fg->id), fip.address, Mac(), true});
      plan_.announcements.push_back({fns, names::fg(fg->id), fip.address});
    }
  }

  // Neutron's 32768..72767 FIP rule priorities; slot from the floating IP, probing. A
  // hash, not a counter, so one more floating IP never moves another's rule.
  static uint32_t fipRulePriority(Ipv4 floating, std::unordered_set<uint32_t>& used) {
    uint32_t slot = uint32_t(ipam::hash64(floating.str(), 3) % kFipRulePriorityCount);
    while (!used.insert(slot).second)
      slot = (slot + 1) % kFipRulePriorityCount;
    return kFipRulePriorityStart + slot;
  }

  void fipNamespaces() {
    for (const std::string& net_id : fip_networks_) {
      const Network& ext = ix_.network(net_id);
      const Port* fg = ix_.fipGatewayPort(host_.name, net_id);
      std::string ns = names::fipNs(net_id);
      std::string dev = names::fg(fg->id);
      newNamespace(ns);
      sysctl(ns, "net.ipv4.neigh." + dev + ".proxy_delay", "0");
      plugPort(ns, dev, *fg, ext.mtu, onSubnet(fg->ip, fg->subnet_id));
      plan_.announcements.push_back({ns, dev, fg->ip});
      externals_.insert(net_id);
    }
  }

  void snat(const Router& r) {
    std::string ns = names::snatNs(r.id);
    newNamespace(ns);
    // An HA router's addresses and default route are keepalived's, on the active host.
    std::optional<VrrpInstance> vrrp;
    if (r.ha())
      vrrp = VrrpInstance{.ns = ns, .router_id = r.id};
    auto hold = [&](const std::string& dev, const Cidr& addr, bool first) -> std::optional<Cidr> {
      if (!vrrp)
        return addr;
      vrrp->vips.insert(first ? vrrp->vips.begin() : vrrp->vips.end(), {ns, dev, addr});
      return std::nullopt;
    };
    for (size_t k = 0; k < r.snat_ports.size(); ++k) {
      const Port& sg = c_.ports[r.snat_ports[k]];
      std::string sg_dev = names::sg(sg.id);
      plugPort(ns, sg_dev, sg, ix_.network(sg.network_id).mtu,
               hold(sg_dev, onSubnet(sg.ip, sg.subnet_id), false));
      plan_.dvr_mac.gateway_mac_of_port[sg.mac] =
          c_.ports[r.interface_ports[k]].mac;  // parallel vectors
    }
    const Port& qg = c_.ports[*r.gateway_port];
    const Network& ext = ix_.network(qg.network_id);
    std::string dev = names::qg(qg.id);
    plugPort(ns, dev, qg, ext.mtu, hold(dev, onSubnet(qg.ip, qg.subnet_id), true));
    externals_.insert(ext.id);
    std::optional<Route> default_route;
    if (auto gw = ix_.subnet(qg.subnet_id).gateway)
      default_route = Route{ns, kMainTable, kDefault, *gw, dev};
    if (r.enable_snat)
      plan_.source_nat.push_back({ns, dev, qg.ip});
    if (!vrrp) {
      // Traffic from outside to an extra route's destination.
      extraRoutes(r, ns, r.snat_ports, names::sg);
      plan_.announcements.push_back({ns, dev, qg.ip});
      if (default_route)
        plan_.routes.push_back(*default_route);
      return;
    }
    vrrp->vrid = r.vrid;
    vrrp->default_route = default_route;
    // An HA router's sg- holds no address on a standby, so the kernel would refuse routes
    // through it there: keepalived adds them with the addresses, as Neutron's HA routers.
    extraRoutes(r, ns, r.snat_ports, names::sg, vrrp->routes);
    if (auto up = host_.uplinks.find(ext.id); up != host_.uplinks.end())
      vrrp->uplinks.push_back(up->second);
    vrrp->tunnel_ip = host_.tunnel_ip;
    for (size_t h = 0; h < r.ha_hosts.size() && h < r.ha_ports.size(); ++h) {
      const Port& ha = c_.ports[r.ha_ports[h]];
      if (r.ha_hosts[h] != host_.name) {
        vrrp->peers.push_back(ha.ip);
        continue;
      }
      vrrp->interface = names::ha(ha.id);
      vrrp->address = ha.ip;
      plugPort(ns, vrrp->interface, ha, ix_.network(ha.network_id).mtu,
               onSubnet(ha.ip, ha.subnet_id));
    }
    // Established connections move with the role through conntrackd's sync alone: no
    // loose pickup of a mid-stream packet, which would leave un-NATed or NAT it anew.
    // conntrackd first: keepalived's first notify already asks it for the state.
    plan_.daemons.push_back(conntrackdDaemon(*vrrp));
    plan_.daemons.push_back(keepalivedDaemon(host_.name, *vrrp));
    sysctl(ns, "net.netfilter.nf_conntrack_tcp_loose", "0");
    plan_.vrrp.push_back(std::move(*vrrp));
  }

  // The networks this host serves DHCP for (their DHCP port is bound here): qdhcp-<network>
  // with the port's ns- end, and dnsmasq there handing out the subnet's VM addresses.
  void dhcpServers() {
    for (size_t p : ix_.portsOn(host_.name)) {
      const Port& port = c_.ports[p];
      if (port.device_owner != kOwnerDhcp)
        continue;
      const Network& net = ix_.network(port.network_id);
      const Subnet& sub = ix_.subnet(port.subnet_id);
      DhcpServer d{.network_id = net.id,
                   .subnet_id = sub.id,
                   .ns = qdhcpNs(net.id),
                   .device = names::dhcpDev(port.id),
                   .cidr = sub.cidr,
                   .gateway = sub.gateway,
                   .dns_nameservers = sub.dns_nameservers,
                   .mtu = net.mtu};
      for (size_t v : ix_.vmPortsOnSubnet(sub.id)) {
        const Port& vm = c_.ports[v];
        DhcpHost h{vm.id, vm.mac, vm.ip, {}};
        for (const auto& o : vm.extra_dhcp_opts)
          h.options.push_back({o.name, o.value});
        d.hosts.push_back(std::move(h));
      }
      // No forwarding here (the namespace routes nothing), IPv4 only as every dvr namespace.
      plan_.namespaces.push_back(d.ns);
      sysctl(d.ns, "net.ipv6.conf.all.disable_ipv6", "1");
      sysctl(d.ns, "net.ipv6.conf.default.disable_ipv6", "1");
      plugPort(d.ns, d.device, port, net.mtu, onSubnet(port.ip, sub.id));
      plan_.daemons.push_back(dnsmasqDaemon(d));
    }
  }

  void vmPorts() {
    for (size_t p : ix_.portsOn(host_.name)) {
      const Port& vm = c_.ports[p];
      if (vm.device_owner != kOwnerCompute)
        continue;
      // The hypervisor creates the tap; the agent plugs it into the network's bridge.
      plan_.links.push_back({.ns = "",
                             .name = names::tap(vm.id),
                             .kind = LinkKind::Adopted,
                             .master = names::bridge(vm.network_id)});
      useNetwork(vm.network_id);
    }
  }

  void networks() {
    std::unordered_set<std::string> peers_seen;
    for (const std::string& net_id : networks_) {
      const Network& net = ix_.network(net_id);
      if (net.external)
        continue;
      std::string br = names::bridge(net_id), vx = names::vxlan(net.vni);
      plan_.links.push_back({.ns = "", .name = br, .kind = LinkKind::Bridge, .mtu = net.mtu});
      plan_.links.push_back({.ns = "",
                             .name = vx,
                             .kind = LinkKind::Vxlan,
                             .mtu = net.mtu,
                             .master = br,
                             .vni = net.vni,
                             .local_ip = host_.tunnel_ip});
      plan_.dvr_mac.tunnel_devs.insert(vx);
      for (const std::string& other : ix_.hostsWith(net_id)) {
        if (other == host_.name)
          continue;
        const Host* h = ix_.host(other);
        plan_.fdb.push_back({vx, Mac(), h->tunnel_ip});
        plan_.dvr_mac.remote_dvr_macs.insert(h->dvr_mac);
      }
      for (size_t p : ix_.boundPortsOn(net_id)) {
        const Port& port = c_.ports[p];
        // An HA router's sg- port is on each of its hosts with one MAC, and Linux's VXLAN
        // keeps one remote per unicast MAC: no entry, so frames to it take the flood
        // entries to every host of the network, the HA hosts among them. Only the active
        // one holds the address and routes them; the others drop them. A failover then
        // needs no change on any other host.
        if (!port.ha_hosts.empty())
          continue;
        if (port.host == host_.name)
          continue;
        if (const Host* h = ix_.host(port.host))
          plan_.fdb.push_back({vx, port.mac, h->tunnel_ip});
      }
    }
    for (const std::string& net_id : externals_) {
      const Network& net = ix_.network(net_id);
      std::string br = names::bridge(net_id);
      plan_.links.push_back({.ns = "", .name = br, .kind = LinkKind::Bridge, .mtu = net.mtu});
      auto up = host_.uplinks.find(net_id);
      if (up != host_.uplinks.end()) {
        plan_.links.push_back(
            {.ns = "", .name = up->second, .kind = LinkKind::Adopted, .master = br});
      }
    }
  }

  // Security groups: the filter of this host's VM ports, and br_netfilter on the
  // bridges that hold one (only those: every other bridge keeps switching unhooked).
  void portFilter() {
    plan_.port_filter = planPortFilter(ix_, host_, plan_.links);
    std::set<std::string> bridges;
    for (const FilteredPort& p : plan_.port_filter.ports)
      bridges.insert(names::bridge(p.network_id));
    for (Link& l : plan_.links) {
      if (l.ns.empty() && l.kind == LinkKind::Bridge && bridges.count(l.name))
        l.nf_call_iptables = true;
    }
  }

  // The host namespace keeps the operator's IPv6 settings, so dvr's own devices there
  // (bridges, VXLAN, taps) are switched off one by one, as Neutron's linuxbridge agent does
  // for its bridges: they carry no IPv6, and every IPv6-enabled device that comes up costs
  // a walk of the whole IPv6 routing table.
  void hostLinksWithoutIpv6() {
    size_t n = plan_.links.size();
    for (size_t i = 0; i < n; ++i) {
      const Link& l = plan_.links[i];
      if (l.ns.empty() && l.kind != LinkKind::Adopted)
        sysctl("", "net.ipv6.conf." + l.name + ".disable_ipv6", "1");
    }
  }

  template <class T, class Key>
  static void sortBy(std::vector<T>& v, Key key) {
    std::sort(v.begin(), v.end(), [&](const T& a, const T& b) { return key(a) < key(b); });
  }

  void sortAll() {
    // Objects keep their generation order: it follows the cloud's order, so it is as
    // deterministic as a sort, at no cost (renderText sorts for reading). Floating IP NAT
    // stays grouped by namespace for nftables.
    std::sort(plan_.namespaces.begin(), plan_.namespaces.end());
    sortBy(plan_.floating_nat, [](const FloatingIpNat& f) { return f.key(); });
    sortBy(plan_.source_nat, [](const SourceNat& s) { return s.key(); });
  }

  const CloudIndex& ix_;
  const Cloud& c_;
  const Host& host_;
  HostPlan plan_;
  std::set<std::string> networks_, externals_, fip_networks_;
};

}  // namespace

HostPlan planHost(const CloudIndex& index, const std::string& host) {
  const Host* h = index.host(host);
  if (!h) {
    HostPlan empty;
    empty.host = host;
    return empty;
  }
  return HostPlanner(index, *h).run();
}

std::vector<HostPlan> planAll(const CloudIndex& index, unsigned threads) {
  const auto& hosts = index.cloud().hosts;
  std::vector<HostPlan> plans(hosts.size());
  threads = std::max(1u, std::min<unsigned>(threads, unsigned(hosts.size())));
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (size_t i = t; i < hosts.size(); i += threads)
        plans[i] = planHost(index, hosts[i].name);
    });
  }
  for (auto& w : workers)
    w.join();
  return plans;
}

}  // namespace dvr::plan
