#include "kernel/bpf_fastpath.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <thread>
#include <tuple>

#include "bpf/east_west.h"
#include "bpf/fip_path.h"
#include "bpf/snat_path.h"
#include "fast_path.skel.h"  // generated at build time: bpftool gen object + skeleton
#include "kernel/rtnl.h"
#include "kernel/unique_fd.h"

namespace dvr::kernel {
namespace {

const char* kMaps[] = {"dvr_fip_out_map", "dvr_fip_in_map", "dvr_fip_local", "dvr_fp_stats",
                       "dvr_ew_port",     "dvr_ew_dst",     "dvr_ew_stats",  "dvr_snat_port",
                       "dvr_snat_local",  "dvr_snat_stats"};
constexpr size_t kMapCount = sizeof kMaps / sizeof *kMaps;
const char* kPrograms[] = {plan::kFipOutProgram, plan::kFipInProgram, plan::kEastWestProgram,
                           plan::kSnatProgram};

// libbpf returns -errno (and sets errno) on failure.
void check(int rc, const std::string& what) {
  if (rc < 0)
    throw KernelError(what, -rc);
}

std::string ipStr(uint32_t be) {
  return Ipv4(ntohl(be)).str();
}

void setMac(uint8_t* dst, Mac m) {
  auto b = m.bytes();
  std::memcpy(dst, b.data(), 6);
}

bool operator==(const dvr_fip_out_val& a, const dvr_fip_out_val& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}
bool operator==(const dvr_fip_in_val& a, const dvr_fip_in_val& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}
bool operator==(const dvr_ew_port_val& a, const dvr_ew_port_val& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}
bool operator==(const dvr_ew_dst_val& a, const dvr_ew_dst_val& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}
bool operator==(const dvr_snat_port_val& a, const dvr_snat_port_val& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// Keys are compared as bytes: the maps' own notion of identity.
template <class K>
struct ByteLess {
  bool operator()(const K& a, const K& b) const { return std::memcmp(&a, &b, sizeof a) < 0; }
};

template <class K, class V>
std::map<K, V, ByteLess<K>> dump(int fd) {
  std::map<K, V, ByteLess<K>> out;
  K key{}, next{};
  K* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    V v{};
    if (bpf_map_lookup_elem(fd, &next, &v) == 0)
      out[next] = v;
    key = next;
    prev = &key;
  }
  return out;
}

// A program's name, by the id tc reports for a filter.
std::string progName(uint32_t id) {
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0)
    return "";
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  std::string name;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
    name = info.name;
  ::close(fd);
  return name;
}

uint32_t progId(int fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  check(bpf_obj_get_info_by_fd(fd, &info, &len), "bpf prog info");
  return info.id;
}

bool isOurs(const std::string& name) {
  return name == plan::kFipOutProgram || name == plan::kFipInProgram ||
         name == plan::kEastWestProgram || name == plan::kSnatProgram;
}

// dvr_ew_out runs before dvr_fip_out or dvr_snat_out on a tap: what it leaves
// (TC_ACT_UNSPEC) goes on.
uint16_t priorityOf(const std::string& program) {
  if (program == plan::kSnatProgram)
    return kSnatPriority;
  return program == plan::kEastWestProgram ? kEastWestPriority : kFastPathPriority;
}

bpf_tc_hook hookOf(int ifindex) {
  bpf_tc_hook h{};
  h.sz = sizeof h;
  h.ifindex = ifindex;
  h.attach_point = BPF_TC_INGRESS;
  return h;
}

bpf_tc_opts optsAt(uint16_t priority) {
  bpf_tc_opts o{};
  o.sz = sizeof o;
  o.handle = kFastPathHandle;
  o.priority = priority;
  return o;
}

// The id of the program at one of dvr's priorities on dev's ingress, 0 for none.
uint32_t queryAttached(int ifindex, uint16_t priority) {
  bpf_tc_hook h = hookOf(ifindex);
  bpf_tc_opts o = optsAt(priority);
  if (bpf_tc_query(&h, &o) < 0)
    return 0;
  return o.prog_id;
}

void ensureBpffs(const std::string& dir) {
  struct statfs fs {};
  if (::statfs("/sys/fs/bpf", &fs) != 0 || fs.f_type != BPF_FS_MAGIC) {
    // What systemd mounts on most systems; in a lab host (a mount namespace of its own)
    // the mount stays inside it, and goes with it.
    checkErrno(::mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") == 0,
               "mount bpffs on /sys/fs/bpf");
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw KernelError("mkdir " + dir, errno);
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

std::string tcLine(const char* verb, const std::string& dev, const std::string& program) {
  return std::string("tc filter ") + verb + " dev " + dev + " ingress pref " +
         std::to_string(priorityOf(program)) + " handle " + hex(kFastPathHandle) +
         " bpf direct-action " + program;
}

std::string macStr(const uint8_t* m) {
  uint64_t v = 0;
  for (int i = 0; i < 6; ++i)
    v = v << 8 | m[i];
  return Mac(v).str();
}

std::string devName(uint32_t ifindex) {
  char buf[IF_NAMESIZE] = {};
  return if_indextoname(ifindex, buf) ? buf : "if" + std::to_string(ifindex);
}

std::string outLine(const char* verb, const dvr_fip_out_key& k, const dvr_fip_out_val* v) {
  std::string s = std::string("bpftool map ") + verb + " name dvr_fip_out_map key " +
                  devName(k.ifindex) + " " + ipStr(k.fixed_ip);
  if (v)
    s += " value snat " + ipStr(v->floating_ip) + " dev " + devName(v->out_ifindex) + " src " +
         macStr(v->fg_mac) + " dst " + macStr(v->next_hop_mac) + " mtu " + std::to_string(v->mtu);
  return s;
}

std::string inLine(const char* verb, const dvr_fip_in_key& k, const dvr_fip_in_val* v) {
  std::string s = std::string("bpftool map ") + verb + " name dvr_fip_in_map key " +
                  devName(k.ifindex) + " " + ipStr(k.floating_ip);
  if (v)
    s += " value dnat " + ipStr(v->fixed_ip) + " dev " + devName(v->out_ifindex) + " src " +
         macStr(v->qr_mac) + " dst " + macStr(v->vm_mac) + " mtu " + std::to_string(v->mtu);
  return s;
}

std::string localLine(const char* verb, const dvr_fip_local_key& k) {
  return std::string("bpftool map ") + verb + " name dvr_fip_local key " + devName(k.ifindex) +
         " " + Cidr{Ipv4(ntohl(k.addr)), uint8_t(k.prefixlen - 32)}.str();
}

std::string ewPortLine(const char* verb, const dvr_ew_port_key& k, const dvr_ew_port_val* v) {
  std::string s =
      std::string("bpftool map ") + verb + " name dvr_ew_port key " + devName(k.ifindex);
  if (v)
    s += " value router " + std::to_string(v->router) + " src " + ipStr(v->ip) + " if dst mac " +
         macStr(v->gw_mac);
  return s;
}

std::string ewDstLine(const char* verb, const dvr_ew_dst_key& k, const dvr_ew_dst_val* v) {
  std::string s = std::string("bpftool map ") + verb + " name dvr_ew_dst key router " +
                  std::to_string(k.router) + " " + ipStr(k.ip);
  if (v)
    s += " value dev " + devName(v->out_ifindex) + " src " + macStr(v->src_mac) + " dst " +
         macStr(v->dst_mac) + " mtu " + std::to_string(v->mtu) +
         (v->flags & DVR_EW_REMOTE ? " remote" : "");
  return s;
}

std::string snatPortLine(const char* verb, const dvr_snat_port_key& k, const dvr_snat_port_val* v) {
  std::string s =
      std::string("bpftool map ") + verb + " name dvr_snat_port key " + devName(k.ifindex);
  if (v)
    s += " value dev " + devName(v->out_ifindex) + " src " + macStr(v->src_mac) + " dst " +
         macStr(v->sg_mac) + " if src " + ipStr(v->ip) + " dst mac " + macStr(v->gw_mac) + " mtu " +
         std::to_string(v->mtu);
  return s;
}

std::string snatLocalLine(const char* verb, const dvr_fip_local_key& k, const uint8_t*) {
  return std::string("bpftool map ") + verb + " name dvr_snat_local key " + devName(k.ifindex) +
         " " + Cidr{Ipv4(ntohl(k.addr)), uint8_t(k.prefixlen - 32)}.str();
}

}  // namespace

template <class K, class V>
using KernelMap = std::map<K, V, ByteLess<K>>;

// (fip- namespace, fg- device, gateway): where a floating IP's next hop MAC is read.
using NextHop = std::tuple<std::string, std::string, Ipv4>;

// One floating IP's entries, in kernel terms.
struct FipEntries {
  dvr_fip_out_key out_key;
  dvr_fip_out_val out;
  dvr_fip_in_key in_key;
  dvr_fip_in_val in;
  std::vector<dvr_fip_local_key> locals;
};

// One VM's SNAT entries, in kernel terms: its port and the destinations qrouter- keeps.
struct SnatEntries {
  dvr_snat_port_key key;
  dvr_snat_port_val val;
  std::vector<dvr_fip_local_key> locals;
};

namespace {

const uint8_t kLocal = 1;  // dvr_fip_local's value: the key is what matters

std::string localEntryLine(const char* verb, const dvr_fip_local_key& k, const uint8_t*) {
  return localLine(verb, k);
}

// k -> v in the map and in the record of what is written, unless it holds that already.
template <class K, class V, class Line>
void writeEntry(int fd, KernelMap<K, V>& record, const K& k, const V& v, Line line,
                FastPathResult& r) {
  auto it = record.find(k);
  if (it != record.end() && it->second == v)
    return;
  check(bpf_map_update_elem(fd, &k, &v, BPF_ANY), line("update", k, &v));
  r.lines.push_back(line("update", k, &v));
  record[k] = v;
}

// k out of the map and the record, if the record holds it.
template <class K, class V, class Line>
void deleteEntry(int fd, KernelMap<K, V>& record, const K& k, Line line, FastPathResult& r) {
  auto it = record.find(k);
  if (it == record.end())
    return;
  check(bpf_map_delete_elem(fd, &k), line("delete", k, nullptr));
  r.lines.push_back(line("delete", k, nullptr));
  record.erase(it);
}

// Every key of the record that `want` lacks, out of the map.
template <class K, class V, class W, class Line>
void deleteAbsent(int fd, KernelMap<K, V>& record, const KernelMap<K, W>& want, Line line,
                  FastPathResult& r) {
  for (auto it = record.begin(); it != record.end();) {
    auto k = (it++)->first;
    if (!want.count(k))
      deleteEntry(fd, record, k, line, r);
  }
}

// Walks two vectors sorted by key(): f(old, now) for each key whose entries differ, old
// or now null for a key on one side only.
template <class T, class F>
void forEachChange(const std::vector<T>& before, const std::vector<T>& after, F&& f) {
  auto b = before.begin(), a = after.begin();
  while (b != before.end() || a != after.end()) {
    if (a == after.end() || (b != before.end() && b->key() < a->key())) {
      f(&*b, nullptr);
      ++b;
    } else if (b == before.end() || a->key() < b->key()) {
      f(nullptr, &*a);
      ++a;
    } else {
      if (!(*b == *a))
        f(&*b, &*a);
      ++b;
      ++a;
    }
  }
}

// The entry of a vector sorted by key() whose key is k, or null.
template <class T, class K>
const T* findByKey(const std::vector<T>& v, const K& k) {
  auto it = std::lower_bound(v.begin(), v.end(), k,
                             [](const T& e, const K& key) { return e.key() < key; });
  return it != v.end() && !(k < it->key()) ? &*it : nullptr;
}

// The entries of `want` to write on an incremental run: the added and changed ones, and
// the unchanged ones the last run could not write (`waiting`, by key). `gone`: the old
// side of removed and changed ones.
template <class T, class K>
void changedEntries(const std::vector<T>& before, const std::vector<T>& want,
                    const std::set<K>& waiting, std::vector<const T*>& gone,
                    std::vector<const T*>& wanted) {
  forEachChange(before, want, [&](const T* old, const T* now) {
    if (old)
      gone.push_back(old);
    if (now)
      wanted.push_back(now);
  });
  for (const K& k : waiting) {
    const T* now = findByKey(want, k);
    const T* old = findByKey(before, k);
    if (now && old && *now == *old)
      wanted.push_back(now);  // else changed or gone: counted above
  }
}

std::tuple<Ipv4> fipKey(const plan::FipFastPath& e) {
  return {e.floating};
}
std::tuple<std::string> ewPortKey(const plan::EastWestPort& p) {
  return {p.vm_dev};
}
std::tuple<uint32_t, Ipv4> ewDstKey(const plan::EastWestDest& d) {
  return {d.router, d.ip};
}
std::tuple<std::string> snatKey(const plan::SnatFastPath& e) {
  return {e.vm_dev};
}
std::tuple<std::string, std::string> attachKey(const plan::FastPathAttach& a) {
  return {a.dev, a.program};
}

}  // namespace

struct BpfFastPath::Written {
  KernelMap<dvr_fip_out_key, dvr_fip_out_val> out;
  KernelMap<dvr_fip_in_key, dvr_fip_in_val> in;
  KernelMap<dvr_fip_local_key, uint8_t> local;
  KernelMap<dvr_fip_local_key, int> local_refs;  // floating IPs keeping each (a VM's share)
  KernelMap<dvr_ew_port_key, dvr_ew_port_val> ew_ports;
  KernelMap<dvr_ew_dst_key, dvr_ew_dst_val> ew_dsts;
  KernelMap<dvr_snat_port_key, dvr_snat_port_val> snat_ports;
  KernelMap<dvr_fip_local_key, uint8_t> snat_local;       // each tap's own: no sharing
  std::map<NextHop, Mac> next_hops;                       // resolved ones
  std::map<NextHop, std::optional<Mac>> next_hops_asked;  // this run's answers
  // The plan's entries the last apply could not write (a device missing, a next hop not
  // resolved), by key: an incremental apply tries them again.
  std::set<std::tuple<Ipv4>> waiting_fips;
  std::set<std::tuple<std::string>> waiting_ew_ports;
  std::set<std::tuple<uint32_t, Ipv4>> waiting_ew_dsts;
  std::set<std::tuple<std::string>> waiting_snat;
  std::set<std::tuple<std::string, std::string>> waiting_attach;
};

// A device's index: remembered on incremental runs (a device replugged under the same
// name is found by the next full run), asked of the kernel otherwise.
unsigned BpfFastPath::ifindex(const std::string& dev) {
  if (trusted_) {
    auto it = ifindexes_.find(dev);
    if (it != ifindexes_.end())
      return it->second;
  }
  unsigned i = if_nametoindex(dev.c_str());
  if (i)
    ifindexes_[dev] = i;
  else
    ifindexes_.erase(dev);
  return i;
}

// libbpf's own messages (a query of a device without clsact is "Parent Qdisc doesn't
// exist") go to the debug log: the errors that matter come back as return codes.
int libbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, args);
  std::string line(buf);
  while (!line.empty() && line.back() == '\n')
    line.pop_back();
  if (level == LIBBPF_WARN)
    spdlog::debug("libbpf: {}", line);
  return 0;
}

