// Synthetic clouds for benchmarks and property tests: a given number of hosts,
// routers (one internal network and subnet each), VMs and floating IPs, laid out
// deterministically from `seed` (with ipam's hash, so it lives above the model).
#pragma once

#include <cstdint>

#include "model/topology.h"

namespace dvr::ipam {

struct SyntheticSize {
  int hosts = 10;         // about 1 in 100 (at least one) is a dvr_snat network node
  int routers = 10;       // each with one /24 internal network, gateway on the external net
  int vms = 100;          // spread over the compute hosts and routers' networks
  int floating_ips = 20;  // on every (vms / floating_ips)-th VM
  uint64_t seed = 1;
};

model::Topology syntheticTopology(const SyntheticSize& size);

}  // namespace dvr::ipam
