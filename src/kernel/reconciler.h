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
#include <list>
#include <map>
#include <memory>
#include <set>
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
  // Wall time of each step of a full reconcile, in order, for benchmarks and slow-start
  // diagnosis: ("links", 812.4) …
  std::vector<std::pair<std::string, double>> step_ms;
};

class Reconciler {
 public:
  // `log` receives each change as it is made (may be empty).
  explicit Reconciler(std::function<void(const std::string&)> log = {});
  ~Reconciler();

  // Full reconcile: every namespace is read and compared (repairs any drift).
  ReconcileResult apply(const plan::HostPlan& plan) { return apply(plan, nullptr); }
  // Incremental: `previous` is the plan applied last (by this reconciler, successfully).
  // Only the difference between the two plans is applied, without reading the kernel,
  // so one more floating IP costs the same however many exist. Drift is left for the
  // next full reconcile. Removing what is already gone is not an error.
  ReconcileResult apply(const plan::HostPlan& plan, const plan::HostPlan* previous);

 private:
  // Per-namespace handles, created inside the namespace. Kept for the most recently used
  // namespaces only: libnftables waits on its socket with select(), so descriptors must
  // stay below FD_SETSIZE however many namespaces a host has.
  struct Handles {
    std::string ns;
    UniqueFd fd;
    // Both made on first use: a step that only writes sysctls needs neither, and most
    // passes over a thousand namespaces need no nftables.
    Rtnl& rtnl() {
      if (!rtnl_)
        rtnl_ = std::make_unique<Rtnl>(fd.get(), ns);
      return *rtnl_;
    }
    Nft& nft() {
      if (!nft_)
        nft_ = std::make_unique<Nft>(fd.get(), ns);
      return *nft_;
    }

   private:
    std::unique_ptr<Rtnl> rtnl_;
    std::unique_ptr<Nft> nft_;
  };
  static constexpr size_t kMaxOpenNamespaces = 64;
  Handles& handles(const std::string& ns);
  void forget(const std::string& ns);
  void change(ReconcileResult& r, std::string line);

  void namespaces(const plan::HostPlan& p, ReconcileResult& r);
  void links(const plan::HostPlan& p, ReconcileResult& r);
  // Creates l (with its peer, for a veth) with all the attributes the kernel takes at
  // creation; what must wait for per-device sysctls or for the peer to exist is queued
  // for raiseLinks().
  void createLink(const plan::Link& l, const plan::Link* peer);
  // Sets up (MAC, MTU, master, up) the links creation left down.
  void raiseLinks();
  void addresses(const plan::HostPlan& p, ReconcileResult& r);
  // Namespace-wide keys (all./default., ip_forward) go before links, so new devices
  // inherit them (no IPv6 setup on devices that never use it); per-device keys after.
  void sysctls(const plan::HostPlan& p, ReconcileResult& r, bool namespace_wide);
  void writeSysctlOf(const plan::Sysctl& s, ReconcileResult& r);
  void neighbours(const plan::HostPlan& p, ReconcileResult& r);
  void routes(const plan::HostPlan& p, ReconcileResult& r);
  void fdb(const plan::HostPlan& p, ReconcileResult& r);
  // Also notes, per namespace, the floating IPs gone and the fixed IPs that gained one.
  void nftables(const plan::HostPlan& p, ReconcileResult& r);
  // Last but the flush: a rule is what moves a VM's traffic onto (or off) its floating
  // IP's path, and flows tracked on the old path keep their old NAT until flushed.
  void rules(const plan::HostPlan& p, ReconcileResult& r);
  // Flows a floating IP change moves, noted once its nftables change is made and flushed
  // after the rules (both reconcile paths).
  void noteMovedFlows(const std::string& ns, const std::vector<Ipv4>& removed_fips,
                      const std::vector<Ipv4>& new_fixed_ips);
  void flushMovedFlows(const plan::HostPlan& p, ReconcileResult& r);

  ReconcileResult applyDelta(const plan::HostPlan& p,
                             const plan::HostPlan& previous);  // reconciler_delta.cc
  // Conntrack around floating IP changes in a qrouter-: flows to a removed floating IP
  // go; flows from a fixed IP that just got one go too, so they restart NATed.
  void flushConntrackOf(const std::string& ns, const std::vector<Ipv4>& removed_fips,
                        const std::vector<Ipv4>& new_fixed_ips, ReconcileResult& r);

  // Namespaces this full reconcile created: they hold nothing but lo, so reading them
  // back is skipped (the cold start of a host with a thousand routers).
  std::set<std::string> created_;
  bool fresh(const std::string& ns) const { return created_.count(ns) != 0; }
  std::vector<const plan::Link*> to_raise_;  // into the plan being applied
  struct MovedFlows {
    std::vector<Ipv4> removed_fips, new_fixed_ips;
  };
  std::map<std::string, MovedFlows> to_flush_;  // namespace -> what nftables() saw change

  std::list<std::pair<std::string, Handles>> handles_;  // most recently used first
  std::map<std::string, std::list<std::pair<std::string, Handles>>::iterator> handle_index_;
  std::function<void(const std::string&)> log_;
};

bool isOwnedNamespace(const std::string& name);
// all./default. keys and keys of no device (ip_forward), as opposed to a device's own.
bool isNamespaceWideSysctl(const std::string& key);
// "ip -n NS " for log lines about NS ("" for the host's own namespace).
std::string nsCommandPrefix(const std::string& ns);
// "" (the host's own namespace) followed by the plan's namespaces.
std::vector<std::string> allNamespaces(const plan::HostPlan& p);

}  // namespace dvr::kernel
