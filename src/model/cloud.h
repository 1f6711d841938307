// The resolved logical world: every id, MAC and address allocated. This is what the
// plan consumes; a topology file (ipam::resolve) or, later, the API store produces it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/net.h"
#include "model/topology.h"

namespace dvr::model {

inline constexpr const char* kOwnerCompute = "compute:nova";
inline constexpr const char* kOwnerRouterInterface = "network:router_interface_distributed";
inline constexpr const char* kOwnerRouterInterfaceCentralized = "network:router_interface";
inline constexpr const char* kOwnerSnat = "network:router_centralized_snat";
inline constexpr const char* kOwnerRouterGateway = "network:router_gateway";
inline constexpr const char* kOwnerFipGateway = "network:floatingip_agent_gateway";
inline constexpr const char* kOwnerHaInterface = "network:router_ha_interface";
inline constexpr const char* kOwnerDhcp = "network:dhcp";

struct Host {
  bool operator==(const Host&) const = default;
  std::string name;
  AgentMode mode = AgentMode::Dvr;
  Ipv4 tunnel_ip;
  Mac dvr_mac;
  std::map<std::string, std::string> uplinks;  // external network id -> device
  bool dhcp = false;                           // a DHCP agent runs here
};

struct Network {
  bool operator==(const Network&) const = default;
  std::string id, name;
  bool external = false;
  uint32_t vni = 0;  // 0 for external networks (flat, on the host's uplink)
  int mtu = 1450;
  bool ha = false;  // the HA routers' network, which ipam makes (never in a file or the API)
};

struct Subnet {
  bool operator==(const Subnet&) const = default;
  std::string id, name, network_id;
  Cidr cidr;  // network address with prefix
  std::optional<Ipv4> gateway;
  std::vector<PoolSpec> pools;
  // External subnets only: the MAC of the upstream router at `gateway`. It is outside the
  // cloud; the lab gives its gateway this MAC and the tracer names it.
  Mac gateway_mac;
  bool enable_dhcp = true;  // served by its network's DHCP port, when it has one
  std::vector<Ipv4> dns_nameservers;
};

struct AddressPair {
  bool operator==(const AddressPair&) const = default;
  Cidr ip;
  Mac mac;  // the port's own when the pair named none
};

// An address of a port beyond its first.
struct FixedIp {
  bool operator==(const FixedIp&) const = default;
  std::string subnet_id;
  Ipv4 ip;
};

struct Port {
  bool operator==(const Port&) const = default;
  std::string id, name, network_id, subnet_id;
  std::string device_owner, device_id;
  std::string host;  // binding:host_id; empty for qr- ports (bound on every host)
  // An HA router's sg- and qg- ports: every host that holds them (`host` is the first),
  // the active one answering. Empty for every other port.
  std::vector<std::string> ha_hosts;
  Ipv4 ip;  // meaningful only with a subnet_id: a VM port may have no fixed IP
  bool hasIp() const { return !subnet_id.empty(); }
  // VM ports: their further fixed IPs (routers hold neighbours for them, the port filter
  // lets them through, a floating IP may NAT to one).
  std::vector<FixedIp> extra_ips;
  Mac mac;
  // VM ports only (router, SNAT and gateway ports are never filtered, as in Neutron).
  bool port_security = false;
  std::vector<std::string> security_group_ids;
  std::vector<AddressPair> allowed_address_pairs;
  std::vector<DhcpOptionSpec> extra_dhcp_opts;  // VM ports: what dnsmasq sends them
};

struct SecurityGroupRule {
  bool operator==(const SecurityGroupRule&) const = default;
  std::string id;
  bool ingress = true;
  std::optional<int> protocol;            // none: any
  std::optional<int> port_min, port_max;  // TCP/UDP/SCTP ports; ICMP: type, code
  std::optional<Cidr> remote_ip_prefix;
  std::string remote_group_id;  // empty: none
};

struct SecurityGroup {
  bool operator==(const SecurityGroup&) const = default;
  std::string id, name;
  bool stateful = true;
  std::vector<SecurityGroupRule> rules;
};

struct Router {
  bool operator==(const Router&) const = default;
  std::string id, name;
  std::optional<std::string> gateway_network_id;
  std::optional<size_t> gateway_port;  // index into Cloud::ports (qg-)
  bool enable_snat = true;
  std::string snat_host;  // dvr_snat host holding snat-<id>; empty if none
  // false: centralized (Neutron's legacy router): only on snat_host, whose qrouter- holds
  // the qr- ports (bound there), the qg- port, SNAT and floating IPs; no sg- ports.
  bool distributed = true;
  bool admin_state_up = true;           // false: planned nowhere (RouterSpec::admin_state_up)
  std::vector<size_t> interface_ports;  // qr- ports
  std::vector<size_t> snat_ports;       // sg- ports, parallel to interface_ports
  std::vector<ExtraRoute> routes;       // each nexthop on one of the interfaces' subnets
  // HA routers: the dvr_snat hosts holding snat-<id> (snat_host is the first), their ha-
  // ports on the cloud's HA network (parallel), and the router's VRRP id there.
  std::vector<std::string> ha_hosts;
  std::vector<size_t> ha_ports;
  int vrid = 0;
  bool ha() const { return !ha_hosts.empty(); }  // placed on HA hosts
  bool ha_mode = false;  // asked to be HA (RouterSpec.ha), placed yet or not (no gateway)
  bool centralized() const { return !distributed; }
};

struct FloatingIp {
  bool operator==(const FloatingIp&) const = default;
  std::string id, network_id;
  Ipv4 address;
  std::optional<size_t> port;  // associated port (index into Cloud::ports)
  Ipv4 fixed;                  // with a port: the port's address it NATs to
  std::string router_id;       // router that serves the association
};

struct LinkLocal {
  bool operator==(const LinkLocal&) const = default;
  std::string router_id, host;
  Ipv4 rfp_ip, fpr_ip;  // even and odd addresses of one /31
  Mac rfp_mac, fpr_mac;
};

struct ExternalHost {
  bool operator==(const ExternalHost&) const = default;
  std::string name;
  Ipv4 ip;
  std::string network_id;
};

struct Cloud {
  bool operator==(const Cloud&) const = default;
  Settings settings;
  std::vector<Host> hosts;
  std::vector<Network> networks;
  std::vector<Subnet> subnets;
  std::vector<Router> routers;
  std::vector<Port> ports;
  std::vector<FloatingIp> floating_ips;
  std::vector<LinkLocal> link_locals;
  std::vector<ExternalHost> external_hosts;
  std::vector<SecurityGroup> security_groups;

  const Host* findHost(const std::string& name) const;
  const Network* findNetwork(const std::string& id) const;
  const Subnet* findSubnet(const std::string& id) const;
  const Router* findRouter(const std::string& id) const;
  const SecurityGroup* findSecurityGroup(const std::string& id) const;
  // A VM port by name or id.
  const Port* findVm(const std::string& name_or_id) const;
};

// The element of `list` named `name` (a topology's reference by name), or null: a scan,
// for the few lookups a write makes.
template <class T>
const T* findByName(const std::vector<T>& list, const std::string& name) {
  for (const auto& x : list) {
    if (x.name == name)
      return &x;
  }
  return nullptr;
}

}  // namespace dvr::model
