// The topology as a user writes it: anything optional here is allocated by ipam/.
// Names are how objects refer to each other in a file; ids are Neutron UUIDs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/net.h"

namespace dvr::model {

enum class AgentMode { Dvr, DvrSnat };
const char* agentModeName(AgentMode mode);

struct Settings {
  bool operator==(const Settings&) const = default;
  Mac dvr_base_mac{0xfa163f000000ULL};         // Neutron's dvr_base_mac: host MACs
  Mac base_mac{0xfa163e000000ULL};             // Neutron's base_mac: port MACs
  Cidr link_local_pool{Ipv4(0xa9fe4000), 18};  // 169.254.64.0/18, Neutron's DVR_FIP_LL_CIDR
  int underlay_mtu = 1500;                     // internal networks get underlay_mtu - 50 (VXLAN)
  // HA routers (Neutron's l3_ha_net_cidr and max_l3_agents_per_router): their ha- ports'
  // addresses, and on how many dvr_snat hosts each one's snat- namespace is.
  Cidr ha_cidr{Ipv4(0xa9fec000), 18};  // 169.254.192.0/18
  int ha_hosts = 2;
  uint32_t ha_vni = 0;  // the HA network's VNI; 0: the lowest free (the server pins it)
};

struct HostSpec {
  bool operator==(const HostSpec&) const = default;
  std::string name;
  AgentMode mode = AgentMode::Dvr;
  Ipv4 tunnel_ip;
  std::optional<Mac> dvr_mac;
  std::map<std::string, std::string> uplinks;  // external network name -> host device
  // Runs a DHCP agent (`dvr agent --dhcp`; `dhcp: true` in a file): networks with a
  // DHCP-enabled subnet may be scheduled here (plan::DhcpServer).
  bool dhcp = false;
  // New SNAT placements may land here (the server clears it while the host's agent is
  // down, as Neutron schedules only to alive agents). Not part of any document.
  bool schedulable = true;
  int line = 0;
};

struct PoolSpec {
  bool operator==(const PoolSpec&) const = default;
  Ipv4 start, end;
};

struct SubnetSpec {
  bool operator==(const SubnetSpec&) const = default;
  std::string name;
  std::optional<std::string> id;
  std::string network;  // network name
  Cidr cidr;
  std::optional<Ipv4> gateway;
  bool no_gateway = false;
  std::vector<PoolSpec> pools;
  // Served by the network's DHCP port when a DHCP host takes the network. True by default,
  // as Neutron's; it changes nothing in a cloud without a DHCP host.
  bool enable_dhcp = true;
  std::vector<Ipv4> dns_nameservers;
  int line = 0;
};

struct NetworkSpec {
  bool operator==(const NetworkSpec&) const = default;
  std::string name;
  std::optional<std::string> id;
  bool external = false;
  std::optional<uint32_t> vni;
  std::optional<int> mtu;
  int line = 0;
};

// A port the user pins: id, MAC and/or IP. Used for router interfaces, sg-, fg-, qg-.
struct PortPin {
  bool operator==(const PortPin&) const = default;
  std::optional<std::string> id;
  std::optional<Mac> mac;
  std::optional<Ipv4> ip;
};

struct InterfaceSpec {
  bool operator==(const InterfaceSpec&) const = default;
  std::string subnet;  // subnet name; the interface takes the subnet's gateway IP
  PortPin port;        // qr- port
  PortPin snat_port;   // sg- port on the dvr_snat host
  int line = 0;
};

// Neutron's extra_dhcp_opts entry of a port (IPv4): a dnsmasq option name or number.
struct DhcpOptionSpec {
  bool operator==(const DhcpOptionSpec&) const = default;
  std::string name, value;
};

// A network's DHCP port (device_owner network:dhcp), pinned: the DHCP host serving the
// network and the port's id, MAC and IP (on the network's first DHCP-enabled subnet).
struct DhcpPortSpec {
  bool operator==(const DhcpPortSpec&) const = default;
  std::string network;  // network name
  std::string host;
  PortPin port;
  int line = 0;
};

// A router's extra route (Neutron's extraroute `routes`): traffic to `destination` goes to
// `nexthop`, an address on one of the router's interface subnets.
struct ExtraRoute {
  bool operator==(const ExtraRoute&) const = default;
  Cidr destination;
  Ipv4 nexthop;
};

struct RouterSpec {
  bool operator==(const RouterSpec&) const = default;
  std::string name;
  std::optional<std::string> id;
  std::optional<std::string> gateway_network;  // external network name
  PortPin gateway_port;                        // qg- port
  bool enable_snat = true;
  std::optional<std::string> snat_host;  // pinned SNAT placement (Neutron's router binding)
  // SNAT on several dvr_snat hosts, one active (keepalived's VRRP decides), as Neutron's
  // `ha` routers; snat_host, when pinned, is the first of them.
  bool ha = false;
  std::vector<std::string> ha_hosts;  // pinned HA placement (the server pins its choice)
  // false: a centralized router (Neutron's legacy router, `distributed: false`), on one
  // dvr_snat host (placed as SNAT, at snat_host): its qrouter- there holds every interface
  // and the gateway, SNAT and floating IPs included; no other host routes for it.
  bool distributed = true;
  // false: the router is down (Neutron's admin_state_up): no host has its qrouter-,
  // snat- or floating IPs, as Neutron's L3 agents drop a router that is not active. Its
  // ports and addresses stay allocated.
  bool admin_state_up = true;
  std::vector<InterfaceSpec> interfaces;
  std::vector<ExtraRoute> routes;
  int line = 0;
};

// Security groups (Neutron's security-groups and security-group-rules). IPv4 rules only:
// dvr's data path is IPv4, so the server keeps IPv6 rules as attributes and does not
// plan them.
struct SecurityGroupRuleSpec {
  bool operator==(const SecurityGroupRuleSpec&) const = default;
  std::optional<std::string> id;
  bool ingress = true;                    // direction: ingress (to the VM) or egress
  std::optional<int> protocol;            // IP protocol number; none: any
  std::optional<int> port_min, port_max;  // TCP/UDP/SCTP ports; ICMP: type (min), code (max)
  std::optional<Cidr> remote_ip_prefix;
  std::optional<std::string> remote_group;  // group name: the addresses of its members
  int line = 0;
};

struct SecurityGroupSpec {
  bool operator==(const SecurityGroupSpec&) const = default;
  std::string name;
  std::optional<std::string> id;
  bool stateful = true;
  std::vector<SecurityGroupRuleSpec> rules;
  int line = 0;
};

// Neutron's allowed_address_pairs entry: the port may also send from `ip` (a host
// address or a CIDR), with `mac` (the port's own MAC when none is given).
struct AddressPairSpec {
  bool operator==(const AddressPairSpec&) const = default;
  Cidr ip;
  std::optional<Mac> mac;
};

// A fixed IP of a port beyond its first (Neutron's fixed_ips may hold several).
struct FixedIpSpec {
  bool operator==(const FixedIpSpec&) const = default;
  std::string subnet;      // a subnet of the port's network
  std::optional<Ipv4> ip;  // none: allocated, then pinned
};

struct VmSpec {
  bool operator==(const VmSpec&) const = default;
  std::string name;
  std::optional<std::string> port_id;
  std::string network;
  std::optional<std::string> subnet;
  std::string host;
  std::optional<Ipv4> ip;
  // No fixed IP (Neutron's `fixed_ips: []`, or a port made on a network with no subnet):
  // the port is plugged into its network's bridge and nothing routes to it. It keeps no IP
  // when subnets are added later, as in Neutron.
  bool no_ip = false;
  // The port's further fixed IPs: allocated, shown and released with it. The routers
  // reach them (neighbours), the port filter lets the port send from them, and a floating
  // IP may NAT to one; the port's own routes and SNAT are the first address's.
  std::vector<FixedIpSpec> extra_ips;
  std::optional<Mac> mac;
  // Filtered (Neutron's port_security_enabled) by its groups' rules, with anti-spoofing.
  // In a file it defaults to whether `security_groups` is given, so files written before
  // groups keep an open data path; the server always says.
  bool port_security = false;
  std::vector<std::string> security_groups;  // group names
  std::vector<AddressPairSpec> allowed_address_pairs;
  std::vector<DhcpOptionSpec> extra_dhcp_opts;  // served by its network's dnsmasq
  int line = 0;
};

struct FloatingIpSpec {
  bool operator==(const FloatingIpSpec&) const = default;
  std::optional<std::string> id;
  std::string network;  // external network name
  std::optional<Ipv4> address;
  std::optional<std::string> vm;  // associated VM (port) name
  // The address of the port it NATs to (Neutron's fixed_ip_address): one of the port's fixed
  // IPs; none: its first.
  std::optional<Ipv4> fixed_ip;
  int line = 0;
};

// Pins for per-host objects Neutron allocates: the fg- port of (host, external network)
// and the rfp-/fpr- link-local /31 of (router, host).
struct FipGatewaySpec {
  bool operator==(const FipGatewaySpec&) const = default;
  std::string host, network;
  PortPin port;
  int line = 0;
};

struct LinkLocalSpec {
  bool operator==(const LinkLocalSpec&) const = default;
  std::string router, host;
  Cidr pair;  // the /31; rfp- takes the even address, fpr- the odd one
  int line = 0;
};

// Addresses outside the cloud, reached through an external network's gateway (the lab
// builds them as hosts; the tracer delivers to them).
struct ExternalHostSpec {
  bool operator==(const ExternalHostSpec&) const = default;
  std::string name;
  Ipv4 ip;
  std::string network;  // external network whose gateway routes to it
  int line = 0;
};

struct Topology {
  bool operator==(const Topology&) const = default;
  Settings settings;
  std::vector<HostSpec> hosts;
  std::vector<NetworkSpec> networks;
  std::vector<SubnetSpec> subnets;
  std::vector<RouterSpec> routers;
  std::vector<VmSpec> vms;
  std::vector<FloatingIpSpec> floating_ips;
  std::vector<FipGatewaySpec> fip_gateways;
  std::vector<LinkLocalSpec> link_locals;
  std::vector<ExternalHostSpec> external_hosts;
  std::vector<SecurityGroupSpec> security_groups;
  std::vector<DhcpPortSpec> dhcp_ports;
};

}  // namespace dvr::model