BpfFastPath::BpfFastPath(Resolver resolve, std::string pin_dir)
    : resolve_(std::move(resolve)), dir_(std::move(pin_dir)) {
  libbpf_set_print(libbpfPrint);
}

BpfFastPath::~BpfFastPath() {
  for (int fd :
       {prog_out_, prog_in_, prog_ew_, map_out_, map_in_, map_local_, map_stats_, map_ew_port_,
        map_ew_dst_, map_ew_stats_, prog_snat_, map_snat_port_, map_snat_local_, map_snat_stats_}) {
    if (fd >= 0)
      ::close(fd);
  }
}

bool BpfFastPath::pinned() const {
  struct stat st {};
  return ::stat((dir_ + "/" + plan::kFipOutProgram).c_str(), &st) == 0;
}

void BpfFastPath::open() {
  if (open_)
    return;
  ensureBpffs(dir_);
  auto pin = [&](const std::string& name) { return dir_ + "/" + name; };
  bool all = true;
  for (const char* m : kMaps)
    all = all && ::access(pin(m).c_str(), F_OK) == 0;
  for (const char* p : kPrograms)
    all = all && ::access(pin(p).c_str(), F_OK) == 0;
  if (!all) {
    // Maps already pinned are reused (their entries kept); the programs are new. An older
    // dvr's pins lack the east-west ones: they are added beside.
    fast_path* skel = fast_path__open();
    if (!skel)
      throw KernelError("open the fast path's eBPF object", errno);
    bpf_map* maps[] = {skel->maps.dvr_fip_out_map, skel->maps.dvr_fip_in_map,
                       skel->maps.dvr_fip_local,   skel->maps.dvr_fp_stats,
                       skel->maps.dvr_ew_port,     skel->maps.dvr_ew_dst,
                       skel->maps.dvr_ew_stats,    skel->maps.dvr_snat_port,
                       skel->maps.dvr_snat_local,  skel->maps.dvr_snat_stats};
    static_assert(sizeof maps / sizeof *maps == kMapCount);
    for (size_t i = 0; i < kMapCount; ++i)
      bpf_map__set_pin_path(maps[i], pin(kMaps[i]).c_str());
    int rc = fast_path__load(skel);
    if (rc < 0) {
      fast_path__destroy(skel);
      throw KernelError("load the fast path's eBPF programs (" + dir_ + ")", -rc);
    }
    for (auto [prog, name] : {std::pair{skel->progs.dvr_fip_out, plan::kFipOutProgram},
                              std::pair{skel->progs.dvr_fip_in, plan::kFipInProgram},
                              std::pair{skel->progs.dvr_ew_out, plan::kEastWestProgram},
                              std::pair{skel->progs.dvr_snat_out, plan::kSnatProgram}}) {
      ::unlink(pin(name).c_str());
      rc = bpf_program__pin(prog, pin(name).c_str());
      if (rc < 0) {
        fast_path__destroy(skel);
        throw KernelError("pin " + pin(name), -rc);
      }
    }
    fast_path__destroy(skel);  // what is pinned stays
  }
  auto get = [&](const std::string& name) {
    int fd = bpf_obj_get(pin(name).c_str());
    check(fd, "open pinned " + pin(name));
    return fd;
  };
  prog_out_ = get(plan::kFipOutProgram);
  prog_in_ = get(plan::kFipInProgram);
  prog_ew_ = get(plan::kEastWestProgram);
  map_out_ = get(kMaps[0]);
  map_in_ = get(kMaps[1]);
  map_local_ = get(kMaps[2]);
  map_stats_ = get(kMaps[3]);
  map_ew_port_ = get(kMaps[4]);
  map_ew_dst_ = get(kMaps[5]);
  map_ew_stats_ = get(kMaps[6]);
  prog_snat_ = get(plan::kSnatProgram);
  map_snat_port_ = get(kMaps[7]);
  map_snat_local_ = get(kMaps[8]);
  map_snat_stats_ = get(kMaps[9]);
  open_ = true;
}

