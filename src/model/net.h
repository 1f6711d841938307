// Value types for addresses: parsed once, valid by construction, printed the way iproute2 does.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dvr {

class Ipv4 {
 public:
  constexpr Ipv4() = default;
  constexpr explicit Ipv4(uint32_t host_order) : value_(host_order) {}
  static std::optional<Ipv4> parse(std::string_view text);

  constexpr uint32_t value() const { return value_; }
  std::string str() const;
  constexpr auto operator<=>(const Ipv4&) const = default;

 private:
  uint32_t value_ = 0;
};

// An address with a prefix length. `addr` keeps its host bits: "10.16.0.1/24" is an
// interface address, `network()` gives 10.16.0.0/24.
struct Cidr {
  Ipv4 addr;
  uint8_t len = 32;

  static std::optional<Cidr> parse(std::string_view text);
  uint32_t mask() const { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }
  Cidr network() const { return {Ipv4(addr.value() & mask()), len}; }
  bool contains(Ipv4 ip) const { return (ip.value() & mask()) == (addr.value() & mask()); }
  bool overlaps(const Cidr& other) const;
  Ipv4 broadcast() const { return Ipv4(addr.value() | ~mask()); }
  uint64_t size() const { return uint64_t{1} << (32 - len); }
  std::string str() const;
  auto operator<=>(const Cidr&) const = default;
};

class Mac {
 public:
  constexpr Mac() = default;
  constexpr explicit Mac(uint64_t value) : value_(value & 0xffffffffffffULL) {}
  static std::optional<Mac> parse(std::string_view text);

  constexpr uint64_t value() const { return value_; }
  bool isZero() const { return value_ == 0; }
  std::array<uint8_t, 6> bytes() const;
  std::string str() const;
  constexpr auto operator<=>(const Mac&) const = default;

 private:
  uint64_t value_ = 0;
};

inline constexpr Mac kBroadcastMac{0xffffffffffffULL};

}  // namespace dvr
