// HostPlan: the exact kernel state one host must have. Produced by plan::planHost (pure),
// consumed by the reconciler (kernel/), the tracer (trace/) and the renderers.
//
// Namespace "" is the host's own namespace. Routes carry no protocol here: the
// reconciler installs them with kRouteProtocol, which is how it recognises its own.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/net.h"

namespace dvr::plan {

inline constexpr uint8_t kRouteProtocol = 80;  // "proto dvr" (rt_protos.d/dvr.conf)
inline constexpr uint32_t kMainTable = 254;
inline constexpr uint32_t kFipTable = 16;                 // Neutron's FIP_RT_TBL
inline constexpr uint32_t kFipRulePriorityStart = 32768;  // Neutron's FIP_PR_START
inline constexpr uint32_t kFipRulePriorityCount = 40000;
inline constexpr uint16_t kVxlanPort = 4789;

enum class LinkKind { Bridge, Veth, Vxlan, Adopted };
const char* linkKindName(LinkKind kind);

struct Link {
  bool operator==(const Link&) const = default;
  std::string ns;
  std::string name;
  LinkKind kind = LinkKind::Veth;
  std::optional<Mac> mac;  // unset: the kernel picks (bridges, vxlan)
  int mtu = 0;             // 0: leave as is (adopted devices)
  std::string master;      // bridge in the same namespace
  std::string peer;        // veth: the other end
  std::string peer_ns;
  uint32_t vni = 0;  // vxlan
  Ipv4 local_ip;     // vxlan source (the host's tunnel IP)
  bool up = true;    // always in a plan; false where the kernel was seen to hold it down
  // Bridges: br_netfilter's IP hooks (IFLA_BR_NF_CALL_IPTABLES), on for a bridge that holds
  // a filtered VM port, so that its IPv4 traffic is connection-tracked and filtered.
  bool nf_call_iptables = false;
  auto key() const { return std::tie(ns, name); }
};

struct Address {
  bool operator==(const Address&) const = default;
  std::string ns, dev;
  Cidr cidr;  // address with prefix, e.g. 10.16.0.1/24
  auto key() const { return std::tie(ns, dev, cidr); }
};

struct Route {
  bool operator==(const Route&) const = default;
  std::string ns;
  uint32_t table = kMainTable;
  Cidr dst;  // 0.0.0.0/0 is "default"
  std::optional<Ipv4> via;
  std::string dev;
  auto key() const { return std::tie(ns, table, dst); }
};

struct Rule {
  bool operator==(const Rule&) const = default;
  std::string ns;
  uint32_t priority = 0;
  std::optional<Cidr> from;  // unset: from all
  std::string iif;
  uint32_t table = 0;
  auto key() const { return std::tie(ns, priority); }
};

// A permanent neighbour (ip -> mac on dev), or a proxy entry answering ARP for ip on dev.
struct Neighbour {
  bool operator==(const Neighbour&) const = default;
  std::string ns, dev;
  Ipv4 ip;
  Mac mac;
  bool proxy = false;
  auto key() const { return std::tie(ns, dev, proxy, ip); }
};

// A static FDB entry on a VXLAN device (host namespace): mac -> remote tunnel IP.
// mac 00:00:00:00:00:00 is the flood entry (BUM traffic to that host).
struct FdbEntry {
  bool operator==(const FdbEntry&) const = default;
  std::string dev;
  Mac mac;
  Ipv4 dst;
  auto key() const { return std::tie(dev, mac, dst); }
};

// An address this host answers for on an external network: a qg- or fg- port's own, or a
// floating IP that fg- answers for by proxy ARP. When the reconciler puts one in place it
// announces it with gratuitous ARPs (as Neutron's send_arp_for_ha), so that the upstream
// router learns the new MAC at once instead of when its neighbour entry expires.
struct Announcement {
  bool operator==(const Announcement&) const = default;
  std::string ns, dev;
  Ipv4 ip;
  auto key() const { return std::tie(ns, dev, ip); }
};

// SNAT high availability: an HA router's snat- namespace is on several dvr_snat hosts
// and keepalived's VRRP, over the router's ha- port, makes one of them active. The active
// one holds the virtual addresses (qg- and sg-) and the default route; the reconciler
// never adds or removes those: they are keepalived's. Rendered as keepalived's
// configuration by plan/keepalived.h.
struct VrrpInstance {
  bool operator==(const VrrpInstance&) const = default;
  std::string ns, router_id;
  std::string interface;    // the ha- port
  Ipv4 address;             // its address
  std::vector<Ipv4> peers;  // the other hosts' ha- addresses (unicast VRRP)
  int vrid = 0;
  std::vector<Address> vips;  // qg- first
  std::optional<Route> default_route;
  std::vector<Route> routes;  // the router's extra routes, keepalived's too (as Neutron's)
  // What this host needs to carry the router's traffic: its uplink to the external
  // network and the device holding its tunnel address. While one is down the instance
  // goes to FAULT and gives up the addresses, so that a host cut off does not hold them
  // as a second master, and it comes back as a backup (no role taken back).
  std::vector<std::string> uplinks;
  std::optional<Ipv4> tunnel_ip;
};

// A file the kernel layer keeps in a daemon's directory: "1" while any of `links` (host
// namespace devices), or the device holding `address`, is down or missing; else "0".
struct LinkWatch {
  bool operator==(const LinkWatch&) const = default;
  std::string file;
  std::vector<std::string> links;
  std::optional<Ipv4> address;
};

// A program the host runs for its plan (keepalived for an HA router). The kernel layer
// keeps it in a directory of its own: writes its files, starts it in `ns` when it is not
// running, has it reload (SIGHUP) when a file changed, stops it when the plan drops it.
struct Daemon {
  bool operator==(const Daemon&) const = default;
  std::string name;  // unique on the host, e.g. keepalived-<router id>
  std::string ns;
  std::vector<std::string> argv;             // the program first; "{dir}" is its directory
  std::map<std::string, std::string> files;  // in its directory: name -> content; "{dir}" too
  std::optional<LinkWatch> link_watch;
  // How it takes new files: SIGHUP (keepalived, dnsmasq), or only by a new process
  // (conntrackd 1.4 catches INT, TERM and CHLD, and SIGHUP's default would kill it).
  enum class Reload { kHangup, kRestart };
  Reload reload = Reload::kHangup;
  auto key() const { return std::tie(name); }
};

struct Sysctl {
  bool operator==(const Sysctl&) const = default;
  std::string ns, key, value;  // key as in sysctl(8), e.g. net.ipv4.ip_forward
  auto keyTuple() const { return std::tie(ns, key); }
};

// nftables intent, in typed form: nft/ renders it, the tracer interprets it.
struct FloatingIpNat {  // qrouter-: DNAT floating->fixed arriving on rfp-, SNAT fixed->floating
  bool operator==(const FloatingIpNat&) const = default;
  // leaving it
  std::string ns;
  Ipv4 floating, fixed;
  std::string rfp_dev;
  auto key() const { return std::tie(ns, floating); }
};

struct SourceNat {  // snat-: everything leaving out_dev gets to_source
  bool operator==(const SourceNat&) const = default;
  std::string ns, out_dev;
  Ipv4 to_source;
  auto key() const { return std::tie(ns, out_dev); }
};

// The br-tun DVR flows, as bridge-family rules in the host namespace.
struct DvrMacRewrite {
  Mac host_mac;                                        // this host's DVR MAC
  std::set<std::string> tunnel_devs;                   // vxlan-<vni>
  std::set<Mac> gateway_macs;                          // local qr- MACs
  std::set<std::pair<std::string, Ipv4>> gateway_arp;  // (vxlan dev, gateway IP): ARP kept local
  std::set<Mac> remote_dvr_macs;
  std::map<Mac, Mac> gateway_mac_of_port;  // local port MAC -> its subnet's gateway MAC
  bool empty() const { return tunnel_devs.empty(); }
};

// Security groups on this host's filtered VM ports, in typed form: plan/port_filter.cc
// renders it as nftables and the tracer evaluates it. Stateful, as Neutron's firewall
// drivers: replies of allowed connections pass, everything else not allowed is dropped.
struct FilterRule {
  bool operator==(const FilterRule&) const = default;
  std::string id;                         // the security group rule's id
  std::optional<int> protocol;            // none: any
  std::optional<int> port_min, port_max;  // destination ports; ICMP: type, code
  std::optional<Cidr> remote_prefix;
  std::string remote_group;  // group id: its members' addresses; empty: none
};

struct FilterGroup {
  bool operator==(const FilterGroup&) const = default;
  std::string id, name;
  std::vector<FilterRule> ingress, egress;
};

// A source a filtered port may send from: its MAC with its fixed IP, or an allowed
// address pair.
struct AllowedSource {
  bool operator==(const AllowedSource&) const = default;
  Mac mac;
  Cidr ip;
  auto key() const { return std::tie(mac, ip); }
};

struct FilteredPort {
  bool operator==(const FilteredPort&) const = default;
  std::string port_id, dev;  // dev: the VM's tap on its network's bridge
  std::string network_id;
  uint32_t mark = 0;  // its entry in PortFilter::marks
  std::vector<AllowedSource> sources;
  std::vector<std::string> groups;  // group ids, in the port's order
};

struct PortFilter {
  bool operator==(const PortFilter&) const = default;
  std::vector<FilteredPort> ports;  // in the cloud's port order
  std::vector<FilterGroup> groups;  // the groups those ports are in, by id
  // Remote groups the groups' rules name: group id -> its members' addresses (fixed IPs
  // and allowed address pairs of every filtered port in it, on any host).
  std::map<std::string, std::set<Cidr>> remote_groups;
  // Every port of a bridge with a filtered port -> the conntrack zone of its network, so
  // that two networks' overlapping addresses are two sets of connections.
  std::map<std::string, uint16_t> zones;
  // The same ports -> a packet mark naming the port. br_netfilter shows the inet family
  // only the bridge as a packet's device, so the bridge family marks each frame with the
  // port it came in by (prerouting: its zone, and a VM's egress) and then with the port
  // it goes out by (forward: a VM's ingress).
  std::map<std::string, uint32_t> marks;
  bool empty() const { return ports.empty(); }
  const FilteredPort* findByDev(const std::string& dev) const;
  const FilterGroup* findGroup(const std::string& id) const;
};

// The eBPF fast path for floating IPs (src/bpf/fip_path.bpf.c), planned by
// plan/fast_path.h: tc programs on host-namespace devices and the map entries that let
// them carry a floating IP's traffic past qrouter- and fip-, doing what those do to it.
// The namespace path stays complete: what the programs do not take goes that way.
inline constexpr const char* kFipOutProgram = "dvr_fip_out";  // on VM taps
inline constexpr const char* kFipInProgram = "dvr_fip_in";    // on external devices
// East-west between a distributed router's subnets (src/bpf/east_west.bpf.c), on VM taps
// before dvr_fip_out: what it does not take goes on to that program.
inline constexpr const char* kEastWestProgram = "dvr_ew_out";
// The compute-host side of SNAT (src/bpf/snat_path.bpf.c), on VM taps after dvr_ew_out.
inline constexpr const char* kSnatProgram = "dvr_snat_out";

struct FastPathAttach {  // tc ingress of dev (host namespace), direct action
  bool operator==(const FastPathAttach&) const = default;
  std::string dev, program;
  auto key() const { return std::tie(dev, program); }
};

struct FipFastPath {
  bool operator==(const FipFastPath&) const = default;
  Ipv4 floating, fixed;
  std::string vm_dev;   // the VM's tap: out key (its ifindex, fixed), in target
  std::string ext_dev;  // the external device: in key (its ifindex, floating), out target
  Mac vm_mac, qr_mac, fg_mac;
  int out_mtu = 0;  // fg-'s: larger packets take the namespace path (its ICMP)
  int in_mtu = 0;   // qr-'s
  // The next hop's MAC is what fip- resolved for next_hop on fg_dev (its neighbour
  // table): outside the cloud, so the kernel layer reads it when it fills the entry.
  std::string fip_ns, fg_dev;
  Ipv4 next_hop;
  // Destinations the namespace path keeps for this VM: the router's subnets, the
  // external subnet (fip- reaches it directly), link-local.
  std::vector<Cidr> keep_local;
  auto key() const { return std::tie(floating); }
};

// East-west: a VM on this host on one of a distributed router's subnets, whose frames to
// its gateway the program routes (the router numbered as in EastWestDest).
struct EastWestPort {
  bool operator==(const EastWestPort&) const = default;
  std::string vm_dev;  // the VM's tap: the key (its ifindex)
  uint32_t router = 0;
  std::string router_id;
  Ipv4 ip;          // the VM's fixed IP: frames from other sources take the namespace path
  Mac gateway_mac;  // qr- of its subnet, what the VM addresses
  auto key() const { return std::tie(vm_dev); }
};

// A VM on one of the router's subnets, on any host: the frame qrouter- sends it.
struct EastWestDest {
  bool operator==(const EastWestDest&) const = default;
  uint32_t router = 0;  // a number for the router on this host (its id hashed, unique here)
  std::string router_id;
  Ipv4 ip;
  // Here: the VM's tap, source the qr- MAC of its subnet. Elsewhere (remote): its network's
  // VXLAN device, source this host's DVR MAC (what the bridge's DVR rewrite sets), the
  // remote tunnel address being the device's FDB entry for dst_mac.
  std::string out_dev;
  bool remote = false;
  Ipv4 tunnel_ip;  // remote: the VM's host's, for dvr plan (the FDB holds it for the kernel)
  Mac src_mac, dst_mac;
  int mtu = 0;  // of qr- on its subnet: larger packets take the namespace path (its ICMP)
  auto key() const { return std::tie(router, ip); }
};

// SNAT, compute-host side: a VM on this host without a floating IP, whose frames to its
// gateway for a destination qrouter- does not route itself go to the router's sg- port
// on its subnet, on the dvr_snat host: the frame qrouter- and the bridge send it.
struct SnatFastPath {
  bool operator==(const SnatFastPath&) const = default;
  std::string vm_dev;  // the VM's tap: the key (its ifindex)
  std::string router_id;
  Ipv4 ip;          // the VM's fixed IP: frames from other sources take the namespace path
  Mac gateway_mac;  // qr- of its subnet, what the VM addresses
  // Its network's VXLAN device; source this host's DVR MAC (the bridge's DVR rewrite),
  // destination the sg- port's MAC, whose FDB entry holds the dvr_snat host's address.
  std::string out_dev;
  Mac src_mac, sg_mac;
  Ipv4 sg_ip;  // the next hop of qrouter-'s SNAT redirect route, for dvr plan
  std::string snat_host;
  Ipv4 tunnel_ip;  // the dvr_snat host's, for dvr plan (the FDB holds it for the kernel)
  uint32_t vni = 0;
  int mtu = 0;  // of qr- on its subnet: larger packets take the namespace path (its ICMP)
  // Destinations qrouter- routes itself (main table): the router's subnets, its extra
  // routes, link-local. Sorted, unique.
  std::vector<Cidr> keep_local;
  auto key() const { return std::tie(vm_dev); }
};

struct FastPath {
  bool operator==(const FastPath&) const = default;
  std::vector<FastPathAttach> attach;  // sorted by key
  std::vector<FipFastPath> fips;       // sorted by floating IP
  std::vector<EastWestPort> ew_ports;  // sorted by key
  std::vector<EastWestDest> ew_dests;  // sorted by key
  std::vector<SnatFastPath> snat;      // sorted by key
  // Ports with a floating IP that stay on the namespace path, and why (dvr plan says so).
  std::vector<std::pair<std::string, std::string>> left_out;  // (port id, reason)
  bool empty() const {
    return attach.empty() && fips.empty() && ew_ports.empty() && ew_dests.empty() && snat.empty();
  }
};

struct HostPlan {
  std::string host;
  std::vector<std::string> namespaces;  // excluding ""
  std::vector<Sysctl> sysctls;
  std::vector<Link> links;
  std::vector<Address> addresses;
  std::vector<Route> routes;
  std::vector<Rule> rules;
  std::vector<Neighbour> neighbours;
  std::vector<FdbEntry> fdb;
  std::vector<FloatingIpNat> floating_nat;
  std::vector<SourceNat> source_nat;
  DvrMacRewrite dvr_mac;
  PortFilter port_filter;
  std::vector<Announcement> announcements;
  std::vector<VrrpInstance> vrrp;
  std::vector<Daemon> daemons;
  FastPath fast_path;  // empty unless planned with plan::addFastPath (datapath "fast")

  const Link* findLink(const std::string& ns, const std::string& name) const;
};

}  // namespace dvr::plan
