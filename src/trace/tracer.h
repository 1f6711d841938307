// Walks a symbolic packet through the plans of a cloud's hosts, hop by hop, the way the
// kernel would: bridge FDB, nftables bridge rules, policy rules, routes, neighbours,
// NAT with conntrack, proxy ARP, VXLAN encapsulation. Pure: reads plans, never the system.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/cloud.h"
#include "plan/host_plan.h"

namespace dvr::trace {

enum class Proto { Icmp, Tcp, Udp };
const char* protoName(Proto p);

struct Packet {
  Mac src_mac, dst_mac;
  Ipv4 src_ip, dst_ip;
  Proto proto = Proto::Icmp;
  uint16_t sport = 0, dport = 0;
};

struct Encap {  // VXLAN outer headers while on the underlay
  Ipv4 src, dst;
  uint32_t vni = 0;
};

enum Field : unsigned { kSrcMac = 1, kDstMac = 2, kSrcIp = 4, kDstIp = 8 };

struct Hop {
  std::string host;   // cloud host, VM, "underlay", or the external network's name
  std::string where;  // namespace / bridge / node label
  std::string in_dev, out_dev;
  std::vector<std::string> decisions;  // why the packet went where it went
  Packet packet;                       // headers after this hop
  unsigned changed = 0;                // Field bits rewritten at this hop
  std::optional<Encap> encap;
};

struct Path {
  std::string title;
  std::vector<Hop> hops;
  bool delivered = false;
  std::string verdict;  // "delivered to internet (8.8.8.8)" or "dropped in ...: why"
};

struct TraceResult {
  Path forward;
  std::optional<Path> reply;  // present when the forward path was delivered
};

struct TraceRequest {
  std::string from;  // VM name, external host name, or an IP of either
  std::string to;    // same
  Proto proto = Proto::Icmp;
  uint16_t dport = 0;
  bool with_reply = true;
};

// Throws InputError when `from`/`to` name nothing in the cloud.
TraceResult tracePacket(const model::Cloud& cloud, const std::vector<plan::HostPlan>& plans,
                        const TraceRequest& request);

}  // namespace dvr::trace
