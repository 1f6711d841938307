// Makes a host's kernel match its plan, applying only the difference, through KernelOps
// (kernel/kernel_ops.h): the system's kernel by default, a fake one in tests.
//
// One algorithm, two sources of "before": a full reconcile reads the kernel (repairs any
// drift); an incremental one takes the plan it applied last and reads nothing, so one
// more floating IP costs the same however many exist. Each object kind is described
// once (kernel/object_kinds.h); the order of the steps is written once, in apply().
//
// Owned objects: namespaces named qrouter-/fip-/snat-; every link, address, permanent or
// proxy neighbour inside them; brq*/vxlan-* links, the links the plan names and their FDB
// entries in the host namespace; routes and rules with protocol plan::kRouteProtocol;
// nftables tables named "dvr"; the fast path's tc filters, programs and maps
// (kernel/bpf_fastpath.h). Anything else is never touched, except that adopted
// devices (uplinks, VM taps) are enslaved to their bridge and set up.
//
// Errors: a kernel refusal throws KernelError, naming the operation, the object and the
// namespace. Refusals that mean the kernel already matches ("exists" on an add, "gone" on
// a removal, by errno) are neither errors nor changes. The state a failure leaves is
// consistent (no half-made veth pairs); the next full run completes the rest.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "kernel/kernel_ops.h"
#include "kernel/state_before.h"
#include "plan/host_plan.h"

namespace dvr::kernel {

struct ReconcileResult {
  int changes = 0;                   // kernel objects created, changed or deleted
  std::vector<std::string> log;      // one line per change, in ip/bridge/nft syntax
  std::vector<std::string> waiting;  // adopted devices not present yet (e.g. a VM not plugged)
  // Namespaces whose incremental nftables change the kernel refused (it was not as the
  // last plan left it: drift), reconciled again against the kernel's listing.
  std::vector<std::string> nft_relisted;
  // Fast-path next hops not resolved yet: those floating IPs take the namespace path
  // (whose first packet resolves them) until a later reconcile fills their entries.
  std::vector<std::string> unresolved;
  // Wall time of each step, in order, for benchmarks and slow-start diagnosis:
  // ("links", 812.4) …
  std::vector<std::pair<std::string, double>> step_ms;
};

// StateBefore (kernel/state_before.h): the observed kernel, or the previous plan.
class Reconciler {
 public:
  // On this system's kernel; `log` receives each change as it is made (may be empty).
  explicit Reconciler(std::function<void(const std::string&)> log = {});
  // On `kernel`, which must outlive the reconciler.
  explicit Reconciler(KernelOps& kernel, std::function<void(const std::string&)> log = {});
  ~Reconciler();

  // Called after each step with its name and wall time: a long cold start reports its
  // progress as it goes (the agent does on a terminal).
  void onStep(std::function<void(const std::string& step, double ms)> progress) {
    progress_ = std::move(progress);
  }

  // Full reconcile: every namespace is read and compared.
  ReconcileResult apply(const plan::HostPlan& plan) { return apply(plan, nullptr); }
  // Incremental: `previous` is the plan applied last (by this reconciler, successfully).
  // Drift is left for the next full reconcile.
  ReconcileResult apply(const plan::HostPlan& plan, const plan::HostPlan* previous);

 private:
  void change(ReconcileResult& r, std::string line);
  bool gone(const std::string& ns) const { return removed_ns_.count(ns) != 0; }
  bool fresh(const std::string& ns) const { return created_ns_.count(ns) != 0; }

  void namespaces(StateBefore& before, const plan::HostPlan& p, ReconcileResult& r);
  // Namespace-wide sysctls are written at once (new devices inherit them); a device's
  // own are queued for writeDeviceSysctls, once its device exists.
  void sysctls(StateBefore& before, const plan::HostPlan& p, ReconcileResult& r);
  void links(StateBefore& before, const plan::HostPlan& p, ReconcileResult& r);
  // Creates l (with its peer, for a veth) with the attributes the kernel takes at
  // creation; what must wait for device sysctls or for the peer is queued for raiseLinks.
  // One made by an earlier run this reconciler did not see is set instead.
  void createLink(const plan::Link& l, const plan::Link* peer, ReconcileResult& r);
  void makeLink(const plan::Link& l, const plan::Link* peer, ReconcileResult& r);
  bool alreadyMade(const plan::Link& l, const plan::Link* peer);
  void raiseLinks();
  void writeDeviceSysctls(const plan::HostPlan& p, ReconcileResult& r);
  // Addresses, neighbours, routes, FDB entries and rules: one diff each, same rules.
  template <class T>
  void objects(const std::vector<T>& before, const std::vector<T>& want, ReconcileResult& r);
  // Also notes, per namespace, the flows a floating IP change moves.
  void nftables(const std::map<std::string, StateBefore::NftTables>& sides, const plan::HostPlan& p,
                ReconcileResult& r);
  void flushMovedFlows(const plan::HostPlan& p, ReconcileResult& r);
  // The plan's daemons: those it dropped stopped, the others running its files.
  void stopDaemons(const plan::HostPlan& p, ReconcileResult& r);
  // Of the devices that lost an address this run, keeps those left with none.
  void keepDevicesLeftWithoutAddress(const std::vector<plan::Address>& before,
                                     const std::vector<plan::Address>& wanted);
  // The planned routes through a device left without an address this run, put back.
  void routesOfRenumberedDevices(const plan::HostPlan& p, ReconcileResult& r);
  void startDaemons(const plan::HostPlan& p, ReconcileResult& r);
  // Gratuitous ARPs for the plan's announcements whose address appeared, once the path
  // behind them is complete.
  void announce(const plan::HostPlan& p, ReconcileResult& r);
  void fastPath(const plan::HostPlan& p, const plan::HostPlan* previous, ReconcileResult& r);

  std::unique_ptr<KernelOps> owned_kernel_;
  KernelOps& kernel_;
  std::function<void(const std::string&)> log_;
  std::function<void(const std::string&, double)> progress_;

  // State of one apply().
  bool incremental_ = false;
  std::set<std::string> created_ns_, removed_ns_;
  std::set<std::pair<std::string, std::string>> created_links_;  // (ns, name), this run
  // Those of created_links_ that "before" had under the same name (or whose veth peer
  // it had): recreated, so what hung on them is gone.
  std::set<std::pair<std::string, std::string>> recreated_links_;
  std::vector<const plan::Link*> to_raise_;                     // into the plan being applied
  std::set<std::pair<std::string, std::string>> lost_address_;  // (ns, dev), this run
  std::map<std::string, std::vector<const plan::Sysctl*>> device_sysctls_;  // ns -> queued

  // Flows a floating IP change moves, noted once its nftables change is made, flushed
  // after the rules. Kept across runs: a run that fails before its flush leaves them to
  // the next, which finds the tables already right.
  struct MovedFlows {
    std::vector<Ipv4> removed_fips, new_fixed_ips;
  };
  std::map<std::string, MovedFlows> to_flush_;
  // External addresses put in place (an address added, a proxy entry added), announced at
  // the end of a run. Kept across runs like to_flush_: a run that fails after adding one
  // leaves it to the next, which finds it already there.
  std::set<std::tuple<std::string, std::string, Ipv4>> appeared_;  // (ns, dev, ip)
};

bool isOwnedNamespace(const std::string& name);
// "" (the host's own namespace) followed by the plan's namespaces.
std::vector<std::string> allNamespaces(const plan::HostPlan& p);

}  // namespace dvr::kernel
