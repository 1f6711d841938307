// The fast path on this host's kernel, through libbpf: loads the programs of src/bpf/
// (fip_path.bpf.c, east_west.bpf.c, snat_path.bpf.c; embedded in the binary as one bpftool
// skeleton), pins them and their maps under /sys/fs/bpf/dvr/ (mounting bpffs there if the system
// has not), attaches them on tc ingress (clsact, direct action) of host-namespace devices, and
// fills their maps from plan::FastPath.
//
// Ownership: dvr's filters are the ones at tc priority kFastPathPriority (dvr_fip_out,
// dvr_fip_in), kEastWestPriority (dvr_ew_out, first on a tap) or kSnatPriority
// (dvr_snat_out, after it; a tap has dvr_fip_out or dvr_snat_out, never both) with handle
// kFastPathHandle whose program is named so; anything else on a
// device (another priority, another program) is never touched, and a foreign filter at
// dvr's priority is an error naming it. Pinned objects survive the agent: a restarted
// agent reuses the pinned programs and maps, so attachments and entries stay in place
// and packets keep taking the fast path while it starts.
//
// Errors: KernelError naming the operation, the object and libbpf's errno.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kernel/kernel_ops.h"

struct dvr_ew_port_key;  // src/bpf/east_west.h
struct dvr_ew_port_val;
struct dvr_ew_dst_key;
struct dvr_ew_dst_val;

namespace dvr::kernel {

struct FipEntries;   // one floating IP's map entries (bpf_fastpath.cc)
struct SnatEntries;  // one VM's SNAT entries (bpf_fastpath.cc)

inline constexpr uint16_t kFastPathPriority = 0xdd;
inline constexpr uint16_t kEastWestPriority = 0xdc;
inline constexpr uint16_t kSnatPriority = 0xde;
inline constexpr uint32_t kFastPathHandle = 0xdd;
inline constexpr const char* kFastPathPinDir = "/sys/fs/bpf/dvr";

class BpfFastPath : public FastPathOps {
 public:
  // resolve(ns, dev, ip): the MAC namespace ns resolved for ip on dev, if any.
  using Resolver = std::function<std::optional<Mac>(const std::string&, const std::string&, Ipv4)>;
  explicit BpfFastPath(Resolver resolve, std::string pin_dir = kFastPathPinDir);
  ~BpfFastPath() override;
  BpfFastPath(const BpfFastPath&) = delete;
  BpfFastPath& operator=(const BpfFastPath&) = delete;

  FastPathResult apply(const plan::FastPath& want, const plan::FastPath* previous) override;

 private:
  bool pinned() const;
  void open();  // loads (or reuses the pinned) programs and maps
  void scanAttachments();
  int progFd(const std::string& program) const;
  unsigned ifindex(const std::string& dev);
  unsigned remembered(const std::string& dev) const;  // the index last used, 0 for none

  // A plan entry in kernel terms; nothing while a device or the next hop is missing.
  std::optional<Mac> nextHop(const plan::FipFastPath& e);
  std::optional<FipEntries> fipEntries(const plan::FipFastPath& e, FastPathResult& r);
  std::optional<std::pair<dvr_ew_port_key, dvr_ew_port_val>> ewPortEntry(
      const plan::EastWestPort& p, FastPathResult& r);
  std::optional<std::pair<dvr_ew_dst_key, dvr_ew_dst_val>> ewDstEntry(const plan::EastWestDest& d,
                                                                      FastPathResult& r);
  std::optional<SnatEntries> snatEntries(const plan::SnatFastPath& e, FastPathResult& r);
  // A full run (the whole plan against the kernel's maps and filters) and an incremental
  // one (only the entries that differ from the previous plan, and those still waiting).
  void applyFips(const plan::FastPath& want, FastPathResult& r);
  void applyFipChanges(const plan::FastPath& before, const plan::FastPath& want, FastPathResult& r);
  void applyEastWest(const plan::FastPath& want, FastPathResult& r);
  void applyEastWestChanges(const plan::FastPath& before, const plan::FastPath& want,
                            FastPathResult& r);
  void applySnat(const plan::FastPath& want, FastPathResult& r);
  void applySnatChanges(const plan::FastPath& before, const plan::FastPath& want,
                        FastPathResult& r);
  void applyAttachments(const plan::FastPath& want, FastPathResult& r);
  void applyAttachmentChanges(const plan::FastPath& before, const plan::FastPath& want,
                              FastPathResult& r);
  bool attach(const std::string& dev, const std::string& program, FastPathResult& r);
  void detach(const std::string& dev, const std::string& program, FastPathResult& r);

  // What the last apply wrote, in kernel terms (bpf_fastpath.cc), and the plan entries it
  // could not write yet: an incremental apply translates only the plan's changed entries
  // and checks them against it instead of dumping the maps (one more floating IP among
  // 10,000 costs its own entries). Not trusted after an apply that failed.
  struct Written;
  std::unique_ptr<Written> written_;
  bool written_valid_ = false;  // the last apply completed: written_ is what the maps hold
  bool trusted_ = false;        // this apply may use written_ and the remembered indexes
  std::map<std::string, unsigned> ifindexes_;
  std::map<std::string, uint32_t> prog_ids_;  // program name -> its id, for tc queries

  Resolver resolve_;
  std::string dir_;
  bool open_ = false;
  int prog_out_ = -1, prog_in_ = -1, prog_ew_ = -1;
  int map_out_ = -1, map_in_ = -1, map_local_ = -1, map_stats_ = -1;
  int map_ew_port_ = -1, map_ew_dst_ = -1, map_ew_stats_ = -1;
  int prog_snat_ = -1, map_snat_port_ = -1, map_snat_local_ = -1, map_snat_stats_ = -1;
  bool scanned_ = false;
  std::set<std::pair<std::string, std::string>> attached_;  // (dev, program)
};

// The programs' per-CPU counters, summed: [0] dvr_fip_out, [1] dvr_fip_in, [2] dvr_ew_out,
// [3] dvr_snat_out, by reason (src/bpf/fip_path.h: fast, error, then why it fell back). Empty when
// nothing is pinned.
struct FastPathCounters {
  std::vector<std::vector<uint64_t>> by_dir;
  bool empty() const { return by_dir.empty(); }
};
// "fast", "error", then the fall-back reasons ("not-ipv4" … "local-dst"); "" past them.
const char* fastPathReasonName(size_t reason);
// by_dir's index -> the program's name.
const char* fastPathProgramName(size_t index);
FastPathCounters readFastPathCounters(const std::string& pin_dir = kFastPathPinDir);
// One line per program: "dvr_fip_out: fast 3 error 0 fell-back not-ipv4 10 no-entry 2 …".
std::string renderFastPathCounters(const FastPathCounters& c);

// The map entries, one line each, as `bpftool map dump` would show them with device names
// and dotted addresses: "dvr_fip_in_map key eth1 192.168.74.104 value dnat 192.168.111.5 …".
std::vector<std::string> readFastPathEntries(const std::string& pin_dir = kFastPathPinDir);

// "" when this kernel loads and attaches the fast path's programs (tried in a throwaway
// network namespace, nothing pinned); else what failed, with the kernel's answer.
std::string fastPathUnsupported();

}  // namespace dvr::kernel