int BpfFastPath::progFd(const std::string& program) const {
  if (program == plan::kEastWestProgram)
    return prog_ew_;
  if (program == plan::kSnatProgram)
    return prog_snat_;
  return program == plan::kFipOutProgram ? prog_out_ : prog_in_;
}

// Where dvr's programs are attached now: every device of the host namespace is asked once,
// after that the reconciler's own changes keep the set.
void BpfFastPath::scanAttachments() {
  if (scanned_)
    return;
  if (struct if_nameindex* all = if_nameindex()) {
    for (struct if_nameindex* i = all; i->if_index; ++i) {
      for (uint16_t prio : {kEastWestPriority, kFastPathPriority, kSnatPriority}) {
        uint32_t id = queryAttached(int(i->if_index), prio);
        if (!id)
          continue;
        std::string name = progName(id);
        if (isOurs(name) && priorityOf(name) == prio)
          attached_.emplace(i->if_name, name);
      }
    }
    if_freenameindex(all);
  }
  scanned_ = true;
}

// The east-west maps: ports (tap -> router) and destinations ((router, IP) -> frame).
// Removals first, ports before destinations (a VM unplugged stops being routed at once);
// additions the other way round, so a port never points at destinations not yet there.
unsigned BpfFastPath::remembered(const std::string& dev) const {
  auto it = ifindexes_.find(dev);
  return it == ifindexes_.end() ? 0 : it->second;
}

