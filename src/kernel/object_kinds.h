// Each kind of kernel object dvr owns, described once: what identifies it (what the
// kernel keys it by), its content (everything that must match), the device it hangs on
// (it goes when that device is recreated), how it is added and removed through
// NetlinkOps, which refusals mean "already done", and its log line in ip/bridge syntax.
// Links, sysctls and nftables have steps of their own in the reconciler but share the
// identities and lines here.
//
// diff() compares two lists of one kind — the kernel's observed objects or the last
// applied plan, against the new plan — and is the one comparison both reconcile paths use.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "kernel/kernel_ops.h"
#include "kernel/unique_fd.h"
#include "plan/host_plan.h"

namespace dvr::kernel {

// Field hashing without building strings: a plan diff must cost far less than the
// kernel work it saves (tens of thousands of objects per host).
struct FieldHash {
  uint64_t h = 0xcbf29ce484222325ULL;
  FieldHash& operator<<(std::string_view s) { return *this << std::hash<std::string_view>()(s); }
  FieldHash& operator<<(uint64_t v) {
    h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    return *this;
  }
};

// "ip -n NS " / "ip " (the host's own namespace), and "ip netns exec NS " for tools
// without a namespace option (sysctl, nft, conntrack).
std::string ipCommand(const std::string& ns);
std::string inNamespace(const std::string& ns);

// The refusals that mean the kernel already matches.
inline bool isExists(int err) {
  return err == EEXIST;
}
inline bool isGone(int err) {
  return err == ENOENT || err == ENODEV || err == ESRCH || err == EADDRNOTAVAIL;
}
// Runs `op`; false (and nothing to log) when the kernel answers with a code `fine`
// accepts; any other refusal propagates.
template <class F, class Fine>
bool changed(F op, Fine fine) {
  try {
    op();
    return true;
  } catch (const KernelError& e) {
    if (fine(e.err()))
      return false;
    throw;
  }
}

template <class T>
struct ObjectKind;

template <>
struct ObjectKind<plan::Link> {
  static uint64_t id(const plan::Link& l) { return (FieldHash() << l.ns << l.name).h; }
  static uint64_t content(const plan::Link& l);
  // `ip link set` changes MAC, MTU, master and up; anything else means a new link.
  static bool needsRecreate(const plan::Link& have, const plan::Link& want) {
    return have.kind != want.kind || have.peer != want.peer || have.peer_ns != want.peer_ns ||
           have.vni != want.vni || have.local_ip != want.local_ip;
  }
  static std::string addLine(const plan::Link& l);
  static std::string setLine(const plan::Link& l);
  static std::string removeLine(const std::string& ns, const std::string& name);
};

template <>
struct ObjectKind<plan::Address> {
  static uint64_t id(const plan::Address& a) {
    return (FieldHash() << a.ns << a.dev << a.cidr.addr.value() << a.cidr.len).h;
  }
  static uint64_t content(const plan::Address& a) { return id(a); }
  static const std::string& device(const plan::Address& a) { return a.dev; }
  static void add(NetlinkOps& nl, const plan::Address& a) { nl.addAddress(a); }
  static void remove(NetlinkOps& nl, const plan::Address& a) { nl.deleteAddress(a); }
  static bool addedAlready(int err) { return isExists(err); }
  static std::string addLine(const plan::Address& a);
  static std::string removeLine(const plan::Address& a);
};

template <>
struct ObjectKind<plan::Neighbour> {
  static uint64_t id(const plan::Neighbour& n) {
    return (FieldHash() << n.ns << n.dev << n.proxy << n.ip.value()).h;
  }
  // A proxy entry has no MAC.
  static uint64_t content(const plan::Neighbour& n) {
    return n.proxy ? id(n) : (FieldHash() << id(n) << n.mac.value()).h;
  }
  static const std::string& device(const plan::Neighbour& n) { return n.dev; }
  static void add(NetlinkOps& nl, const plan::Neighbour& n) { nl.replaceNeighbour(n); }
  static void remove(NetlinkOps& nl, const plan::Neighbour& n) { nl.deleteNeighbour(n); }
  static bool addedAlready(int) { return false; }  // a replace cannot find one there
  static std::string addLine(const plan::Neighbour& n);
  static std::string removeLine(const plan::Neighbour& n);
};

template <>
struct ObjectKind<plan::Route> {
  static uint64_t id(const plan::Route& r) {
    return (FieldHash() << r.ns << r.table << r.dst.addr.value() << r.dst.len).h;
  }
  static uint64_t content(const plan::Route& r) {
    return (FieldHash() << id(r) << (r.via ? r.via->value() : 1ULL << 40) << r.dev).h;
  }
  static const std::string& device(const plan::Route& r) { return r.dev; }
  static void add(NetlinkOps& nl, const plan::Route& r) { nl.replaceRoute(r); }
  static void remove(NetlinkOps& nl, const plan::Route& r) { nl.deleteRoute(r); }
  static bool addedAlready(int) { return false; }
  static std::string addLine(const plan::Route& r);
  static std::string removeLine(const plan::Route& r);
};

template <>
struct ObjectKind<plan::Rule> {
  static uint64_t id(const plan::Rule& r) {
    return (FieldHash() << r.ns << r.priority << r.table << r.iif
                        << (r.from ? r.from->addr.value() : 1ULL << 40)
                        << (r.from ? r.from->len : 99))
        .h;
  }
  static uint64_t content(const plan::Rule& r) { return id(r); }
  static const std::string& device(const plan::Rule& r) { return r.iif; }
  static void add(NetlinkOps& nl, const plan::Rule& r) { nl.addRule(r); }
  static void remove(NetlinkOps& nl, const plan::Rule& r) { nl.deleteRule(r); }
  static bool addedAlready(int err) { return isExists(err); }
  static std::string addLine(const plan::Rule& r);
  static std::string removeLine(const plan::Rule& r);
};

template <>
struct ObjectKind<plan::FdbEntry> {
  static uint64_t id(const plan::FdbEntry& f) {
    return (FieldHash() << f.dev << f.mac.value() << f.dst.value()).h;
  }
  static uint64_t content(const plan::FdbEntry& f) { return id(f); }
  static const std::string& device(const plan::FdbEntry& f) { return f.dev; }
  static void add(NetlinkOps& nl, const plan::FdbEntry& f) { nl.appendFdb(f); }
  static void remove(NetlinkOps& nl, const plan::FdbEntry& f) { nl.deleteFdb(f); }
  static bool addedAlready(int err) { return isExists(err); }
  static std::string addLine(const plan::FdbEntry& f);
  static std::string removeLine(const plan::FdbEntry& f);
};

template <>
struct ObjectKind<plan::Sysctl> {
  static uint64_t id(const plan::Sysctl& s) { return (FieldHash() << s.ns << s.key).h; }
  static uint64_t content(const plan::Sysctl& s) {
    return (FieldHash() << s.ns << s.key << s.value).h;
  }
  // all./default. keys and keys of no device (ip_forward), as opposed to a device's own.
  static bool namespaceWide(const std::string& key);
  // The device of net.ipv4.conf.DEV.x / net.ipv4.neigh.DEV.x / net.ipv6.conf.DEV.x.
  static std::string device(const plan::Sysctl& s);
  static std::string addLine(const plan::Sysctl& s);
};

template <>
struct ObjectKind<plan::FloatingIpNat> {
  static uint64_t id(const plan::FloatingIpNat& f) {
    return (FieldHash() << f.ns << f.floating.value()).h;
  }
  static uint64_t content(const plan::FloatingIpNat& f) {
    return (FieldHash() << id(f) << f.fixed.value() << f.rfp_dev).h;
  }
};

template <>
struct ObjectKind<plan::SourceNat> {
  static uint64_t id(const plan::SourceNat& s) { return (FieldHash() << s.ns << s.out_dev).h; }
  static uint64_t content(const plan::SourceNat& s) {
    return (FieldHash() << id(s) << s.to_source.value()).h;
  }
};

// remove(old, still_wanted_under_same_identity) for each object whose content is gone;
// add(new) for each whose content is new. Both lists may be in any order; plans keep the
// cloud's order, so between two plans a change is a small window between a long common
// prefix and suffix: those are compared element by element and only the window hashed.
template <class T, class Remove, class Add>
void diff(const std::vector<T>& before_all, const std::vector<T>& after_all, Remove remove,
          Add add) {
  using K = ObjectKind<T>;
  size_t pre = 0, nb = before_all.size(), na = after_all.size();
  while (pre < nb && pre < na && before_all[pre] == after_all[pre])
    ++pre;
  size_t suf = 0;
  while (suf < nb - pre && suf < na - pre && before_all[nb - 1 - suf] == after_all[na - 1 - suf])
    ++suf;
  if (pre + suf == nb && pre + suf == na)
    return;
  std::span<const T> before(before_all.data() + pre, nb - pre - suf),
      after(after_all.data() + pre, na - pre - suf);
  auto hashes = [](std::span<const T> items) {
    std::vector<uint64_t> out;
    out.reserve(items.size());
    for (const auto& i : items)
      out.push_back(K::content(i));
    return out;
  };
  std::vector<uint64_t> old_h = hashes(before), new_h = hashes(after);
  std::vector<uint64_t> old_sorted = old_h, new_sorted = new_h;
  std::sort(old_sorted.begin(), old_sorted.end());
  std::sort(new_sorted.begin(), new_sorted.end());
  if (old_sorted == new_sorted)
    return;  // reordered only
  std::vector<size_t> removed;
  for (size_t i = 0; i < before.size(); ++i) {
    if (!std::binary_search(new_sorted.begin(), new_sorted.end(), old_h[i]))
      removed.push_back(i);
  }
  if (!removed.empty()) {
    // "Still wanted" looks at the whole new list: an object may have moved out of the window.
    std::unordered_set<uint64_t> new_ids;
    for (const auto& n : after_all)
      new_ids.insert(K::id(n));
    for (size_t i : removed)
      remove(before[i], new_ids.count(K::id(before[i])) != 0);
  }
  for (size_t i = 0; i < after.size(); ++i) {
    if (!std::binary_search(old_sorted.begin(), old_sorted.end(), new_h[i]))
      add(after[i]);
  }
}

}  // namespace dvr::kernel
