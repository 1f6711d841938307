#include "trace/tracer.h"

#include "trace/filter_verdict.h"

#include <algorithm>
#include <map>
#include <variant>

#include "model/error.h"
#include "plan/names.h"
#include "plan/render.h"

namespace dvr::trace {

using namespace dvr::model;
using plan::HostPlan;
using plan::Link;
using plan::LinkKind;

const char* protoName(Proto p) {
  switch (p) {
    case Proto::Icmp:
      return "icmp";
    case Proto::Tcp:
      return "tcp";
    case Proto::Udp:
      return "udp";
  }
  return "?";
}

namespace {

// One host's plan, indexed for lookups during a walk.
struct HostView {
  const HostPlan* plan = nullptr;
  const Host* host = nullptr;
  std::map<std::pair<std::string, std::string>, const Link*> links;
  std::map<std::string, std::vector<const Link*>> bridge_ports;
  std::map<std::string, const Link*> vxlan_by_vni;
};

struct Conntrack {  // one NAT'ed connection in one namespace
  Ipv4 orig_src, orig_dst, reply_src, reply_dst;
};

struct AtBridge {
  std::string host, bridge, in_dev;
};
struct AtNamespace {
  std::string host, ns, in_dev;
};
struct AtExternal {
  std::string network_id, from_host;
};
struct AtVm {
  const Port* port;
};
struct Stop {};
using Location = std::variant<AtBridge, AtNamespace, AtExternal, AtVm, Stop>;

class Walker {
 public:
  Walker(const Cloud& cloud, const std::vector<HostPlan>& plans) : c_(cloud) {
    for (const auto& p : plans) {
      HostView& v = hosts_[p.host];
      v.plan = &p;
      v.host = cloud.findHost(p.host);
      for (const auto& l : p.links) {
        v.links[{l.ns, l.name}] = &l;
        if (l.ns.empty() && !l.master.empty())
          v.bridge_ports[l.master].push_back(&l);
        if (l.kind == LinkKind::Vxlan)
          v.vxlan_by_vni[std::to_string(l.vni)] = &l;
      }
    }
    for (const auto& n : cloud.networks)
      network_of_bridge_[plan::names::bridge(n.id)] = n.id;
    for (const auto& p : cloud.ports) {
      if (p.device_owner == kOwnerCompute)
        vm_of_tap_[plan::names::tap(p.id)] = &p;
    }
  }

  // What follows walks the reply of the connection walked so far.
  void replying() { replying_ = true; }

  Path fromVm(const Port& vm, Packet p, std::string title) {
    path_ = Path{std::move(title), {}, false, ""};
    const Subnet* s = c_.findSubnet(vm.subnet_id);
    Hop hop{.host = vm.name, .where = "eth0 (" + vm.ip.str() + ")", .out_dev = "eth0"};
    p.src_mac = vm.mac;
    packet_ = p;
    if (s->cidr.contains(p.dst_ip)) {
      auto mac = arpInternal(vm.network_id, p.dst_ip, vm.host);
      if (!mac)
        return drop(hop, "ARP for " + p.dst_ip.str() + " on " + s->cidr.str() + " is not answered");
      p.dst_mac = *mac;
      hop.decisions.push_back("on-link " + s->cidr.str() + ": ARP " + p.dst_ip.str() + " is-at " +
                              mac->str());
    } else {
      long r = routerOfSubnet(s->id);
      if (!s->gateway || r < 0)
        return drop(hop, "subnet " + s->name + " has no router: no way off-link");
      if (!c_.routers[r].admin_state_up)
        return drop(hop, "subnet " + s->name + " has no router up: " + c_.routers[r].name +
                             " is down (admin_state_up false), no host answers ARP for " +
                             s->gateway->str());
      p.dst_mac = c_.ports[c_.routers[r].interface_ports[interfaceIndex(r, s->id)]].mac;
      hop.decisions.push_back("default via " + s->gateway->str() + ": ARP " + s->gateway->str() +
                              " is-at " + p.dst_mac.str() +
                              " (answered by this host's qr-, never across hosts)");
    }
    hop.packet = p;
    hop.changed = kSrcMac | kDstMac | kSrcIp | kDstIp;
    path_.hops.push_back(hop);
    packet_ = p;
    walk(AtBridge{vm.host, plan::names::bridge(vm.network_id), plan::names::tap(vm.id)});
    return std::move(path_);
  }