// One lookup per next hop and run (a host's floating IPs mostly share one gateway); an
// incremental run keeps the MAC the last run read (a full run reads it again).
std::optional<Mac> BpfFastPath::nextHop(const plan::FipFastPath& e) {
  NextHop hop{e.fip_ns, e.fg_dev, e.next_hop};
  auto asked = written_->next_hops_asked.find(hop);
  if (asked != written_->next_hops_asked.end())
    return asked->second;
  auto last = written_->next_hops.find(hop);
  std::optional<Mac> mac = trusted_ && last != written_->next_hops.end()
                               ? std::optional<Mac>(last->second)
                               : resolve_(e.fip_ns, e.fg_dev, e.next_hop);
  written_->next_hops_asked.emplace(hop, mac);
  if (mac)
    written_->next_hops[hop] = *mac;
  else
    written_->next_hops.erase(hop);
  return mac;
}

// e's entries, or nothing while its devices or its next hop are missing (said in r).
std::optional<FipEntries> BpfFastPath::fipEntries(const plan::FipFastPath& e, FastPathResult& r) {
  unsigned tap = ifindex(e.vm_dev), ext = ifindex(e.ext_dev);
  if (!tap || !ext) {
    r.waiting.push_back(!tap ? e.vm_dev : e.ext_dev);
    return std::nullopt;
  }
  std::optional<Mac> next = nextHop(e);
  if (!next) {
    r.unresolved.push_back(e.next_hop.str() + " in " + e.fip_ns);
    return std::nullopt;
  }
  FipEntries f{};
  f.out_key = {tap, htonl(e.fixed.value())};
  f.out.floating_ip = htonl(e.floating.value());
  f.out.out_ifindex = ext;
  setMac(f.out.qr_mac, e.qr_mac);
  setMac(f.out.fg_mac, e.fg_mac);
  setMac(f.out.next_hop_mac, *next);
  f.out.mtu = uint16_t(e.out_mtu);
  f.in_key = {ext, htonl(e.floating.value())};
  f.in.fixed_ip = htonl(e.fixed.value());
  f.in.out_ifindex = tap;
  setMac(f.in.fg_mac, e.fg_mac);
  setMac(f.in.qr_mac, e.qr_mac);
  setMac(f.in.vm_mac, e.vm_mac);
  f.in.mtu = uint16_t(e.in_mtu);
  for (const auto& c : e.keep_local)
    f.locals.push_back({uint32_t(32 + c.len), tap, htonl(c.network().addr.value())});
  return f;
}

std::optional<std::pair<dvr_ew_port_key, dvr_ew_port_val>> BpfFastPath::ewPortEntry(
    const plan::EastWestPort& p, FastPathResult& r) {
  unsigned tap = ifindex(p.vm_dev);
  if (!tap) {
    r.waiting.push_back(p.vm_dev);
    return std::nullopt;
  }
  dvr_ew_port_val v{};
  v.router = p.router;
  v.ip = htonl(p.ip.value());
  setMac(v.gw_mac, p.gateway_mac);
  return std::pair{dvr_ew_port_key{tap}, v};
}

std::optional<std::pair<dvr_ew_dst_key, dvr_ew_dst_val>> BpfFastPath::ewDstEntry(
    const plan::EastWestDest& d, FastPathResult& r) {
  unsigned out = ifindex(d.out_dev);
  if (!out) {
    r.waiting.push_back(d.out_dev);
    return std::nullopt;
  }
  dvr_ew_dst_val v{};
  v.out_ifindex = out;
  setMac(v.src_mac, d.src_mac);
  setMac(v.dst_mac, d.dst_mac);
  v.mtu = uint16_t(d.mtu);
  v.flags = d.remote ? DVR_EW_REMOTE : 0;
  return std::pair{dvr_ew_dst_key{d.router, htonl(d.ip.value())}, v};
}

