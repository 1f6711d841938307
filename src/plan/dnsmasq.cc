#include "plan/dnsmasq.h"

#include <algorithm>

namespace dvr::plan {

namespace {

std::string subnetTag(const DhcpServer& s) {
  return "tag:subnet-" + s.subnet_id;
}

// Neutron's form: a number is given as is, a name as dnsmasq's option:<name>.
std::string optionKey(const std::string& name) {
  bool number = !name.empty() && std::all_of(name.begin(), name.end(), ::isdigit);
  return number ? name : "option:" + name;
}

std::string hostName(Ipv4 ip) {
  std::string n = "host-" + ip.str();
  std::replace(n.begin(), n.end(), '.', '-');
  return n;
}

}  // namespace

std::string dnsmasqHosts(const DhcpServer& s) {
  std::string out;
  for (const auto& h : s.hosts)
    out += h.mac.str() + "," + hostName(h.ip) + "," + h.ip.str() + ",set:port-" + h.port_id + "\n";
  return out;
}

std::string dnsmasqOpts(const DhcpServer& s) {
  std::string out;
  // Without a gateway Neutron sends an empty router option (no default route).
  out += subnetTag(s) + ",option:router" + (s.gateway ? "," + s.gateway->str() : "") + "\n";
  if (!s.dns_nameservers.empty()) {
    out += subnetTag(s) + ",option:dns-server";
    for (Ipv4 d : s.dns_nameservers)
      out += "," + d.str();
    out += "\n";
  }
  out += subnetTag(s) + ",option:mtu," + std::to_string(s.mtu) + "\n";
  for (const auto& h : s.hosts) {
    for (const auto& o : h.options)
      out += "tag:port-" + h.port_id + "," + optionKey(o.name) + "," + o.value + "\n";
  }
  return out;
}

Daemon dnsmasqDaemon(const DhcpServer& s) {
  Daemon d;
  d.name = "dnsmasq-" + s.network_id;
  d.ns = s.ns;
  // In the foreground (the kernel layer supervises it); DHCP only (port 0: no DNS), bound
  // to the network's port alone, leases in its directory; static leases only.
  d.argv = {"dnsmasq",
            "--keep-in-foreground",
            "--no-hosts",
            "--no-resolv",
            "--port=0",
            "--bind-interfaces",
            "--interface=" + s.device,
            "--except-interface=lo",
            "--pid-file={dir}/dnsmasq.pid",
            "--dhcp-leasefile={dir}/leases",
            "--dhcp-hostsfile={dir}/host",
            "--dhcp-optsfile={dir}/opts",
            "--dhcp-range=set:subnet-" + s.subnet_id + "," + s.cidr.network().addr.str() +
                ",static," + Ipv4(s.cidr.mask()).str() + "," + kDhcpLeaseTime,
            "--dhcp-authoritative",
            "--log-dhcp",
            "--log-facility=-"};        // to its log file (stderr): no syslog in a namespace
  d.reload = Daemon::Reload::kRestart;  // see the header: SIGHUP can abort it
  d.files["host"] = dnsmasqHosts(s);
  d.files["opts"] = dnsmasqOpts(s);
  return d;
}

}  // namespace dvr::plan
