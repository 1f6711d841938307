#include "model/net.h"

#include <charconv>
#include <cstdio>

namespace dvr {
namespace {

std::optional<uint32_t> parseDecimal(std::string_view text, uint32_t max) {
  if (text.empty() || text.size() > 10) {
    return std::nullopt;
  }
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) {
    return std::nullopt;
  }
  return value;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<Ipv4> Ipv4::parse(std::string_view text) {
  uint32_t value = 0;
  for (int octet = 0; octet < 4; ++octet) {
    size_t dot = text.find('.');
    std::string_view part = octet < 3 ? text.substr(0, dot) : text;
    if ((octet < 3 && dot == std::string_view::npos) ||
        (octet == 3 && part.find('.') != part.npos)) {
      return std::nullopt;
    }
    if (part.size() > 1 && part[0] == '0') {
      return std::nullopt;  // leading zeros are ambiguous (octal in inet_aton)
    }
    auto byte = parseDecimal(part, 255);
    if (!byte) {
      return std::nullopt;
    }
    value = (value << 8) | *byte;
    if (octet < 3) {
      text.remove_prefix(dot + 1);
    }
  }
  return Ipv4(value);
}

std::string Ipv4::str() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", value_ >> 24, (value_ >> 16) & 255,
                (value_ >> 8) & 255, value_ & 255);
  return buf;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  auto addr = Ipv4::parse(text.substr(0, slash));
  auto len = parseDecimal(text.substr(slash + 1), 32);
  if (!addr || !len) {
    return std::nullopt;
  }
  return Cidr{*addr, static_cast<uint8_t>(*len)};
}

bool Cidr::overlaps(const Cidr& other) const {
  uint8_t shorter = std::min(len, other.len);
  Cidr wide{addr, shorter};
  return wide.contains(other.addr);
}

std::string Cidr::str() const {
  return addr.str() + "/" + std::to_string(len);
}

std::optional<Mac> Mac::parse(std::string_view text) {
  if (text.size() != 17) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (int i = 0; i < 6; ++i) {
    int hi = hexDigit(text[i * 3]);
    int lo = hexDigit(text[i * 3 + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != ':')) {
      return std::nullopt;
    }
    value = (value << 8) | static_cast<uint64_t>(hi * 16 + lo);
  }
  return Mac(value);
}

std::array<uint8_t, 6> Mac::bytes() const {
  std::array<uint8_t, 6> out{};
  for (int i = 0; i < 6; ++i) {
    out[i] = static_cast<uint8_t>(value_ >> (8 * (5 - i)));
  }
  return out;
}

std::string Mac::str() const {
  auto b = bytes();
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
                b[5]);
  return buf;
}

}  // namespace dvr
