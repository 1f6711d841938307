// What the reconciler needs from a host's kernel, as interfaces: rtnetlink and nftables
// per network namespace, sysctls and conntrack per namespace, and the namespaces
// themselves. The real implementation (kernel/system_kernel.h) talks to Linux; tests
// use a stateful fake (tests/fake_kernel.h) that refuses as the kernel does.
//
// Errors: every refusal throws KernelError carrying the errno (EEXIST, ENOENT, ENODEV …)
// and a message naming the operation, the object and the namespace. Callers decide
// "already done" by the code, never by the text.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kernel/nft_listing.h"
#include "plan/host_plan.h"

namespace dvr::kernel {

struct ObservedLink {
  plan::Link link;  // ns, name, kind (Adopted for kinds dvr does not make), mac, mtu, master, vni,
                    // local_ip; a veth's peer is not read back (the kernel names it by index)
  int ifindex = 0;
  bool up = false;
  bool carrier = false;  // IFF_LOWER_UP: the device can pass packets
  std::string kind;      // as the kernel says: "veth", "bridge", "vxlan", "" ...
};

// rtnetlink in one namespace. Routes and rules are read back only when they carry
// plan::kRouteProtocol; neighbours are permanent and proxy entries; FDB entries are the
// static ones with a remote dst.
class NetlinkOps {
 public:
  virtual ~NetlinkOps() = default;
  virtual std::vector<ObservedLink> links() = 0;
  virtual std::vector<plan::Address> addresses() = 0;
  virtual std::vector<plan::Route> routes() = 0;
  virtual std::vector<plan::Rule> rules() = 0;
  virtual std::vector<plan::Neighbour> neighbours() = 0;
  virtual std::vector<plan::FdbEntry> fdb() = 0;

  // Created with MAC, MTU and master, and up if asked, in one request each.
  virtual void addBridge(const plan::Link& l, bool up) = 0;
  virtual void addVxlan(const plan::Link& l, bool up) = 0;
  virtual void setLink(const std::string& name, const plan::Link& want, bool up) = 0;
  // False when the link was already gone (a veth goes with its peer).
  virtual bool deleteLink(const std::string& name) = 0;
  virtual void addAddress(const plan::Address& a) = 0;  // EEXIST if it is there
  virtual void deleteAddress(const plan::Address& a) = 0;
  virtual void replaceRoute(const plan::Route& r) = 0;
  virtual void deleteRoute(const plan::Route& r) = 0;
  virtual void addRule(const plan::Rule& r) = 0;  // EEXIST if the same rule is there
  virtual void deleteRule(const plan::Rule& r) = 0;
  virtual void replaceNeighbour(const plan::Neighbour& n) = 0;
  virtual void deleteNeighbour(const plan::Neighbour& n) = 0;
  virtual void appendFdb(const plan::FdbEntry& f) = 0;  // EEXIST if the same entry is there
  virtual void deleteFdb(const plan::FdbEntry& f) = 0;
};

// nftables in one namespace: each script is one transaction, all or nothing.
class NftOps {
 public:
  virtual ~NftOps() = default;
  virtual void run(const std::string& script) = 0;
  // The table `name` of each family that has one.
  virtual std::map<std::string, ObservedNftTable> listTables(const std::string& name) = 0;
};

// Everything dvr changes inside one network namespace.
class NamespaceOps {
 public:
  virtual ~NamespaceOps() = default;
  virtual NetlinkOps& netlink() = 0;
  virtual NftOps& nft() = 0;
  // sysctl(8) keys; "" for a key that does not exist (a device not there yet).
  virtual std::vector<std::string> readSysctls(const std::vector<const plan::Sysctl*>& keys) = 0;
  virtual void writeSysctls(const std::vector<const plan::Sysctl*>& values) = 0;
  // conntrack -D -d/-q each of `to`, -s each of `from`; returns how many flows went.
  virtual int flushConntrack(const std::vector<Ipv4>& to, const std::vector<Ipv4>& from) = 0;
  // Gratuitous ARPs for `ip` from `dev`'s MAC, broadcast on `dev`: the first at once, the
  // rest spaced after it without blocking the caller.
  virtual void announce(const std::string& dev, Ipv4 ip) = 0;
};

// The programs dvr runs on a host (plan::Daemon), by name.
class DaemonOps {
 public:
  virtual ~DaemonOps() = default;
  // Every daemon dvr keeps on this host, running or not.
  virtual std::vector<std::string> list() = 0;
  // Writes the files that differ; starts it when it is not running, or has it reload
  // (SIGHUP, once it handles it; a daemon that does not is started again) when a file
  // changed. What it did: "start", "reload", or "" (nothing).
  virtual std::string ensure(const plan::Daemon& d) = 0;
  // Stops it (SIGTERM, SIGKILL if it lingers) and removes what dvr kept for it.
  virtual void stop(const std::string& name) = 0;
  // Its process, or 0 when it is not running.
  virtual int pidOf(const std::string& name) = 0;
};

// The floating-IP fast path (src/bpf/fip_path.bpf.c) in the host namespace.
struct FastPathResult {
  std::vector<std::string> lines;       // one per change, in tc/bpftool syntax
  std::vector<std::string> waiting;     // devices not there yet: their entries wait
  std::vector<std::string> unresolved;  // next hops fip- has not resolved: entries wait
};

class FastPathOps {
 public:
  virtual ~FastPathOps() = default;
  // Makes the fast path match `want`, touching only the differences: attaches dvr's
  // programs where it says and detaches them where it does not (never another's), writes
  // the map entries that differ and deletes those it lacks, at once. A floating IP whose
  // device is missing or whose next hop is unresolved gets no entry in either direction
  // (its traffic takes the namespace path) until a later call can fill it.
  // `previous` (the reconciler's incremental run): the fast path the last apply was given.
  // The run then trusts what this object wrote last and touches only the entries that
  // differ between `previous` and `want` by key, plus those still waiting (no dump of the
  // maps, no query of its attachments, device indexes remembered); a full run (nullptr)
  // reads the kernel again and repairs drift.
  virtual FastPathResult apply(const plan::FastPath& want, const plan::FastPath* previous) = 0;
};

// One host's kernel: its owned namespaces by name ("" is the host's own namespace).
class KernelOps {
 public:
  virtual ~KernelOps() = default;
  virtual std::vector<std::string> listNamespaces() = 0;
  // Each new namespace holds only lo, up.
  virtual void createNamespaces(const std::vector<std::string>& names) = 0;
  // Its links go with it, and so do the other ends of its veths.
  virtual void deleteNamespace(const std::string& name) = 0;
  virtual NamespaceOps& ns(const std::string& name) = 0;
  virtual FastPathOps& fastPath() = 0;
  // A veth pair spans two namespaces: `first` in its namespace, up if asked, and
  // `second` in its own (down, without master: the kernel does neither for a peer).
  virtual void addVethPair(const plan::Link& first, bool up, const plan::Link& second) = 0;
  // The daemons of host `host` (a machine may hold several lab hosts).
  virtual DaemonOps& daemons(const std::string& host) = 0;
};

}  // namespace dvr::kernel
