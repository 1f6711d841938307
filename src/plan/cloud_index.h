// Lookups over a Cloud, built once in O(size of the cloud), so that planning one host
// costs only what that host holds. Read-only after construction; safe to share across
// threads planning different hosts. A router that is down (admin_state_up false) is in
// none of the lookups: no host holds it, its subnets have no router, its ports no host.
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "model/cloud.h"

namespace dvr::plan {

class CloudIndex {
 public:
  explicit CloudIndex(const model::Cloud& cloud);

  const model::Cloud& cloud() const { return cloud_; }
  const model::Network& network(const std::string& id) const {
    return cloud_.networks[network_.at(id)];
  }
  const model::Subnet& subnet(const std::string& id) const {
    return cloud_.subnets[subnet_.at(id)];
  }
  const model::Host* host(const std::string& name) const;

  // Routers that have a qrouter- on `host`: a VM there on one of their subnets, or the
  // host holds their SNAT (Neutron's DVR scheduling); a centralized router only on its
  // snat_host. Sorted by router index.
  const std::vector<size_t>& routersOn(const std::string& host) const;
  // Hosts where the network has a bridge: VMs, routers or SNAT ports of it live there.
  const std::vector<std::string>& hostsWith(const std::string& network_id) const;
  // Ports bound to `host` (VM, sg-, qg-, fg-).
  const std::vector<size_t>& portsOn(const std::string& host) const;
  // VM and sg- ports on a subnet (the ones a qrouter keeps permanent neighbours for).
  const std::vector<size_t>& endpointsOn(const std::string& subnet_id) const;
  // Further fixed IPs of bound VM ports on a subnet: (port, address), neighbours too.
  const std::vector<std::pair<size_t, Ipv4>>& extraAddressesOn(const std::string& subnet_id) const;
  // Ports bound to some host on a network (VM, sg-): FDB entries elsewhere.
  const std::vector<size_t>& boundPortsOn(const std::string& network_id) const;
  // VM ports whose first address is on the subnet, bound or not (its DHCP server's hosts).
  const std::vector<size_t>& vmPortsOnSubnet(const std::string& subnet_id) const;
  // Router with an interface on the subnet, or -1.
  long routerOfSubnet(const std::string& subnet_id) const;
  // Floating IPs served on `host`: those whose port is bound there, a centralized router's
  // on that router's host.
  const std::vector<size_t>& floatingIpsOn(const std::string& host) const;
  const model::LinkLocal* linkLocal(const std::string& router_id, const std::string& host) const;
  const model::Port* fipGatewayPort(const std::string& host, const std::string& network_id) const;
  // Filtered VM ports in a security group (its members, for remote-group rules).
  const std::vector<size_t>& membersOf(const std::string& group_id) const;
  const model::SecurityGroup* securityGroup(const std::string& id) const;

 private:
  const model::Cloud& cloud_;
  std::unordered_map<std::string, size_t> host_, network_, subnet_;
  std::unordered_map<std::string, std::vector<size_t>> routers_on_, ports_on_, endpoints_on_,
      bound_on_network_, fips_on_, members_of_, vms_on_subnet_;
  std::unordered_map<std::string, std::vector<std::pair<size_t, Ipv4>>> extra_on_;
  std::unordered_map<std::string, size_t> group_;
  std::unordered_map<std::string, std::vector<std::string>> hosts_with_;
  std::unordered_map<std::string, long> router_of_subnet_;
  std::unordered_map<std::string, const model::LinkLocal*> link_local_;
  std::unordered_map<std::string, const model::Port*> fg_port_;
  static const std::vector<size_t> kNone;
  static const std::vector<std::string> kNoHosts;
};

}  // namespace dvr::plan