  Path fromExternal(const ExternalHost& ext, Packet p, std::string title) {
    path_ = Path{std::move(title), {}, false, ""};
    const Subnet* s = externalSubnet(ext.network_id);
    Hop hop{.host = ext.name,
            .where = ext.ip.str(),
            .decisions = {"routed to the external gateway " + s->gateway->str()},
            .packet = p,
            .changed = kSrcIp | kDstIp};
    path_.hops.push_back(hop);
    packet_ = p;
    walk(gatewayForward(ext.network_id));
    return std::move(path_);
  }

 private:
  // ---- the walk ----
  void walk(Location loc) {
    for (int steps = 0; steps < 64; ++steps) {
      if (std::holds_alternative<Stop>(loc))
        return;
      if (auto* b = std::get_if<AtBridge>(&loc))
        loc = bridge(*b);
      else if (auto* n = std::get_if<AtNamespace>(&loc))
        loc = routeIn(*n);
      else if (auto* e = std::get_if<AtExternal>(&loc))
        loc = external(*e);
      else if (auto* v = std::get_if<AtVm>(&loc))
        loc = deliverToVm(*v);
    }
    path_.verdict = "dropped: forwarding loop (64 hops)";
  }

  Location dropAt(Hop hop, std::string why) {
    drop(std::move(hop), std::move(why));
    return Stop{};
  }
  Path drop(Hop hop, std::string why) {
    hop.packet = packet_;
    path_.verdict = "dropped at " + hop.host + " " + hop.where + ": " + why;
    hop.decisions.push_back("DROP: " + why);
    path_.hops.push_back(std::move(hop));
    return path_;
  }
  Location delivered(std::string what) {
    path_.delivered = true;
    path_.verdict = "delivered to " + what;
    return Stop{};
  }

  void push(Hop hop, const Packet& before) {
    hop.packet = packet_;
    if (before.src_mac != packet_.src_mac)
      hop.changed |= kSrcMac;
    if (before.dst_mac != packet_.dst_mac)
      hop.changed |= kDstMac;
    if (before.src_ip != packet_.src_ip)
      hop.changed |= kSrcIp;
    if (before.dst_ip != packet_.dst_ip)
      hop.changed |= kDstIp;
    path_.hops.push_back(std::move(hop));
  }

  // MAC a bridge port delivers to: the far end of a router veth, or a VM's NIC.
  std::optional<Mac> macBehind(const HostView& v, const Link& port) const {
    if (port.kind == LinkKind::Veth) {
      auto it = v.links.find({port.peer_ns, port.peer});
      if (it != v.links.end() && it->second->mac)
        return *it->second->mac;
    }
    if (port.kind == LinkKind::Adopted) {
      auto it = vm_of_tap_.find(port.name);
      if (it != vm_of_tap_.end())
        return it->second->mac;
    }
    return std::nullopt;
  }