// A full run: the maps as the kernel holds them (dumped) made to match the whole plan.
// Removals first, outbound before inbound: a floating IP gone stops being NATed at once;
// then additions: what the namespace path keeps, inbound, and outbound last.
void BpfFastPath::applyFips(const plan::FastPath& want, FastPathResult& r) {
  Written& w = *written_;
  w.out = dump<dvr_fip_out_key, dvr_fip_out_val>(map_out_);
  w.in = dump<dvr_fip_in_key, dvr_fip_in_val>(map_in_);
  w.local = dump<dvr_fip_local_key, uint8_t>(map_local_);
  w.local_refs.clear();
  w.next_hops.clear();
  w.waiting_fips.clear();
  KernelMap<dvr_fip_out_key, dvr_fip_out_val> out;
  KernelMap<dvr_fip_in_key, dvr_fip_in_val> in;
  for (const auto& e : want.fips) {
    std::optional<FipEntries> f = fipEntries(e, r);
    if (!f) {
      w.waiting_fips.insert(fipKey(e));
      continue;
    }
    out[f->out_key] = f->out;
    in[f->in_key] = f->in;
    for (const auto& k : f->locals)
      ++w.local_refs[k];
  }
  deleteAbsent(map_out_, w.out, out, outLine, r);
  deleteAbsent(map_in_, w.in, in, inLine, r);
  deleteAbsent(map_local_, w.local, w.local_refs, localEntryLine, r);
  for (const auto& [k, refs] : w.local_refs)
    writeEntry(map_local_, w.local, k, kLocal, localEntryLine, r);
  for (const auto& [k, v] : in)
    writeEntry(map_in_, w.in, k, v, inLine, r);
  for (const auto& [k, v] : out)
    writeEntry(map_out_, w.out, k, v, outLine, r);
}

// An incremental run: only the floating IPs that differ from the last plan (and those
// still waiting), in the same order as a full run.
void BpfFastPath::applyFipChanges(const plan::FastPath& before, const plan::FastPath& want,
                                  FastPathResult& r) {
  Written& w = *written_;
  std::vector<const plan::FipFastPath*> gone, wanted;
  changedEntries(before.fips, want.fips, w.waiting_fips, gone, wanted);
  std::vector<FipEntries> adds;
  KernelMap<dvr_fip_out_key, char> new_out;
  KernelMap<dvr_fip_in_key, char> new_in;
  std::vector<dvr_fip_local_key> new_locals;  // kept by no floating IP until now
  for (const auto* e : wanted) {
    w.waiting_fips.erase(fipKey(*e));
    std::optional<FipEntries> f = fipEntries(*e, r);
    if (!f) {
      w.waiting_fips.insert(fipKey(*e));
      continue;
    }
    new_out[f->out_key] = 1;
    new_in[f->in_key] = 1;
    for (const auto& k : f->locals) {
      if (w.local_refs[k]++ == 0)
        new_locals.push_back(k);
    }
    adds.push_back(std::move(*f));
  }
  for (const auto* e : gone) {
    if (w.waiting_fips.count(fipKey(*e)) && !findByKey(want.fips, fipKey(*e)))
      w.waiting_fips.erase(fipKey(*e));  // never written, now not planned
    unsigned tap = remembered(e->vm_dev), ext = remembered(e->ext_dev);
    dvr_fip_out_key ok{tap, htonl(e->fixed.value())};
    dvr_fip_in_key ik{ext, htonl(e->floating.value())};
    auto was = w.out.find(ok);
    if (was == w.out.end() || was->second.floating_ip != ik.floating_ip)
      continue;  // not written by it (it was waiting)
    if (!new_out.count(ok))
      deleteEntry(map_out_, w.out, ok, outLine, r);
    if (!new_in.count(ik))
      deleteEntry(map_in_, w.in, ik, inLine, r);
    for (const auto& c : e->keep_local) {
      dvr_fip_local_key lk{uint32_t(32 + c.len), tap, htonl(c.network().addr.value())};
      auto refs = w.local_refs.find(lk);
      if (refs != w.local_refs.end() && --refs->second <= 0) {
        w.local_refs.erase(refs);
        deleteEntry(map_local_, w.local, lk, localEntryLine, r);
      }
    }
  }
  for (const auto& k : new_locals)
    writeEntry(map_local_, w.local, k, kLocal, localEntryLine, r);
  for (const auto& f : adds)
    writeEntry(map_in_, w.in, f.in_key, f.in, inLine, r);
  for (const auto& f : adds)
    writeEntry(map_out_, w.out, f.out_key, f.out, outLine, r);
}

// The east-west maps: ports (tap -> router) and destinations ((router, IP) -> frame).
// Removals first, ports before destinations (a VM unplugged stops being routed at once);
// additions the other way round, so a port never points at destinations not yet there.
void BpfFastPath::applyEastWest(const plan::FastPath& want, FastPathResult& r) {
  Written& w = *written_;
  w.ew_ports = dump<dvr_ew_port_key, dvr_ew_port_val>(map_ew_port_);
  w.ew_dsts = dump<dvr_ew_dst_key, dvr_ew_dst_val>(map_ew_dst_);
  w.waiting_ew_ports.clear();
  w.waiting_ew_dsts.clear();
  KernelMap<dvr_ew_port_key, dvr_ew_port_val> ports;
  KernelMap<dvr_ew_dst_key, dvr_ew_dst_val> dsts;
  for (const auto& p : want.ew_ports) {
    if (auto e = ewPortEntry(p, r))
      ports.insert(*e);
    else
      w.waiting_ew_ports.insert(ewPortKey(p));
  }
  for (const auto& d : want.ew_dests) {
    if (auto e = ewDstEntry(d, r))
      dsts.insert(*e);
    else
      w.waiting_ew_dsts.insert(ewDstKey(d));
  }
  deleteAbsent(map_ew_port_, w.ew_ports, ports, ewPortLine, r);
  deleteAbsent(map_ew_dst_, w.ew_dsts, dsts, ewDstLine, r);
  for (const auto& [k, v] : dsts)
    writeEntry(map_ew_dst_, w.ew_dsts, k, v, ewDstLine, r);
  for (const auto& [k, v] : ports)
    writeEntry(map_ew_port_, w.ew_ports, k, v, ewPortLine, r);
}

