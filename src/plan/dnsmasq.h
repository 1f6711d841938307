// dnsmasq serving DHCP on one network, as Neutron's DHCP agent runs it in
// qdhcp-<network id>: static leases only (a port's MAC gets the port's address, any
// other MAC nothing), the subnet's gateway as router, its DNS servers, the network's
// MTU (option 26), and each port's extra_dhcp_opts tagged to that port. Pure: the
// kernel layer writes the files and runs it (a plan::Daemon). A change of ports rewrites
// hosts/opts and starts dnsmasq again: Debian 12's dnsmasq 2.90 aborts on SIGHUP once it
// holds a lease ("free(): invalid pointer", seen under strace), and a restart loses
// nothing here: every lease is static and in its lease file, and a client's next
// request is answered by the new process.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/net.h"
#include "plan/host_plan.h"

namespace dvr::plan {

inline constexpr const char* kDhcpLeaseTime = "86400s";  // Neutron's dhcp_lease_duration

struct DhcpOption {
  std::string name, value;  // a dnsmasq option name (bootfile-name) or number (66)
};

struct DhcpHost {
  std::string port_id;
  Mac mac;
  Ipv4 ip;
  std::vector<DhcpOption> options;  // the port's extra_dhcp_opts (IPv4)
};

struct DhcpServer {
  std::string network_id, subnet_id;
  std::string ns, device;  // qdhcp-<network>, its port's device inside
  Cidr cidr;
  std::optional<Ipv4> gateway;
  std::vector<Ipv4> dns_nameservers;
  int mtu = 1450;
  std::vector<DhcpHost> hosts;
};

inline std::string qdhcpNs(const std::string& network_id) {
  return "qdhcp-" + network_id;
}

// --dhcp-hostsfile: "mac,host-a-b-c-d,ip,set:port-<id>" per port.
std::string dnsmasqHosts(const DhcpServer& s);
// --dhcp-optsfile: the subnet's router, DNS and MTU, then each port's options.
std::string dnsmasqOpts(const DhcpServer& s);
Daemon dnsmasqDaemon(const DhcpServer& s);

}  // namespace dvr::plan