  Location bridge(const AtBridge& at) {
    const HostView& v = hosts_.at(at.host);
    const DvrRewriteView rw(v.plan->dvr_mac);
    Packet before = packet_;
    Hop hop{.host = at.host,
            .where = "bridge " + at.bridge + " (" + plan::nsLabel("") + ")",
            .in_dev = at.in_dev};
    const Link* out = nullptr;
    const Link* vxlan = nullptr;
    const Link* uplink = nullptr;
    for (const Link* port : v.bridge_ports.count(at.bridge) ? v.bridge_ports.at(at.bridge)
                                                            : std::vector<const Link*>{}) {
      if (port->kind == LinkKind::Vxlan)
        vxlan = port;
      else if (port->kind == LinkKind::Adopted && !vm_of_tap_.count(port->name))
        uplink = port;
      if (port->name != at.in_dev && macBehind(v, *port) == packet_.dst_mac)
        out = port;
    }
    std::optional<Ipv4> remote;
    if (out) {
      hop.decisions.push_back("fdb: " + packet_.dst_mac.str() + " is local port " + out->name);
    } else if (vxlan && at.in_dev != vxlan->name) {
      for (const auto& f : v.plan->fdb) {
        if (f.dev == vxlan->name && f.mac == packet_.dst_mac)
          remote = f.dst;
      }
      if (!remote)
        return dropAt(hop, "no FDB entry for " + packet_.dst_mac.str() + " (learning is off)");
      out = vxlan;
      hop.decisions.push_back("fdb: " + plan::fdbLine({vxlan->name, packet_.dst_mac, *remote}));
    } else if (uplink && at.in_dev != uplink->name) {
      out = uplink;
      hop.decisions.push_back("fdb: " + packet_.dst_mac.str() + " is beyond uplink " +
                              uplink->name);
    } else {
      return dropAt(hop, "no port for " + packet_.dst_mac.str());
    }
    hop.out_dev = out->name;
    // Security groups: the sender's port on the way out of its VM, the receiver's on the
    // way in (plan/port_filter.h renders the same intent as nftables).
    const plan::PortFilter& filter = v.plan->port_filter;
    for (auto [dev, ingress] : {std::pair{at.in_dev, false}, std::pair{out->name, true}}) {
      const plan::FilteredPort* port = filter.findByDev(dev);
      if (!port)
        continue;
      FilterVerdict verdict = filterVerdict(filter, *port, ingress, packet_, replying_);
      if (!verdict.allowed)
        return dropAt(hop, verdict.why);
      hop.decisions.push_back(verdict.why);
    }
    // nft bridge table dvr, chain dvr_forward (plan::nftTables renders the same rules).
    bool to_tunnel = rw.tunnel(out->name), from_tunnel = rw.tunnel(at.in_dev);
    if (to_tunnel && rw.d.gateway_macs.count(packet_.dst_mac)) {
      return dropAt(hop, "nft: frames to a distributed gateway MAC never cross the tunnel");
    }
    if (to_tunnel && rw.d.gateway_macs.count(packet_.src_mac)) {
      packet_.src_mac = rw.d.host_mac;
      hop.decisions.push_back(
          "nft: src is a distributed gateway (qr-) MAC -> this host's DVR MAC " +
          rw.d.host_mac.str());
    }
    if (from_tunnel && rw.d.remote_dvr_macs.count(packet_.src_mac)) {
      auto it = rw.d.gateway_mac_of_port.find(packet_.dst_mac);
      if (it != rw.d.gateway_mac_of_port.end()) {
        hop.decisions.push_back("nft: src " + packet_.src_mac.str() +
                                " is a remote DVR MAC -> the subnet's gateway MAC " +
                                it->second.str());
        packet_.src_mac = it->second;
      }
    }
    push(hop, before);
    if (out->kind == LinkKind::Vxlan)
      return tunnel(v, *out, *remote);
    if (out->kind == LinkKind::Veth)
      return AtNamespace{at.host, out->peer_ns, out->peer};
    if (auto it = vm_of_tap_.find(out->name); it != vm_of_tap_.end())
      return AtVm{it->second};
    return AtExternal{network_of_bridge_.at(at.bridge), at.host};
  }

  struct DvrRewriteView {
    explicit DvrRewriteView(const plan::DvrMacRewrite& rewrite) : d(rewrite) {}
    bool tunnel(const std::string& dev) const { return d.tunnel_devs.count(dev) != 0; }
    const plan::DvrMacRewrite& d;
  };