void BpfFastPath::applyEastWestChanges(const plan::FastPath& before, const plan::FastPath& want,
                                       FastPathResult& r) {
  Written& w = *written_;
  std::vector<const plan::EastWestPort*> ports_gone, ports_wanted;
  changedEntries(before.ew_ports, want.ew_ports, w.waiting_ew_ports, ports_gone, ports_wanted);
  std::vector<const plan::EastWestDest*> dsts_gone, dsts_wanted;
  changedEntries(before.ew_dests, want.ew_dests, w.waiting_ew_dsts, dsts_gone, dsts_wanted);
  KernelMap<dvr_ew_port_key, dvr_ew_port_val> ports;
  KernelMap<dvr_ew_dst_key, dvr_ew_dst_val> dsts;
  for (const auto* p : ports_wanted) {
    w.waiting_ew_ports.erase(ewPortKey(*p));
    if (auto e = ewPortEntry(*p, r))
      ports.insert(*e);
    else
      w.waiting_ew_ports.insert(ewPortKey(*p));
  }
  for (const auto* d : dsts_wanted) {
    w.waiting_ew_dsts.erase(ewDstKey(*d));
    if (auto e = ewDstEntry(*d, r))
      dsts.insert(*e);
    else
      w.waiting_ew_dsts.insert(ewDstKey(*d));
  }
  for (const auto* p : ports_gone) {
    if (!findByKey(want.ew_ports, ewPortKey(*p)))
      w.waiting_ew_ports.erase(ewPortKey(*p));
    dvr_ew_port_key k{remembered(p->vm_dev)};
    if (!ports.count(k))
      deleteEntry(map_ew_port_, w.ew_ports, k, ewPortLine, r);
  }
  for (const auto* d : dsts_gone) {
    if (!findByKey(want.ew_dests, ewDstKey(*d)))
      w.waiting_ew_dsts.erase(ewDstKey(*d));
    dvr_ew_dst_key k{d->router, htonl(d->ip.value())};
    if (!dsts.count(k))
      deleteEntry(map_ew_dst_, w.ew_dsts, k, ewDstLine, r);
  }
  for (const auto& [k, v] : dsts)
    writeEntry(map_ew_dst_, w.ew_dsts, k, v, ewDstLine, r);
  for (const auto& [k, v] : ports)
    writeEntry(map_ew_port_, w.ew_ports, k, v, ewPortLine, r);
}

// e's entries, or nothing while its tap or its VXLAN device is missing (said in r).
std::optional<SnatEntries> BpfFastPath::snatEntries(const plan::SnatFastPath& e,
                                                    FastPathResult& r) {
  unsigned tap = ifindex(e.vm_dev), out = ifindex(e.out_dev);
  if (!tap || !out) {
    r.waiting.push_back(!tap ? e.vm_dev : e.out_dev);
    return std::nullopt;
  }
  SnatEntries s{};
  s.key = {tap};
  s.val.ip = htonl(e.ip.value());
  s.val.out_ifindex = out;
  setMac(s.val.gw_mac, e.gateway_mac);
  setMac(s.val.src_mac, e.src_mac);
  setMac(s.val.sg_mac, e.sg_mac);
  s.val.mtu = uint16_t(e.mtu);
  for (const auto& c : e.keep_local)
    s.locals.push_back({uint32_t(32 + c.len), tap, htonl(c.network().addr.value())});
  return s;
}

// The SNAT maps: a VM's port entry goes before the destinations qrouter- keeps for it and
// comes after them, so it never sends one of those to the sg- port. A full run dumps them.
void BpfFastPath::applySnat(const plan::FastPath& want, FastPathResult& r) {
  Written& w = *written_;
  w.snat_ports = dump<dvr_snat_port_key, dvr_snat_port_val>(map_snat_port_);
  w.snat_local = dump<dvr_fip_local_key, uint8_t>(map_snat_local_);
  w.waiting_snat.clear();
  KernelMap<dvr_snat_port_key, dvr_snat_port_val> ports;
  KernelMap<dvr_fip_local_key, uint8_t> locals;
  for (const auto& e : want.snat) {
    std::optional<SnatEntries> s = snatEntries(e, r);
    if (!s) {
      w.waiting_snat.insert(snatKey(e));
      continue;
    }
    ports[s->key] = s->val;
    for (const auto& k : s->locals)
      locals[k] = kLocal;
  }
  deleteAbsent(map_snat_port_, w.snat_ports, ports, snatPortLine, r);
  for (const auto& [k, v] : locals)
    writeEntry(map_snat_local_, w.snat_local, k, v, snatLocalLine, r);
  deleteAbsent(map_snat_local_, w.snat_local, locals, snatLocalLine, r);
  for (const auto& [k, v] : ports)
    writeEntry(map_snat_port_, w.snat_ports, k, v, snatPortLine, r);
}

// An incremental run: only the VMs whose entry differs from the last plan (and those
// still waiting), in the same order as a full run.
void BpfFastPath::applySnatChanges(const plan::FastPath& before, const plan::FastPath& want,
                                   FastPathResult& r) {
  Written& w = *written_;
  std::vector<const plan::SnatFastPath*> gone, wanted;
  changedEntries(before.snat, want.snat, w.waiting_snat, gone, wanted);
  std::vector<SnatEntries> adds;
  KernelMap<dvr_snat_port_key, char> new_ports;
  KernelMap<dvr_fip_local_key, uint8_t> new_locals;
  for (const auto* e : wanted) {
    w.waiting_snat.erase(snatKey(*e));
    std::optional<SnatEntries> s = snatEntries(*e, r);
    if (!s) {
      w.waiting_snat.insert(snatKey(*e));
      continue;
    }
    new_ports[s->key] = 1;
    for (const auto& k : s->locals)
      new_locals[k] = kLocal;
    adds.push_back(std::move(*s));
  }
  std::vector<dvr_fip_local_key> old_locals;  // kept by the old entry, not the new one
  for (const auto* e : gone) {
    if (!findByKey(want.snat, snatKey(*e)))
      w.waiting_snat.erase(snatKey(*e));
    unsigned tap = remembered(e->vm_dev);
    dvr_snat_port_key k{tap};
    if (!new_ports.count(k))
      deleteEntry(map_snat_port_, w.snat_ports, k, snatPortLine, r);
    for (const auto& c : e->keep_local) {
      dvr_fip_local_key lk{uint32_t(32 + c.len), tap, htonl(c.network().addr.value())};
      if (!new_locals.count(lk))
        old_locals.push_back(lk);
    }
  }
  for (const auto& [k, v] : new_locals)
    writeEntry(map_snat_local_, w.snat_local, k, v, snatLocalLine, r);
  for (const auto& k : old_locals)
    deleteEntry(map_snat_local_, w.snat_local, k, snatLocalLine, r);
  for (const auto& s : adds)
    writeEntry(map_snat_port_, w.snat_ports, s.key, s.val, snatPortLine, r);
}

