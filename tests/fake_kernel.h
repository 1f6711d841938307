// A stateful fake of a host's kernel for the reconciler (kernel::KernelOps), in the spirit
// of Open/R's MockNetlinkProtocolSocket: per-namespace links, addresses, routes, rules,
// neighbours, FDB entries, sysctls, nftables tables and conntrack flows. It refuses as
// the kernel does — EEXIST on a duplicate, ENOENT/ENODEV/ESRCH/EADDRNOTAVAIL on what is
// missing, a veth peer's namespace and a master bridge that must exist, a VNI taken — and
// objects go with their device and namespace. Every change is recorded, in order.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "kernel/kernel_ops.h"

namespace dvr::test {

class FakeKernel : public kernel::KernelOps {
 public:
  FakeKernel();
  ~FakeKernel() override;

  std::vector<std::string> listNamespaces() override;
  void createNamespaces(const std::vector<std::string>& names) override;
  void deleteNamespace(const std::string& name) override;
  kernel::NamespaceOps& ns(const std::string& name) override;
  kernel::DaemonOps& daemons(const std::string& host) override;
  void addVethPair(const plan::Link& first, bool up, const plan::Link& second) override;
  kernel::FastPathOps& fastPath() override;

  // The fast path: next hops fip- has not resolved (the default: all resolved, as MAC
  // 02:00:00:00:00:01), and a foreign program at dvr's tc priority on a device.
  void unresolveNextHop(Ipv4 ip) { unresolved_.insert(ip); }
  void resolveNextHop(Ipv4 ip) { unresolved_.erase(ip); }
  void addForeignFilter(const std::string& dev) { foreign_filters_.insert(dev); }
  // The fast-path map entries, one line each: "fip <floating> <fixed> <tap> <ext>".
  std::vector<std::string> fastPathEntries() const;

  // A device dvr did not make (a VM's tap, an uplink), down and without master.
  void addDevice(const std::string& ns, const std::string& name);
  void removeDevice(const std::string& ns, const std::string& name);
  bool hasLink(const std::string& ns, const std::string& name) const;
  // The daemons running, by host: name -> the files they were started or reloaded with.
  struct Daemons : kernel::DaemonOps {
    FakeKernel* k = nullptr;
    std::map<std::string, plan::Daemon> running;
    std::vector<std::string> list() override;
    std::string ensure(const plan::Daemon& d) override;
    void stop(const std::string& name) override;
    int pidOf(const std::string& name) override { return running.count(name) ? 1 : 0; }
  };
  std::map<std::string, Daemons> daemons_by_host;
  // A tracked connection in `ns`, for the flush after floating IP changes.
  void addFlow(const std::string& ns, Ipv4 src, Ipv4 dst);
  size_t flows(const std::string& ns) const;

  // The whole state, one sorted line per object: equal dumps are equal kernels.
  std::vector<std::string> dump() const;

  // Each change, in order: "<op> <ns>|<object>", e.g. "link add qrouter-x|qr-1 master=".
  const std::vector<std::string>& ops() const { return ops_; }
  void clearOps() {
    ops_.clear();
    announced_.clear();
  }
  // Each gratuitous ARP announcement, in order: "<ns>|<dev> <ip>". Not a change: the
  // kernel's state stays as it was.
  const std::vector<std::string>& announced() const { return announced_; }
  // Each nft command of each transaction that succeeded, in order, as sent (one line
  // each, whole tables as their first line "table F N {"), prefixed "<ns>|".
  const std::vector<std::string>& nftCommands() const { return nft_commands_; }
  // How many times dvr listed nftables tables (an incremental reconcile lists none,
  // unless a refused transaction sent it back to the kernel's word).
  int nftListings() const { return nft_listings_; }
  // Refuses the n-th change from now (1-based) with `err`; 0 turns it off.
  void refuseChange(int n, int err = EPERM) {
    refuse_at_ = n;
    refuse_err_ = err;
  }

  struct State;  // fake_kernel.cc
  class Namespace;

 private:
  friend class Namespace;
  // Counts a change; throws the refusal when it is the one chosen.
  void record(const std::string& op, const std::string& what);
  std::unique_ptr<State> state_;
  std::map<std::string, std::unique_ptr<Namespace>> handles_;
  std::vector<std::string> ops_, announced_;
  std::vector<std::string> nft_commands_;
  int nft_listings_ = 0;
  int refuse_at_ = 0, refuse_err_ = 0;
  class FastPath;
  std::unique_ptr<FastPath> fast_path_;
  std::set<Ipv4> unresolved_;
  std::set<std::string> foreign_filters_;
};

// What FakeKernel::dump() gives for a kernel that holds exactly `p` (and the devices
// the test added with addDevice), for comparing a reconcile's result with its plan.
std::vector<std::string> expectedDump(const plan::HostPlan& p);

}  // namespace dvr::test