  Location tunnel(const HostView& v, const Link& vxlan, Ipv4 remote_ip) {
    const HostView* remote = nullptr;
    for (const auto& [name, hv] : hosts_) {
      if (hv.host && hv.host->tunnel_ip == remote_ip)
        remote = &hv;
    }
    Hop hop{.host = "underlay",
            .where = v.host->tunnel_ip.str() + " -> " + remote_ip.str(),
            .in_dev = vxlan.name,
            .packet = packet_,
            .encap = Encap{v.host->tunnel_ip, remote_ip, vxlan.vni}};
    hop.decisions.push_back("VXLAN encap: outer " + v.host->tunnel_ip.str() + " > " +
                            remote_ip.str() + " udp/" + std::to_string(plan::kVxlanPort) + " vni " +
                            std::to_string(vxlan.vni) + ", inner " + packet_.src_mac.str() + " > " +
                            packet_.dst_mac.str());
    if (!remote)
      return dropAt(hop, "no host has tunnel IP " + remote_ip.str());
    auto it = remote->vxlan_by_vni.find(std::to_string(vxlan.vni));
    if (it == remote->vxlan_by_vni.end())
      return dropAt(
          hop, remote->plan->host + " has no VXLAN device for vni " + std::to_string(vxlan.vni));
    hop.out_dev = it->second->name + "@" + remote->plan->host;
    path_.hops.push_back(hop);
    return AtBridge{remote->plan->host, it->second->master, it->second->name};
  }

  // ---- L3 inside a namespace ----
  std::vector<const plan::Address*> addressesIn(const HostView& v, const std::string& ns) const {
    std::vector<const plan::Address*> out;
    for (const auto& a : v.plan->addresses) {
      if (a.ns == ns)
        out.push_back(&a);
    }
    return out;
  }

  // Route lookup in one table; connected routes of the main table come from addresses.
  std::optional<plan::Route> lookup(const HostView& v, const std::string& ns, uint32_t table,
                                    Ipv4 dst) const {
    std::optional<plan::Route> best;
    auto consider = [&](const plan::Route& r) {
      if (r.dst.contains(dst) && (!best || r.dst.len > best->dst.len))
        best = r;
    };
    for (const auto& r : v.plan->routes) {
      if (r.ns == ns && r.table == table)
        consider(r);
    }
    if (table == plan::kMainTable) {
      for (const auto* a : addressesIn(v, ns)) {
        if (a->cidr.len < 32)
          consider({ns, table, a->cidr.network(), std::nullopt, a->dev});
      }
    }
    return best;
  }

  bool isConnected(const HostView& v, const std::string& ns, const plan::Route& r) const {
    for (const auto* a : addressesIn(v, ns)) {
      if (a->dev == r.dev && a->cidr.network() == r.dst)
        return true;
    }
    return false;
  }

