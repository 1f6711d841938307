#include "ipam/synthetic.h"

#include <string>

#include "ipam/ids.h"

namespace dvr::ipam {

using namespace dvr::model;

Topology syntheticTopology(const SyntheticSize& size) {
  Topology t;
  int snat_hosts = std::max(1, size.hosts / 100);
  int computes = std::max(1, size.hosts - snat_hosts);
  for (int h = 0; h < size.hosts; ++h) {
    HostSpec host;
    host.name = (h < snat_hosts ? "network" : "compute") + std::to_string(h);
    host.mode = h < snat_hosts ? AgentMode::DvrSnat : AgentMode::Dvr;
    host.tunnel_ip = Ipv4(0xac100000u + uint32_t(h) + 1);  // 172.16.0.0/12
    host.uplinks["ext"] = "eth1";
    t.hosts.push_back(std::move(host));
  }
  t.networks.push_back({"ext", std::nullopt, true, std::nullopt, std::nullopt, 0});
  // 100.64.0.0/10: room for every floating IP, qg- and fg- port.
  t.subnets.push_back({"ext-subnet",
                       std::nullopt,
                       "ext",
                       Cidr{Ipv4(0x64400000u), 10},
                       Ipv4(0x64400001u),
                       false,
                       {},
                       0});
  for (int r = 0; r < size.routers; ++r) {
    std::string net = "net" + std::to_string(r);
    t.networks.push_back({net, std::nullopt, false, std::nullopt, std::nullopt, 0});
    uint32_t base = 0x0a000000u + (uint32_t(r) << 8);  // 10.x.y.0/24
    t.subnets.push_back(
        {net + "-subnet", std::nullopt, net, Cidr{Ipv4(base), 24}, Ipv4(base + 1), false, {}, 0});
    RouterSpec router;
    router.name = "router" + std::to_string(r);
    router.gateway_network = "ext";
    router.interfaces.push_back({net + "-subnet", {}, {}, 0});
    t.routers.push_back(std::move(router));
  }
  for (int v = 0; v < size.vms; ++v) {
    VmSpec vm;
    vm.name = "vm" + std::to_string(v);
    int r = size.routers ? int(hash64(vm.name, size.seed) % uint64_t(size.routers)) : 0;
    vm.network = "net" + std::to_string(r);
    vm.host = "compute" +
              std::to_string(snat_hosts + int(hash64(vm.name, size.seed + 1) % uint64_t(computes)));
    if (size.hosts == 1)
      vm.host = "network0";
    t.vms.push_back(std::move(vm));
  }
  int every = size.floating_ips > 0 ? std::max(1, size.vms / size.floating_ips) : 0;
  for (int f = 0; f < size.floating_ips && every && f * every < size.vms; ++f) {
    t.floating_ips.push_back(
        {std::nullopt, "ext", std::nullopt, "vm" + std::to_string(f * every), std::nullopt, 0});
  }
  t.external_hosts.push_back({"internet", Ipv4(0x08080808u), "ext", 0});
  return t;
}

}  // namespace dvr::ipam
