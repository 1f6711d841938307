// "Before" for a reconcile: what the kernel holds now, in the plan's terms. Either read
// from the kernel (a full reconcile; only dvr's own objects, see kernel/reconciler.h) or
// taken from the plan applied last (incremental; nothing is read).
//
// Each kind is asked for when its step comes, after the steps before it have run: a full
// reconcile reads addresses once links are made, so it sees what their recreation left.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "kernel/kernel_ops.h"
#include "kernel/nft_apply.h"
#include "plan/host_plan.h"

namespace dvr::kernel {

class StateBefore {
 public:
  virtual ~StateBefore() = default;
  virtual std::vector<std::string> namespaces() = 0;  // dvr's own
  // Namespaces just made hold nothing but lo: nothing in them needs reading.
  void namespacesMade(const std::set<std::string>& made) { fresh_ = made; }
  virtual const std::vector<plan::Sysctl>& sysctls() = 0;
  virtual const std::vector<plan::Link>& links() = 0;
  // Links made again this run, (ns, name): whatever hung on the old device went with it.
  void linksRecreated(const std::set<std::pair<std::string, std::string>>& made) { made_ = &made; }
  virtual const std::vector<plan::Address>& addresses() = 0;
  virtual const std::vector<plan::Neighbour>& neighbours() = 0;
  virtual const std::vector<plan::Route>& routes() = 0;
  virtual const std::vector<plan::FdbEntry>& fdb() = 0;
  virtual const std::vector<plan::Rule>& rules() = 0;
  // For each namespace whose nftables tables may differ from the plan's: what it holds,
  // and the plan's tables. Both may leave out elements they have in common (an
  // incremental change of a table whose structure stays renders only what changed).
  struct NftTables {
    NftTablesByFamily have;
    std::vector<plan::NftTable> want;
  };
  virtual std::map<std::string, NftTables> nftTables() = 0;

 protected:
  bool fresh(const std::string& ns) const { return fresh_.count(ns) != 0; }
  std::set<std::string> fresh_;
  const std::set<std::pair<std::string, std::string>>* made_ = nullptr;
};

// The kernel's state, read through `kernel`, projected onto `want`: attributes the plan
// leaves to the kernel (an unset MAC or MTU) are not compared, adopted devices are
// compared only for master and up, and a veth counts as paired only if its planned
// peer is there.
std::unique_ptr<StateBefore> observedState(KernelOps& kernel, const plan::HostPlan& want);
// The previous plan, against `want` (for the namespaces whose nftables may differ).
std::unique_ptr<StateBefore> previousPlanState(const plan::HostPlan& previous,
                                               const plan::HostPlan& want);

}  // namespace dvr::kernel