  Location routeIn(const AtNamespace& at) {
    const HostView& v = hosts_.at(at.host);
    Packet before = packet_;
    Hop hop{.host = at.host, .where = at.ns, .in_dev = at.in_dev};
    const Link* in = v.links.at({at.ns, at.in_dev});
    if (in->mac && packet_.dst_mac != *in->mac)
      return dropAt(hop, "dst MAC " + packet_.dst_mac.str() + " is not " + at.in_dev + "'s");
    const HostPlan& p = *v.plan;
    std::string ct_key = at.host + "/" + at.ns;
    bool is_reply = false;          // conntrack: this packet answers a NAT'ed connection
    std::optional<Ipv4> reply_src;  // ... whose destination was DNAT'ed: restore the source
    // Conntrack exists only where NAT rules need it (qrouter-, snat-); fip- has none.
    for (const auto& ct : conntrack_[ct_key]) {
      if (packet_.src_ip == ct.reply_src && packet_.dst_ip == ct.reply_dst) {
        hop.decisions.push_back("conntrack: reply of " + ct.orig_src.str() + " > " +
                                ct.orig_dst.str() + ", un-NAT");
        is_reply = true;
        packet_.dst_ip = ct.orig_src;
        if (ct.orig_dst != ct.reply_src)
          reply_src = ct.orig_dst;
        break;
      }
    }

    for (const auto& f : p.floating_nat) {
      if (!is_reply && f.ns == at.ns && f.rfp_dev == at.in_dev && f.floating == packet_.dst_ip) {
        packet_.dst_ip = f.fixed;
        hop.decisions.push_back("nft: dnat to " + f.fixed.str() + " (map @fip_dnat, iifname " +
                                f.rfp_dev + ")");
      }
    }
    for (const auto* a : addressesIn(v, at.ns)) {
      if (a->cidr.addr == packet_.dst_ip) {
        hop.decisions.push_back("local address " + a->cidr.str() + " on " + a->dev);
        push(hop, before);
        return delivered(at.ns + " on " + at.host + " (" + packet_.dst_ip.str() + ")");
      }
    }
    // Policy rules, lowest priority first; main (32766) is implicit.
    std::vector<plan::Rule> rules{{at.ns, 32766, std::nullopt, "", plan::kMainTable}};
    for (const auto& r : p.rules) {
      if (r.ns == at.ns)
        rules.push_back(r);
    }
    std::sort(rules.begin(), rules.end(),
              [](const auto& a, const auto& b) { return a.priority < b.priority; });
    std::optional<plan::Route> route;
    for (const auto& r : rules) {
      if (r.from && !r.from->contains(packet_.src_ip))
        continue;
      if (!r.iif.empty() && r.iif != at.in_dev)
        continue;
      route = lookup(v, at.ns, r.table, packet_.dst_ip);
      if (route) {
        std::string rule = r.priority == 32766 ? "32766:\tfrom all lookup main" : plan::ruleLine(r);
        hop.decisions.push_back("rule " + rule);
        bool connected =
            !route->via && route->table == plan::kMainTable && isConnected(v, at.ns, *route);
        hop.decisions.push_back("route " + (connected ? route->dst.str() + " dev " + route->dev +
                                                            " proto kernel scope link"
                                                      : plan::routeLine(*route)));
        break;
      }
    }
    if (!route)
      return dropAt(hop, "no route to " + packet_.dst_ip.str());
    Ipv4 next = route->via.value_or(packet_.dst_ip);
    const Link* out = v.links.at({at.ns, route->dev});
    std::optional<Mac> next_mac;
    for (const auto& n : p.neighbours) {
      if (n.ns == at.ns && n.dev == route->dev && n.ip == next && !n.proxy) {
        next_mac = n.mac;
        hop.decisions.push_back("neigh " + plan::neighbourLine(n));
      }
    }
    if (!next_mac) {
      next_mac = arpFrom(v, *out, next);
      if (!next_mac)
        return dropAt(hop, "ARP for " + next.str() + " on " + route->dev + " is not answered");
      hop.decisions.push_back("ARP " + next.str() + " is-at " + next_mac->str());
    }
    // Postrouting NAT.
    if (is_reply) {
      if (reply_src)
        packet_.src_ip = *reply_src;
    } else {
      // A connection gets one source NAT: the first nat chain that binds it (fip_postrouting,
      // at srcnat, before the router's snat_postrouting at srcnat + 1) is the last.
      bool natted = false;
      for (const auto& f : p.floating_nat) {
        if (!natted && f.ns == at.ns && f.rfp_dev == route->dev && f.fixed == packet_.src_ip) {
          packet_.src_ip = f.floating;
          natted = true;
          hop.decisions.push_back("nft: snat to " + f.floating.str() + " (map @fip_snat, oifname " +
                                  f.rfp_dev + ")");
        }
      }
      for (const auto& s : p.source_nat) {
        if (!natted && s.ns == at.ns && s.out_dev == route->dev) {
          natted = true;
          packet_.src_ip = s.to_source;
          hop.decisions.push_back("nft: oifname " + s.out_dev + " snat to " + s.to_source.str());
        }
      }
      if (packet_.src_ip != before.src_ip || packet_.dst_ip != before.dst_ip) {
        conntrack_[ct_key].push_back(
            {before.src_ip, before.dst_ip, packet_.dst_ip, packet_.src_ip});
      }
    }
    packet_.src_mac = out->mac.value_or(Mac());
    packet_.dst_mac = *next_mac;
    hop.out_dev = out->name;
    push(hop, before);
    if (out->peer_ns.empty())
      return AtBridge{at.host, v.links.at({"", out->peer})->master, out->peer};
    return AtNamespace{at.host, out->peer_ns, out->peer};
  }

