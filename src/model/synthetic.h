// Synthetic clouds for benchmarks and property tests: a given number of hosts,
// routers (one internal network and subnet each), VMs and floating IPs, laid out
// deterministically from `seed`.
#pragma once

#include <cstdint>

#include "model/topology.h"

namespace dvr::model {

struct SyntheticSize {
  int hosts = 10;         // about 1 in 100 (at least one) is a dvr_snat network node
  int routers = 10;       // each with one /24 internal network, gateway on the external net
  int vms = 100;          // spread over the compute hosts and routers' networks
  int floating_ips = 20;  // on every (vms / floating_ips)-th VM
  uint64_t seed = 1;
};

Topology syntheticTopology(const SyntheticSize& size);

}  // namespace dvr::model
