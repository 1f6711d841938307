#include "kernel/system_kernel.h"

#include "kernel/bpf_fastpath.h"
#include "kernel/conntrack.h"
#include "kernel/daemons.h"
#include "kernel/garp.h"
#include "kernel/netns.h"
#include "kernel/sysctl.h"
#include "plan/render.h"

namespace dvr::kernel {

SystemNamespace::SystemNamespace(std::string ns) : ns_(std::move(ns)), fd_(openNetns(ns_)) {}

Rtnl& SystemNamespace::rtnl() {
  if (!rtnl_)
    rtnl_ = std::make_unique<Rtnl>(fd_.get(), ns_);
  return *rtnl_;
}

NftOps& SystemNamespace::nft() {
  if (!nft_)
    nft_ = std::make_unique<Nft>(fd_.get(), ns_);
  return *nft_;
}

std::vector<std::string> SystemNamespace::readSysctls(
    const std::vector<const plan::Sysctl*>& keys) {
  return kernel::readSysctls(fd_.get(), keys);
}

void SystemNamespace::writeSysctls(const std::vector<const plan::Sysctl*>& values) {
  kernel::writeSysctls(fd_.get(), values, plan::nsLabel(ns_));
}

int SystemNamespace::flushConntrack(const std::vector<Ipv4>& to, const std::vector<Ipv4>& from) {
  return kernel::flushConntrack(fd_.get(), to, from);
}

void SystemNamespace::announce(const std::string& dev, Ipv4 ip) {
  garpAnnounce(fd_.get(), dev, ip, plan::nsLabel(ns_));
}

DaemonOps& SystemKernel::daemons(const std::string& host) {
  auto& d = daemons_[host];
  if (!d)
    d = std::make_unique<SystemDaemons>(host);
  return *d;
}

std::vector<std::string> SystemKernel::listNamespaces() {
  return listNetns();
}

void SystemKernel::createNamespaces(const std::vector<std::string>& names) {
  createNetnses(names);
}

void SystemKernel::deleteNamespace(const std::string& name) {
  if (auto it = index_.find(name); it != index_.end()) {
    handles_.erase(it->second);
    index_.erase(it);
  }
  deleteNetns(name);
}

void SystemKernel::addVethPair(const plan::Link& first, bool up, const plan::Link& second) {
  int second_fd = handles(second.ns).fd();
  handles(first.ns).rtnl().addVethPair(first, up, second, second_fd);
}

FastPathOps& SystemKernel::fastPath() {
  if (!fast_path_) {
    fast_path_ = std::make_unique<BpfFastPath>(
        [this](const std::string& ns, const std::string& dev, Ipv4 ip) -> std::optional<Mac> {
          try {
            return handles(ns).rtnl().resolvedNeighbour(dev, ip);
          } catch (const KernelError&) {
            return std::nullopt;  // fip- or its fg- not there (yet)
          }
        });
  }
  return *fast_path_;
}

SystemNamespace& SystemKernel::handles(const std::string& name) {
  auto it = index_.find(name);
  if (it != index_.end()) {
    handles_.splice(handles_.begin(), handles_, it->second);
    return it->second->second;
  }
  handles_.emplace_front(std::piecewise_construct, std::forward_as_tuple(name),
                         std::forward_as_tuple(name));
  index_[name] = handles_.begin();
  if (handles_.size() > kMaxOpenNamespaces) {
    index_.erase(handles_.back().first);
    handles_.pop_back();
  }
  return handles_.front().second;
}

}  // namespace dvr::kernel
