#include "lab/nodes.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include "kernel/host_process.h"
#include "kernel/netns.h"
#include "kernel/rtnl.h"
#include "kernel/sysctl.h"
#include "lab/places.h"
#include "observe/log.h"
#include "plan/names.h"

namespace dvr::lab {

namespace fs = std::filesystem;
using kernel::UniqueFd;

namespace {

plan::Link dev(const std::string& name, int mtu = 0, std::optional<Mac> mac = std::nullopt) {
  plan::Link l;
  l.name = name;
  l.mtu = mtu;
  l.mac = mac;
  return l;
}

// A veth between namespace `a_fd` (end `a`) and `b_fd` (end `b`), both up.
void wire(int a_fd, const plan::Link& a, int b_fd, const plan::Link& b,
          const std::string& a_master = "") {
  kernel::Rtnl ra(a_fd, "lab"), rb(b_fd, "lab");
  plan::Link with_master = a;
  with_master.master = a_master;
  ra.addVethPair(with_master, true, b, b_fd);
  rb.setLink(b.name, b, true);
}

void configure(int fd, const std::string& dev_name, std::optional<Cidr> addr,
               std::optional<Ipv4> gateway) {
  kernel::Rtnl rt(fd, "lab");
  rt.setLink("lo", plan::Link{}, true);
  if (addr)
    rt.addAddress({"", dev_name, *addr});
  if (gateway)
    rt.replaceRoute({"", plan::kMainTable, Cidr{Ipv4(0), 0}, gateway, dev_name});
}

// A lab namespace's bridges switch frames without passing them through IPv4/IPv6/ARP
// netfilter hooks. br_netfilter, when the machine has it loaded, turns that on in every
// namespace; a hypervisor's bridges (Neutron's br-int / br-tun are Open vSwitch) do not
// do it, dvr's rules on bridges are in the bridge family, and it costs each bridged frame.
void bridgesSkipIpHooks(int fd) {
  for (const char* key :
       {"net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables",
        "net.bridge.bridge-nf-call-arptables"}) {
    if (!kernel::readSysctl(fd, key).empty())  // "": br_netfilter is not loaded
      kernel::writeSysctl(fd, key, "0");
  }
}

Cidr underlayPrefix(const model::Cloud& c) {
  for (uint8_t len = 24; len > 0; len -= 8) {
    bool all = true;
    for (const auto& h : c.hosts)
      all = all && Cidr{c.hosts[0].tunnel_ip, len}.contains(h.tunnel_ip);
    if (all)
      return Cidr{Ipv4(0), len};
  }
  return Cidr{Ipv4(0), 8};
}

std::string gatewayName(const model::Cloud& c, const model::Network& n) {
  int externals = 0;
  for (const auto& x : c.networks)
    externals += x.external;
  return externals == 1 ? "gateway" : "gateway-" + n.name;
}

}  // namespace

void createVm(const model::Cloud& c, const model::Port& vm, const std::string& name) {
  const model::Subnet* s = c.findSubnet(vm.subnet_id);
  const model::Network* n = c.findNetwork(vm.network_id);
  kernel::createNetnsAt(nsPath(name));
  UniqueFd vm_fd = openPath(nsPath(name));
  UniqueFd host_fd = openPath(hostNsPath(vm.host, "net"));
  // The hypervisor's part: eth0 in the VM, tap<port> on the host (the agent enslaves it).
  wire(vm_fd.get(), dev("eth0", n->mtu, vm.mac), host_fd.get(),
       dev(plan::names::tap(vm.id), n->mtu));
  configure(vm_fd.get(), "eth0", Cidr{vm.ip, s->cidr.len}, s->gateway);
  // Its further fixed IPs too, as a guest configured for all of them would hold them.
  kernel::Rtnl rt(vm_fd.get(), "lab");
  for (const auto& e : vm.extra_ips) {
    if (const model::Subnet* es = c.findSubnet(e.subnet_id))
      rt.addAddress({"", "eth0", Cidr{e.ip, es->cidr.len}});
  }
}

void removeVm(const std::string& name) {
  kernel::unbindNamespace(nsPath(name));
}

void build(const model::Cloud& c, bool with_vms) {
  kernel::createNetnsAt(nsPath("fabric"));
  UniqueFd fabric = openPath(nsPath("fabric"));
  bridgesSkipIpHooks(fabric.get());
  {
    kernel::Rtnl rt(fabric.get(), "fabric");
    rt.setLink("lo", plan::Link{}, true);
    rt.addBridge(dev("underlay", c.settings.underlay_mtu), true);
  }
  // An external network is a bridge the hosts' uplinks plug into. With a gateway, the
  // bridge is the gateway's own interface (its address and MAC on the bridge device), as
  // a top-of-rack router would be: no extra hop between the hosts and the gateway.
  struct ExternalL2 {
    int ns_fd;
    std::string bridge;
    size_t index;  // names the uplinks' far ends: x<index>-<host>
  };
  std::map<std::string, ExternalL2> ext_l2;  // network id -> where hosts plug in
  std::map<std::string, UniqueFd> gateways;  // network id -> gateway namespace
  for (const auto& n : c.networks) {
    if (!n.external)
      continue;
    const model::Subnet* s = nullptr;
    for (const auto& x : c.subnets) {
      if (x.network_id == n.id && !s)
        s = &x;
    }
    if (s && s->gateway) {
      std::string gw_name = gatewayName(c, n);
      kernel::createNetnsAt(nsPath(gw_name));
      UniqueFd& gw = gateways[n.id] = openPath(nsPath(gw_name));
      kernel::Rtnl rt(gw.get(), gw_name);
      rt.addBridge(dev("eth0", 0, s->gateway_mac), true);
      configure(gw.get(), "eth0", Cidr{*s->gateway, s->cidr.len}, std::nullopt);
      kernel::writeSysctl(gw.get(), "net.ipv4.ip_forward", "1");
      bridgesSkipIpHooks(gw.get());
      ext_l2[n.id] = {gw.get(), "eth0", ext_l2.size()};
    } else {
      std::string br = "ext" + std::to_string(ext_l2.size());
      kernel::Rtnl rt(fabric.get(), "fabric");
      rt.addBridge(dev(br), true);
      ext_l2[n.id] = {fabric.get(), br, ext_l2.size()};
    }
  }
  Cidr ul = underlayPrefix(c);
  for (const auto& h : c.hosts) {
    spdlog::info("lab: building host {} ({}, tunnel {})", h.name, model::agentModeName(h.mode),
                 h.tunnel_ip.str());
    createHost(h.name);
    UniqueFd net = openPath(hostNsPath(h.name, "net"));
    bridgesSkipIpHooks(net.get());
    wire(fabric.get(), dev(trimName("u-" + h.name), c.settings.underlay_mtu), net.get(),
         dev("eth0", c.settings.underlay_mtu), "underlay");
    configure(net.get(), "eth0", Cidr{h.tunnel_ip, ul.len}, std::nullopt);
    for (const auto& [net_id, uplink] : h.uplinks) {
      const ExternalL2& l2 = ext_l2.at(net_id);
      wire(l2.ns_fd, dev(trimName("x" + std::to_string(l2.index) + "-" + h.name)), net.get(),
           dev(uplink), l2.bridge);
    }
  }
  for (const auto& [net_id, gw] : gateways) {
    for (const auto& e : c.external_hosts) {
      if (e.network_id != net_id)
        continue;
      kernel::createNetnsAt(nsPath(e.name));
      UniqueFd eh = openPath(nsPath(e.name));
      Cidr link = Cidr{e.ip, 24}.network();
      Ipv4 gw_side(link.addr.value() + 1 == e.ip.value() ? link.addr.value() + 254
                                                         : link.addr.value() + 1);
      wire(gw.get(), dev(trimName("e-" + e.name)), eh.get(), dev("eth0"));
      configure(gw.get(), trimName("e-" + e.name), Cidr{gw_side, 24}, std::nullopt);
      configure(eh.get(), "eth0", Cidr{e.ip, 24}, gw_side);
    }
  }
  for (const auto& p : c.ports) {
    if (!with_vms || p.device_owner != model::kOwnerCompute)
      continue;
    spdlog::info("lab: plugging vm {} ({}) into {}", p.name, p.ip.str(), p.host);
    createVm(c, p, p.name);
  }
}

std::string labDatapath() {
  std::string d = "namespaces";
  std::ifstream(labFile("datapath")) >> d;
  return d;
}

pid_t startAgent(const std::string& host, const std::string& dvr_binary) {
  return startInHost(
      host, host,
      {dvr_binary, "agent", "--host", host, "--topology", topologyCopy(), "--ready-file",
       labFile(host + ".ready"), "--metrics-bind", kAgentMetricsBind, "--datapath", labDatapath()});
}

void waitReady(const model::Cloud& c) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (const auto& h : c.hosts) {
    spdlog::info("lab: waiting for the agent of {} to reconcile", h.name);
    while (!fs::exists(labFile(h.name + ".ready"))) {
      if (!kernel::alive(readPid(h.name))) {
        throw std::runtime_error("the agent of " + h.name + " stopped:\n" +
                                 tail(labFile(h.name + ".log"), 10));
      }
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("the agent of " + h.name + " did not reconcile in 60 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

}  // namespace dvr::lab
