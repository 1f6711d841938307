// plan = f(cloud, host): pure and deterministic. No I/O, no clock; the same cloud gives
// a byte-identical plan.
#pragma once

#include <string>
#include <vector>

#include "model/cloud.h"
#include "plan/cloud_index.h"
#include "plan/host_plan.h"

namespace dvr::plan {

HostPlan planHost(const CloudIndex& index, const std::string& host);
// All hosts' plans, in host order. Uses `threads` workers (plans are independent).
std::vector<HostPlan> planAll(const CloudIndex& index, unsigned threads = 1);

// Table and priority of a qrouter SNAT-redirect rule: the integer value of the qr- IP.
inline uint32_t snatRedirectTable(Ipv4 qr_ip) {
  return qr_ip.value();
}
// Table and priority of a fip- per-router rule: the integer value of the fpr- IP.
inline uint32_t fipRouterTable(Ipv4 fpr_ip) {
  return fpr_ip.value();
}

}  // namespace dvr::plan