// dvr's filter off dev, if it is still there and dvr's.
void BpfFastPath::detach(const std::string& dev, const std::string& program, FastPathResult& r) {
  unsigned ifindex = this->ifindex(dev);
  uint16_t prio = priorityOf(program);
  if (ifindex && isOurs(progName(queryAttached(int(ifindex), prio)))) {
    bpf_tc_hook h = hookOf(int(ifindex));
    bpf_tc_opts o = optsAt(prio);
    int rc = bpf_tc_detach(&h, &o);
    if (rc < 0 && rc != -ENOENT)
      check(rc, tcLine("del", dev, program));
    r.lines.push_back(tcLine("del", dev, program));
  }
  attached_.erase({dev, program});
}

// dvr's program on dev's ingress; false while dev is missing.
bool BpfFastPath::attach(const std::string& dev, const std::string& program, FastPathResult& r) {
  unsigned ifindex = this->ifindex(dev);
  if (!ifindex) {
    r.waiting.push_back(dev);
    attached_.erase({dev, program});
    return false;
  }
  auto id = prog_ids_.find(program);
  if (id == prog_ids_.end())
    id = prog_ids_.emplace(program, progId(progFd(program))).first;
  uint32_t want_id = id->second;
  uint16_t prio = priorityOf(program);
  uint32_t have_id = queryAttached(int(ifindex), prio);
  if (have_id == want_id) {
    attached_.emplace(dev, program);
    return true;
  }
  if (have_id && !isOurs(progName(have_id)))
    throw KernelError("tc filter dev " + dev + " ingress pref " + std::to_string(prio) +
                          ": held by program id " + std::to_string(have_id) + " (" +
                          progName(have_id) + "), not dvr's; left as it is",
                      EEXIST);
  bpf_tc_hook h = hookOf(int(ifindex));
  int rc = bpf_tc_hook_create(&h);  // the clsact qdisc, shared with any other filters
  if (rc < 0 && rc != -EEXIST)
    check(rc, "tc qdisc add dev " + dev + " clsact");
  bpf_tc_opts o = optsAt(prio);
  o.prog_fd = progFd(program);
  o.flags = have_id ? BPF_TC_F_REPLACE : 0;  // an older dvr program: swapped atomically
  check(bpf_tc_attach(&h, &o), tcLine("add", dev, program));
  attached_.emplace(dev, program);
  r.lines.push_back(tcLine(have_id ? "replace" : "add", dev, program));
  return true;
}

// Attachments: dvr's filters only. A full run asks the kernel of each planned one.
void BpfFastPath::applyAttachments(const plan::FastPath& want, FastPathResult& r) {
  std::set<std::pair<std::string, std::string>> want_attached;
  for (const auto& a : want.attach)
    want_attached.emplace(a.dev, a.program);
  auto had = attached_;
  for (const auto& [dev, program] : had) {
    if (!want_attached.count({dev, program}))
      detach(dev, program, r);
  }
  written_->waiting_attach.clear();
  for (const auto& a : want.attach) {
    if (!attach(a.dev, a.program, r))
      written_->waiting_attach.insert(attachKey(a));
  }
}

void BpfFastPath::applyAttachmentChanges(const plan::FastPath& before, const plan::FastPath& want,
                                         FastPathResult& r) {
  std::vector<const plan::FastPathAttach*> gone, wanted;
  changedEntries(before.attach, want.attach, written_->waiting_attach, gone, wanted);
  for (const auto* a : gone) {
    written_->waiting_attach.erase(attachKey(*a));
    detach(a->dev, a->program, r);
  }
  for (const auto* a : wanted) {
    written_->waiting_attach.erase(attachKey(*a));
    if (!attach(a->dev, a->program, r))
      written_->waiting_attach.insert(attachKey(*a));
  }
}

FastPathResult BpfFastPath::apply(const plan::FastPath& want, const plan::FastPath* previous) {
  FastPathResult r;
  if (want.empty() && !open_ && !pinned())
    return r;  // never used on this host: nothing to load or remove
  open();
  scanAttachments();
  trusted_ = previous && written_valid_;
  written_valid_ = false;  // until this apply has written everything
  if (!written_)
    written_ = std::make_unique<Written>();
  written_->next_hops_asked.clear();
  if (trusted_) {
    applyFipChanges(*previous, want, r);
    applyEastWestChanges(*previous, want, r);
    applySnatChanges(*previous, want, r);
    applyAttachmentChanges(*previous, want, r);
  } else {
    applyFips(want, r);
    applyEastWest(want, r);
    applySnat(want, r);
    applyAttachments(want, r);
  }

  // Nothing left to carry: the programs and maps go too (a later plan loads them again).
  if (want.empty() && attached_.empty()) {
    for (int* fd : {&prog_out_, &prog_in_, &prog_ew_, &map_out_, &map_in_, &map_local_, &map_stats_,
                    &map_ew_port_, &map_ew_dst_, &map_ew_stats_, &prog_snat_, &map_snat_port_,
                    &map_snat_local_, &map_snat_stats_}) {
      ::close(*fd);
      *fd = -1;
    }
    for (const char* m : kMaps)
      ::unlink((dir_ + "/" + m).c_str());
    for (const char* p : kPrograms)
      ::unlink((dir_ + "/" + p).c_str());
    ::rmdir(dir_.c_str());
    open_ = false;
    scanned_ = false;
    written_.reset();
    ifindexes_.clear();
    prog_ids_.clear();
    r.lines.push_back("rm -r " + dir_ + " (fast path programs and maps unpinned)");
    return r;
  }
  written_valid_ = true;
  return r;
}
FastPathCounters readFastPathCounters(const std::string& pin_dir) {
  FastPathCounters c;
  int fd = bpf_obj_get((pin_dir + "/dvr_fp_stats").c_str());
  if (fd < 0)
    return c;
  int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> per_cpu(size_t(cpus > 0 ? cpus : 1));
  c.by_dir.assign(DVR_FP_DIRS + 1, std::vector<uint64_t>(DVR_FP_REASONS, 0));
  auto add = [&](int map, uint32_t key, std::vector<uint64_t>& into, uint32_t reason) {
    if (bpf_map_lookup_elem(map, &key, per_cpu.data()) != 0)
      return;
    for (uint64_t v : per_cpu)
      into[reason] += v;
  };
  for (uint32_t d = 0; d < DVR_FP_DIRS; ++d) {
    for (uint32_t reason = 0; reason < DVR_FP_REASONS; ++reason)
      add(fd, d * DVR_FP_REASONS + reason, c.by_dir[d], reason);
  }
  ::close(fd);
  // dvr_ew_out's counters, in a map of their own (pinned beside an older dvr's, if any)
  if (int ew = bpf_obj_get((pin_dir + "/dvr_ew_stats").c_str()); ew >= 0) {
    for (uint32_t reason = 0; reason < DVR_FP_REASONS; ++reason)
      add(ew, reason, c.by_dir[DVR_FP_DIRS], reason);
    ::close(ew);
  }
  // dvr_snat_out's likewise
  if (int sn = bpf_obj_get((pin_dir + "/dvr_snat_stats").c_str()); sn >= 0) {
    c.by_dir.resize(DVR_FP_DIRS + 2, std::vector<uint64_t>(DVR_FP_REASONS, 0));
    for (uint32_t reason = 0; reason < DVR_FP_REASONS; ++reason)
      add(sn, reason, c.by_dir[DVR_FP_DIRS + 1], reason);
    ::close(sn);
  }
  return c;
}

