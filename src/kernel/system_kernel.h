// The real KernelOps: Linux, through rtnetlink (kernel/rtnl.h), libnftables
// (kernel/nft.h), /proc/sys (kernel/sysctl.h), libnetfilter_conntrack (kernel/conntrack.h)
// and iproute2's named namespaces (kernel/netns.h).
//
// Handles are opened inside each namespace on first use and kept for the most recently
// used namespaces only: libnftables waits on its socket with select(), so descriptors
// must stay below FD_SETSIZE however many namespaces a host has.
#pragma once

#include <list>
#include <map>
#include <memory>
#include <string>

#include "kernel/kernel_ops.h"
#include "kernel/nft.h"
#include "kernel/rtnl.h"
#include "kernel/unique_fd.h"

namespace dvr::kernel {

class SystemNamespace : public NamespaceOps {
 public:
  explicit SystemNamespace(std::string ns);
  NetlinkOps& netlink() override { return rtnl(); }
  NftOps& nft() override;
  std::vector<std::string> readSysctls(const std::vector<const plan::Sysctl*>& keys) override;
  void writeSysctls(const std::vector<const plan::Sysctl*>& values) override;
  int flushConntrack(const std::vector<Ipv4>& to, const std::vector<Ipv4>& from) override;
  void announce(const std::string& dev, Ipv4 ip) override;

  Rtnl& rtnl();
  int fd() const { return fd_.get(); }

 private:
  std::string ns_;
  UniqueFd fd_;
  // Both made on first use: a step that only writes sysctls needs neither, and most
  // passes over a thousand namespaces need no nftables.
  std::unique_ptr<Rtnl> rtnl_;
  std::unique_ptr<Nft> nft_;
};

class SystemKernel : public KernelOps {
 public:
  std::vector<std::string> listNamespaces() override;
  void createNamespaces(const std::vector<std::string>& names) override;
  void deleteNamespace(const std::string& name) override;
  NamespaceOps& ns(const std::string& name) override { return handles(name); }
  void addVethPair(const plan::Link& first, bool up, const plan::Link& second) override;
  DaemonOps& daemons(const std::string& host) override;
  FastPathOps& fastPath() override;

 private:
  std::unique_ptr<FastPathOps> fast_path_;
  static constexpr size_t kMaxOpenNamespaces = 64;
  SystemNamespace& handles(const std::string& name);
  std::list<std::pair<std::string, SystemNamespace>> handles_;  // most recently used first
  std::map<std::string, std::list<std::pair<std::string, SystemNamespace>>::iterator> index_;
  std::map<std::string, std::unique_ptr<DaemonOps>> daemons_;  // by host
};

}  // namespace dvr::kernel
