#include "ipam/pools.h"

#include "ipam/ids.h"

namespace dvr::ipam {

std::optional<Ipv4> IpPool::allocate() {
  while (cursor_pool_ < pools_.size()) {
    const auto& pool = pools_[cursor_pool_];
    uint32_t ip = std::max(cursor_, pool.start.value());
    for (; ip <= pool.end.value() && ip != 0; ++ip) {
      if (!used_.count(ip)) {
        used_.insert(ip);
        cursor_ = ip + 1;
        return Ipv4(ip);
      }
      if (ip == pool.end.value())
        break;
    }
    ++cursor_pool_;
    cursor_ = 0;
  }
  return std::nullopt;
}

std::optional<Ipv4> IpPool::allocateFor(const std::string& key) {
  uint64_t total = 0;
  for (const auto& p : pools_)
    total += uint64_t(p.end.value()) - p.start.value() + 1;
  if (total == 0)
    return std::nullopt;
  uint64_t slot = hash64(key, 5) % total;
  for (uint64_t i = 0; i < total; ++i) {
    uint64_t k = (slot + i) % total;
    for (const auto& p : pools_) {
      uint64_t n = uint64_t(p.end.value()) - p.start.value() + 1;
      if (k >= n) {
        k -= n;
        continue;
      }
      uint32_t ip = p.start.value() + uint32_t(k);
      if (used_.insert(ip).second)
        return Ipv4(ip);
      break;
    }
  }
  return std::nullopt;
}

Mac MacPool::allocate(const std::string& key) {
  uint64_t low = hash64(key, 7) & 0xffffff;
  for (uint64_t i = 0; i < 0x1000000; ++i) {
    uint64_t candidate = prefix_ | ((low + i) & 0xffffff);
    if (used_.insert(candidate).second) {
      return Mac(candidate);
    }
  }
  return Mac();  // 16M MACs exhausted: unreachable at any supported scale
}

std::optional<Ipv4> LinkLocalPool::allocate(const std::string& router_id) {
  uint64_t pairs = pool_.size() / 2;
  if (pairs == 0)
    return std::nullopt;
  uint64_t slot = hash64(router_id, 11) % pairs;
  for (uint64_t i = 0; i < pairs; ++i) {
    uint32_t even = pool_.addr.value() + static_cast<uint32_t>(((slot + i) % pairs) * 2);
    if (used_.insert(even).second) {
      return Ipv4(even);
    }
  }
  return std::nullopt;
}

}  // namespace dvr::ipam
