// rtnetlink for one network namespace, through libnl-route-3: reads links, addresses,
// routes, rules, neighbours and FDB entries as plan objects, and changes them one by one.
// The socket is connected inside the namespace, so it may be used from any thread.
//
// Ownership: routes and rules are read back only when they carry plan::kRouteProtocol;
// the reconciler decides which links, addresses and neighbours are its own.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel/kernel_ops.h"
#include "plan/host_plan.h"

struct nl_sock;
struct rtnl_link;

namespace dvr::kernel {

class Rtnl : public NetlinkOps {
 public:
  Rtnl(int netns_fd, std::string ns_label);
  ~Rtnl() override;
  Rtnl(const Rtnl&) = delete;
  Rtnl& operator=(const Rtnl&) = delete;

  std::vector<ObservedLink> links() override;
  std::vector<plan::Address> addresses() override;
  std::vector<plan::Route> routes() override;
  std::vector<plan::Rule> rules() override;
  std::vector<plan::Neighbour> neighbours() override;  // permanent entries and proxy entries
  std::vector<plan::FdbEntry> fdb() override;  // static entries with a remote dst on VXLAN devices

  // Links are created with their MAC, MTU and master, and up if asked, in one request each
  // (as `ip link add … up`): at scale every round trip counts.
  void addBridge(const plan::Link& l, bool up) override;
  void addVxlan(const plan::Link& l, bool up) override;
  // Creates l in this namespace and its peer in the namespace `peer_netns_fd`. The kernel
  // neither brings a peer up (its end is not yet joined) nor sets its master: the caller
  // sets the peer once it exists.
  void addVethPair(const plan::Link& l, bool up, const plan::Link& peer, int peer_netns_fd);
  void setLink(const std::string& name, const plan::Link& want, bool up) override;
  // False when the link was already gone (a veth goes with its peer).
  bool deleteLink(const std::string& name) override;
  void addAddress(const plan::Address& a) override;
  void deleteAddress(const plan::Address& a) override;
  void replaceRoute(const plan::Route& r) override;
  void deleteRoute(const plan::Route& r) override;
  void addRule(const plan::Rule& r) override;
  void deleteRule(const plan::Rule& r) override;
  void replaceNeighbour(const plan::Neighbour& n) override;
  void deleteNeighbour(const plan::Neighbour& n) override;
  void appendFdb(const plan::FdbEntry& f) override;
  void deleteFdb(const plan::FdbEntry& f) override;

  int ifindex(const std::string& name);
  // The MAC this namespace resolved for ip on dev (a reachable, stale or permanent entry).
  std::optional<Mac> resolvedNeighbour(const std::string& dev, Ipv4 ip);

 private:
  void check(int rc, const std::string& what);
  void setCreationAttributes(rtnl_link* link, const plan::Link& l, bool up);
  // ifindex -> name, from the last dump; refreshed after links change through this object.
  const std::map<int, std::string>& linkNames();
  nl_sock* sock_ = nullptr;
  int raw_ = -1;  // plain rtnetlink socket for the dumps libnl does not cover
  std::map<std::string, int> ifindex_;
  std::map<int, std::string> names_;
  bool names_valid_ = false;
  std::string label_;
};

}  // namespace dvr::kernel