  // ARP from a namespace device: on a veth pair, the peer; on a bridged port, the network.
  std::optional<Mac> arpFrom(const HostView& v, const Link& out, Ipv4 ip) const {
    if (!out.peer_ns.empty()) {
      for (const auto& a : v.plan->addresses) {
        if (a.ns == out.peer_ns && a.dev == out.peer && a.cidr.addr == ip)
          return v.links.at({a.ns, a.dev})->mac;
      }
      return std::nullopt;
    }
    const std::string& net = network_of_bridge_.at(v.links.at({"", out.peer})->master);
    if (c_.findNetwork(net)->external) {
      if (auto hit = arpExternal(net, ip))
        return hit->first;
      return std::nullopt;
    }
    return arpInternal(net, ip, v.plan->host);
  }

  std::optional<Mac> arpInternal(const std::string& network_id, Ipv4 ip,
                                 const std::string& host) const {
    for (const auto& p : c_.ports) {
      if (p.network_id != network_id || p.ip != ip)
        continue;
      if (p.device_owner == kOwnerRouterInterface) {
        // Answered by the local qr- if this host has the router.
        const HostView& v = hosts_.at(host);
        if (!v.links.count({plan::names::qrouterNs(p.device_id), plan::names::qr(p.id)}))
          return std::nullopt;
      }
      return p.mac;
    }
    return std::nullopt;
  }

  // Who answers ARP for `ip` on an external network: the gateway, a qg-/fg- port, or
  // a host's fg- by proxy ARP for a floating IP. Returns (MAC, host; "" = the gateway).
  std::optional<std::pair<Mac, std::string>> arpExternal(const std::string& network_id,
                                                         Ipv4 ip) const {
    const Subnet* s = externalSubnet(network_id);
    if (s->gateway && *s->gateway == ip)
      return std::make_pair(s->gateway_mac, std::string());
    for (const auto& p : c_.ports) {
      if (p.network_id == network_id && p.ip == ip && !p.host.empty() &&
          (p.device_owner == kOwnerRouterGateway || p.device_owner == kOwnerFipGateway)) {
        return std::make_pair(p.mac, p.host);
      }
    }
    for (const auto& [name, v] : hosts_) {
      for (const auto& n : v.plan->neighbours) {
        if (n.proxy && n.ip == ip)
          return std::make_pair(*v.links.at({n.ns, n.dev})->mac, name);
      }
      // An address on a namespace's device bridged onto the network: a centralized
      // router's floating IPs sit on its qg- as /32s, answered there as Neutron's legacy
      // routers do.
      for (const auto& a : v.plan->addresses) {
        if (a.cidr.addr != ip || a.ns.empty())
          continue;
        auto l = v.links.find({a.ns, a.dev});
        if (l == v.links.end() || !l->second->mac || !l->second->peer_ns.empty())
          continue;
        auto peer = v.links.find({"", l->second->peer});
        if (peer != v.links.end() && peer->second->master == plan::names::bridge(network_id))
          return std::make_pair(*l->second->mac, name);
      }
    }
    return std::nullopt;
  }

  const Subnet* externalSubnet(const std::string& network_id) const {
    for (const auto& s : c_.subnets) {
      if (s.network_id == network_id)
        return &s;
    }
    return nullptr;
  }

