#include "kernel/ha_state.h"

#include <algorithm>

#include "kernel/netns.h"
#include "kernel/rtnl.h"

namespace dvr::kernel {

std::map<std::string, std::string> haStates(const plan::HostPlan& plan) {
  std::map<std::string, std::string> out;
  for (const auto& v : plan.vrrp) {
    if (v.vips.empty())
      continue;
    std::string state = "standby";
    try {
      UniqueFd fd = openNetns(v.ns);
      Rtnl rt(fd.get(), v.ns);
      auto addrs = rt.addresses();
      const plan::Address& vip = v.vips.front();
      if (std::any_of(addrs.begin(), addrs.end(),
                      [&](const plan::Address& a) { return a.key() == vip.key(); }))
        state = "active";
    } catch (const std::exception&) {
      state = "unknown";  // the namespace is not there (yet)
    }
    out[v.router_id] = state;
  }
  return out;
}

}  // namespace dvr::kernel
