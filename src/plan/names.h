// Neutron's device and namespace names: prefix + id, cut to Linux's 14 characters
// (3-letter prefixes keep 11 characters of the id, 4-letter ones 10).
#pragma once

#include <string>

namespace dvr::plan::names {

inline constexpr size_t kDevNameLen = 14;  // Neutron's LINUX_DEV_LEN

inline std::string device(const std::string& prefix, const std::string& id) {
  return (prefix + id).substr(0, kDevNameLen);
}
inline std::string qrouterNs(const std::string& router_id) {
  return "qrouter-" + router_id;
}
inline std::string snatNs(const std::string& router_id) {
  return "snat-" + router_id;
}
inline std::string fipNs(const std::string& ext_net_id) {
  return "fip-" + ext_net_id;
}
inline std::string qr(const std::string& port_id) {
  return device("qr-", port_id);
}
inline std::string qg(const std::string& port_id) {
  return device("qg-", port_id);
}
inline std::string sg(const std::string& port_id) {
  return device("sg-", port_id);
}
inline std::string fg(const std::string& port_id) {
  return device("fg-", port_id);
}
inline std::string ha(const std::string& port_id) {
  return device("ha-", port_id);
}
inline std::string dhcpDev(const std::string& port_id) {
  return device("ns-", port_id);
}  // a DHCP port's end in qdhcp-, as Neutron's interface driver names it
inline std::string tap(const std::string& port_id) {
  return device("tap", port_id);
}
inline std::string rfp(const std::string& router_id) {
  return device("rfp-", router_id);
}
inline std::string fpr(const std::string& router_id) {
  return device("fpr-", router_id);
}
inline std::string bridge(const std::string& network_id) {
  return device("brq", network_id);
}  // linuxbridge agent
inline std::string vxlan(uint32_t vni) {
  return "vxlan-" + std::to_string(vni);
}

}  // namespace dvr::plan::names