  // ---- outside the cloud ----
  Location external(const AtExternal& at) {
    const Network* net = c_.findNetwork(at.network_id);
    const Subnet* s = externalSubnet(at.network_id);
    if (packet_.dst_mac == s->gateway_mac) {
      Hop hop{.host = net->name,
              .where = "gateway " + s->gateway->str(),
              .in_dev = "uplink of " + at.from_host};
      for (const auto& e : c_.external_hosts) {
        if (e.network_id == at.network_id && e.ip == packet_.dst_ip) {
          hop.decisions.push_back("routed to " + e.name + " (" + e.ip.str() + ")");
          push(hop, packet_);
          return delivered(e.name + " (" + e.ip.str() + ")");
        }
      }
      if (s->cidr.contains(packet_.dst_ip)) {
        push(hop, packet_);
        return gatewayForward(at.network_id);
      }
      return dropAt(hop, "the external gateway has no route to " + packet_.dst_ip.str());
    }
    for (const auto& [name, v] : hosts_) {
      auto up = v.host->uplinks.find(at.network_id);
      if (name != at.from_host && up != v.host->uplinks.end()) {
        for (const auto& p : c_.ports) {
          if (p.host == name && p.mac == packet_.dst_mac)
            return AtBridge{name, plan::names::bridge(at.network_id), up->second};
        }
      }
    }
    return dropAt(Hop{.host = net->name, .where = "external network"},
                  "nobody on it has MAC " + packet_.dst_mac.str());
  }

  // The external gateway sends packet_ onto the external network: ARP, then the owner's uplink.
  Location gatewayForward(const std::string& network_id) {
    const Network* net = c_.findNetwork(network_id);
    const Subnet* s = externalSubnet(network_id);
    Packet before = packet_;
    Hop hop{.host = net->name, .where = "gateway " + s->gateway->str()};
    if (!s->cidr.contains(packet_.dst_ip))
      return dropAt(hop, "no route to " + packet_.dst_ip.str());
    auto owner = arpExternal(network_id, packet_.dst_ip);
    if (!owner || owner->second.empty())
      return dropAt(hop,
                    "ARP for " + packet_.dst_ip.str() + " on " + net->name + " is not answered");
    hop.decisions.push_back("ARP " + packet_.dst_ip.str() + " is-at " + owner->first.str() + " (" +
                            owner->second + ")");
    packet_.src_mac = s->gateway_mac;
    packet_.dst_mac = owner->first;
    const HostView& v = hosts_.at(owner->second);
    hop.out_dev = "uplink " + v.host->uplinks.at(network_id) + "@" + owner->second;
    push(hop, before);
    return AtBridge{owner->second, plan::names::bridge(network_id), v.host->uplinks.at(network_id)};
  }

  Location deliverToVm(const AtVm& at) {
    Hop hop{.host = at.port->name, .where = "eth0 (" + at.port->ip.str() + ")", .in_dev = "eth0"};
    bool mine = packet_.dst_ip == at.port->ip;
    for (const FixedIp& e : at.port->extra_ips)  // its further fixed IPs are its too
      mine = mine || packet_.dst_ip == e.ip;
    if (packet_.dst_mac != at.port->mac || !mine) {
      return dropAt(hop, "not addressed to " + at.port->name);
    }
    push(hop, packet_);
    return delivered(at.port->name + " (" + packet_.dst_ip.str() + ")");
  }

  long routerOfSubnet(const std::string& subnet_id) const {
    for (size_t r = 0; r < c_.routers.size(); ++r) {
      if (interfaceIndex(long(r), subnet_id) != SIZE_MAX)
        return long(r);
    }
    return -1;
  }
  size_t interfaceIndex(long r, const std::string& subnet_id) const {
    const auto& ports = c_.routers[r].interface_ports;
    for (size_t k = 0; k < ports.size(); ++k) {
      if (c_.ports[ports[k]].subnet_id == subnet_id)
        return k;
    }
    return SIZE_MAX;
  }

