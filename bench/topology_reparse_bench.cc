// What the agent's file source spends on one more VM in a topology file of N (default
// 250 and 1,000), in CPU time: parsing the file again only where it changed
// (model/topology_reparse.h) against parsing it whole with yaml-cpp, and resolving it.
// The file is bench/sg_control.sh's: one group of 20 rules, N VMs in it.
//
//   build/bench/topology_reparse_bench [N...]
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ipam/resolve.h"
#include "model/topology_reparse.h"
#include "model/topology_yaml.h"

namespace {

using namespace dvr;

double cpuMs() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

std::string topology(int n) {
  std::string y =
      "hosts:\n  - {name: h1, tunnel_ip: 172.16.0.11}\n  - {name: h2, tunnel_ip: 172.16.0.12}\n"
      "networks:\n  - name: net\n    vni: 1001\n"
      "    subnets: [{name: sub, cidr: 10.0.0.0/16, gateway: 10.0.0.1}]\n"
      "security_groups:\n  - name: web\n    rules:\n      - {direction: egress}\n";
  for (int i = 0; i < 14; ++i)
    y += "      - {direction: ingress, protocol: tcp, port_range_min: " +
         std::to_string(1000 + i * 10) + ", port_range_max: " + std::to_string(1005 + i * 10) +
         "}\n";
  for (int i = 0; i < 5; ++i)
    y += "      - {direction: ingress, protocol: udp, port_range_min: " + std::to_string(2000 + i) +
         ", port_range_max: " + std::to_string(2000 + i) + ", remote_group: web}\n";
  y += "vms:\n";
  for (int i = 0; i < n; ++i)
    y += "  - {name: vm" + std::to_string(i) + ", network: net, host: h1, ip: 10.0." +
         std::to_string(2 + i / 250) + "." + std::to_string(1 + i % 250) +
         ", security_groups: [web]}\n";
  return y + "  - {name: far, network: net, host: h2, ip: 10.0.200.1, security_groups: [web]}\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i)
    sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty())
    sizes = {250, 1000};
  std::printf("VMs    reparse (ms)  whole parse (ms)  resolve (ms)   CPU, median of 9\n");
  for (int n : sizes) {
    const std::string files[2] = {topology(n), topology(n + 1)};
    model::TopologyReparser reparser;
    reparser.parse(files[0], "t.yaml");
    std::vector<double> re, whole, res;
    for (int i = 1; i <= 9; ++i) {  // one VM more, one fewer, …
      const std::string& f = files[i % 2];
      double t0 = cpuMs();
      model::Topology t = reparser.parse(f, "t.yaml");
      double t1 = cpuMs();
      model::parseTopology(f, "t.yaml");
      double t2 = cpuMs();
      ipam::resolve(t, "t.yaml");
      double t3 = cpuMs();
      re.push_back(t1 - t0), whole.push_back(t2 - t1), res.push_back(t3 - t2);
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    std::printf("%-6d %-13.2f %-17.2f %.2f\n", n, median(re), median(whole), median(res));
  }
}