std::vector<std::string> readFastPathEntries(const std::string& pin_dir) {
  std::vector<std::string> out;
  auto open = [&](const char* name) { return bpf_obj_get((pin_dir + "/" + name).c_str()); };
  auto strip = [](std::string line) {
    return line.substr(std::string("bpftool map update name ").size());
  };
  if (int fd = open(kMaps[0]); fd >= 0) {
    for (const auto& [k, v] : dump<dvr_fip_out_key, dvr_fip_out_val>(fd))
      out.push_back(strip(outLine("update", k, &v)));
    ::close(fd);
  }
  if (int fd = open(kMaps[1]); fd >= 0) {
    for (const auto& [k, v] : dump<dvr_fip_in_key, dvr_fip_in_val>(fd))
      out.push_back(strip(inLine("update", k, &v)));
    ::close(fd);
  }
  if (int fd = open(kMaps[2]); fd >= 0) {
    for (const auto& [k, v] : dump<dvr_fip_local_key, uint8_t>(fd))
      out.push_back(strip(localLine("update", k)));
    ::close(fd);
  }
  if (int fd = open(kMaps[4]); fd >= 0) {
    for (const auto& [k, v] : dump<dvr_ew_port_key, dvr_ew_port_val>(fd))
      out.push_back(strip(ewPortLine("update", k, &v)));
    ::close(fd);
  }
  if (int fd = open(kMaps[5]); fd >= 0) {
    for (const auto& [k, v] : dump<dvr_ew_dst_key, dvr_ew_dst_val>(fd))
      out.push_back(strip(ewDstLine("update", k, &v)));
    ::close(fd);
  }
  if (int fd = open(kMaps[7]); fd >= 0) {
    for (const auto& [k, v] : dump<dvr_snat_port_key, dvr_snat_port_val>(fd))
      out.push_back(strip(snatPortLine("update", k, &v)));
    ::close(fd);
  }
  if (int fd = open(kMaps[8]); fd >= 0) {
    for (const auto& [k, v] : dump<dvr_fip_local_key, uint8_t>(fd))
      out.push_back(strip(snatLocalLine("update", k, &v)));
    ::close(fd);
  }
  return out;
}

const char* fastPathReasonName(size_t reason) {
  static const char* names[] = {"fast",       "error", "not-ipv4", "no-entry", "fragment",
                                "ip-options", "ttl",   "protocol", "mtu",      "local-dst"};
  return reason < sizeof names / sizeof *names ? names[reason] : "";
}

const char* fastPathProgramName(size_t index) {
  return index < sizeof kPrograms / sizeof *kPrograms ? kPrograms[index] : "";
}

std::string renderFastPathCounters(const FastPathCounters& c) {
  std::string out;
  for (size_t d = 0; d < c.by_dir.size(); ++d) {
    out += fastPathProgramName(d);
    out += ":";
    for (size_t r = 0; *fastPathReasonName(r); ++r) {
      if (r == DVR_FP_NOT_IPV4)
        out += " fell-back";
      out += std::string(" ") + fastPathReasonName(r) + " " + std::to_string(c.by_dir[d][r]);
    }
    out += "\n";
  }
  return out;
}

std::string fastPathUnsupported() {
  std::string why;
  std::thread([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      why = std::string("network namespaces: ") + std::strerror(errno);
      return;
    }
    fast_path* skel = fast_path__open_and_load();
    if (!skel) {
      why = std::string("loading the eBPF programs (CONFIG_BPF_SYSCALL, BTF, CAP_BPF): ") +
            std::strerror(errno);
      return;
    }
    try {
      UniqueFd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
      Rtnl rt(self.get(), "probe");
      plan::Link a, b;
      a.name = "probe-fa";
      b.name = "probe-fb";
      rt.addVethPair(a, true, b, self.get());
      bpf_tc_hook h = hookOf(rt.ifindex("probe-fa"));
      int rc = bpf_tc_hook_create(&h);
      if (rc < 0 && rc != -EEXIST)
        why = std::string("tc clsact (CONFIG_NET_SCH_INGRESS): ") + std::strerror(-rc);
      bpf_tc_opts o = optsAt(kFastPathPriority);
      o.prog_fd = bpf_program__fd(skel->progs.dvr_fip_out);
      if (why.empty() && (rc = bpf_tc_attach(&h, &o)) < 0)
        why = std::string("tc bpf direct-action (CONFIG_NET_CLS_BPF): ") + std::strerror(-rc);
    } catch (const std::exception& e) {
      why = e.what();
    }
    fast_path__destroy(skel);
  }).join();
  return why;
}

}  // namespace dvr::kernel
