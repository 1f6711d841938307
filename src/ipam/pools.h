// Allocators used by resolve(): fixed IPs from subnet pools, MACs under a base prefix,
// link-local /31 pairs. Each hands out deterministically and reports exhaustion.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "model/net.h"
#include "model/topology.h"

namespace dvr::ipam {

// Free addresses of one subnet: the allocation pools minus what is taken. Lowest first.
class IpPool {
 public:
  IpPool(Cidr cidr, std::vector<model::PoolSpec> pools) : cidr_(cidr), pools_(std::move(pools)) {}
  bool take(Ipv4 ip) { return used_.insert(ip.value()).second; }
  std::optional<Ipv4> allocate();
  // A slot from a hash of `key`, probing upward: the address does not depend on what
  // else was allocated before it (external networks: qg-, fg-, floating IPs).
  std::optional<Ipv4> allocateFor(const std::string& key);

 private:
  Cidr cidr_;
  std::vector<model::PoolSpec> pools_;
  std::unordered_set<uint32_t> used_;
  size_t cursor_pool_ = 0;
  uint32_t cursor_ = 0;  // next address to try in pools_[cursor_pool_]
};

// MACs under a 3-octet prefix; the preferred value comes from a hash of the owner's id,
// probing upward on collision.
class MacPool {
 public:
  explicit MacPool(Mac base) : prefix_(base.value() & 0xffffff000000ULL) {}
  bool take(Mac mac) { return used_.insert(mac.value()).second; }
  Mac allocate(const std::string& key);

 private:
  uint64_t prefix_;
  std::unordered_set<uint64_t> used_;
};

// /31 pairs of a link-local pool for one host. Slot = hash(router id), probing: a
// router keeps its pair when other routers come and go (unless they collided).
class LinkLocalPool {
 public:
  explicit LinkLocalPool(Cidr pool) : pool_(pool.network()) {}
  bool take(Ipv4 even) { return used_.insert(even.value()).second; }
  std::optional<Ipv4> allocate(const std::string& router_id);

 private:
  Cidr pool_;
  std::unordered_set<uint32_t> used_;
};

}  // namespace dvr::ipam
