// Makes a host's kernel match its plan: reads the actual state of every namespace the
// plan names (and of the dvr-owned ones it does not), and applies only the difference,
// through netlink (kernel/rtnl.h) and nftables transactions (kernel/nft.h).
//
// Owned objects: namespaces named qrouter-/fip-/snat-; every link, address, permanent or
// proxy neighbour inside them; brq*/vxlan-* links and their FDB entries in the host
// namespace; routes and rules with protocol plan::kRouteProtocol; nftables tables named
// "dvr". Anything else is never touched, except that adopted devices (uplinks, VM taps)
// are enslaved to their bridge and set up.
//
// Errors: a kernel refusal throws, naming the operation and namespace. The state it
// leaves is consistent (no half-made veth pairs); the next run completes the rest.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernel/nft.h"
#include "kernel/rtnl.h"
#include "kernel/unique_fd.h"
#include "plan/host_plan.h"

namespace dvr::kernel {

struct ReconcileResult {
  int changes = 0;                   // kernel objects created, changed or deleted
  std::vector<std::string> log;      // one line per change, in ip/bridge/nft syntax
  std::vector<std::string> waiting;  // adopted devices not present yet (e.g. a VM not plugged)
};

class Reconciler {
 public:
  // `log` receives each change as it is made (may be empty).
  explicit Reconciler(std::function<void(const std::string&)> log = {});
  ~Reconciler();

  ReconcileResult apply(const plan::HostPlan& plan);

 private:
  struct Handles {
    UniqueFd fd;
    std::unique_ptr<Rtnl> rtnl;
    std::unique_ptr<Nft> nft;
  };
  Handles& handles(const std::string& ns);
  void change(ReconcileResult& r, std::string line);

  void namespaces(const plan::HostPlan& p, ReconcileResult& r);
  void links(const plan::HostPlan& p, ReconcileResult& r);
  void addresses(const plan::HostPlan& p, ReconcileResult& r);
  void sysctls(const plan::HostPlan& p, ReconcileResult& r);
  void neighbours(const plan::HostPlan& p, ReconcileResult& r);
  void routesAndRules(const plan::HostPlan& p, ReconcileResult& r);
  void fdb(const plan::HostPlan& p, ReconcileResult& r);
  void nftables(const plan::HostPlan& p, ReconcileResult& r);

  std::map<std::string, Handles> handles_;
  std::function<void(const std::string&)> log_;
};

bool isOwnedNamespace(const std::string& name);

}  // namespace dvr::kernel