  const Cloud& c_;
  std::map<std::string, HostView> hosts_;
  std::map<std::string, std::string> network_of_bridge_;
  std::map<std::string, const Port*> vm_of_tap_;
  std::map<std::string, std::vector<Conntrack>> conntrack_;  // kept across forward and reply
  bool replying_ = false;
  Path path_;
  Packet packet_;
};

struct Endpoint {
  const Port* vm = nullptr;
  const ExternalHost* ext = nullptr;
  Ipv4 ip;
  std::string name;
};

std::optional<Endpoint> findEndpoint(const Cloud& c, const std::string& what) {
  if (const Port* vm = c.findVm(what))
    return Endpoint{vm, nullptr, vm->ip, vm->name};
  for (const auto& e : c.external_hosts) {
    if (e.name == what)
      return Endpoint{nullptr, &e, e.ip, e.name};
  }
  auto ip = Ipv4::parse(what);
  if (!ip)
    return std::nullopt;
  for (const auto& e : c.external_hosts) {
    if (e.ip == *ip)
      return Endpoint{nullptr, &e, e.ip, e.name};
  }
  for (const auto& p : c.ports) {
    if (p.device_owner == kOwnerCompute && p.ip == *ip)
      return Endpoint{&p, nullptr, p.ip, p.name};
  }
  return Endpoint{nullptr, nullptr, *ip, ip->str()};  // an address only (e.g. a floating IP)
}

Path start(Walker& w, const Endpoint& from, Packet p, const std::string& title) {
  if (from.vm)
    return w.fromVm(*from.vm, p, title);
  return w.fromExternal(*from.ext, p, title);
}

}  // namespace

TraceResult tracePacket(const Cloud& cloud, const std::vector<HostPlan>& plans,
                        const TraceRequest& req) {
  auto from = findEndpoint(cloud, req.from);
  auto to = findEndpoint(cloud, req.to);
  std::vector<Problem> problems;
  if (!from || (!from->vm && !from->ext)) {
    problems.push_back(
        {"--from", "'" + req.from + "' is neither a VM nor an external host of the cloud", 0});
  }
  if (!to)
    problems.push_back(
        {"--to", "'" + req.to + "' is neither a VM, an external host nor an IPv4 address", 0});
  if (!problems.empty())
    throw InputError("trace", problems);

  Walker walker(cloud, plans);
  Packet p;
  p.src_ip = from->ip;
  p.dst_ip = to->ip;
  p.proto = req.proto;
  p.sport = req.proto == Proto::Icmp ? 0 : 40000;
  p.dport = req.dport;
  std::string what =
      std::string(protoName(req.proto)) + (req.dport ? " dport " + std::to_string(req.dport) : "");
  TraceResult result;
  result.forward = start(walker, *from, p, from->name + " -> " + to->name + " (" + what + ")");
  if (!req.with_reply || !result.forward.delivered || result.forward.hops.empty())
    return result;
  // The reply leaves the receiver with the addresses it saw, back to where it came from.
  const Packet& seen = result.forward.hops.back().packet;
  Packet reply;
  reply.src_ip = seen.dst_ip;
  reply.dst_ip = seen.src_ip;
  reply.proto = seen.proto;
  reply.sport = seen.dport;
  reply.dport = seen.sport;
  std::optional<Endpoint> responder;
  for (const auto& port : cloud.ports) {
    if (port.device_owner != kOwnerCompute || port.mac != seen.dst_mac)
      continue;
    bool mine = port.ip == seen.dst_ip;  // or one of its further fixed IPs
    for (const FixedIp& e : port.extra_ips)
      mine = mine || e.ip == seen.dst_ip;
    if (mine)
      responder = Endpoint{&port, nullptr, seen.dst_ip, port.name};
  }
  for (const auto& e : cloud.external_hosts) {
    if (e.ip == seen.dst_ip && !responder)
      responder = Endpoint{nullptr, &e, e.ip, e.name};
  }
  if (!responder)
    return result;  // delivered to a router namespace: no endpoint replies
  walker.replying();
  result.reply =
      start(walker, *responder, reply, "reply " + responder->name + " -> " + reply.dst_ip.str());
  return result;
}

}  // namespace dvr::trace
