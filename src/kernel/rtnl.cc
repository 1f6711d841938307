#include "kernel/rtnl.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <sys/socket.h>

#include <cstring>
#include <map>
#include <utility>

#include "kernel/netns.h"
#include "kernel/unique_fd.h"
#include "plan/render.h"

namespace dvr::kernel {

// linux/if.h's IFF_LOWER_UP, which net/if.h (needed here) does not define.
constexpr unsigned kIffLowerUp = 1 << 16;
namespace {

// RAII for libnl objects.
template <class T, void (*Put)(T*)>
struct NlPtr {
  T* p = nullptr;
  NlPtr() = default;
  explicit NlPtr(T* ptr) : p(ptr) {}
  ~NlPtr() {
    if (p)
      Put(p);
  }
  NlPtr(NlPtr&& o) noexcept : p(std::exchange(o.p, nullptr)) {}
  NlPtr(const NlPtr&) = delete;
  NlPtr& operator=(const NlPtr&) = delete;
  T* get() const { return p; }
  T** out() { return &p; }
};
void putCache(nl_cache* c) {
  nl_cache_free(c);
}
void putAddr(nl_addr* a) {
  nl_addr_put(a);
}
using Cache = NlPtr<nl_cache, putCache>;
using Addr = NlPtr<nl_addr, putAddr>;
using LinkObj = NlPtr<rtnl_link, rtnl_link_put>;
using AddrObj = NlPtr<rtnl_addr, rtnl_addr_put>;
using RouteObj = NlPtr<rtnl_route, rtnl_route_put>;
using RuleObj = NlPtr<rtnl_rule, rtnl_rule_put>;
using NeighObj = NlPtr<rtnl_neigh, rtnl_neigh_put>;

Addr ipAddr(Ipv4 ip, int prefix) {
  uint32_t be = htonl(ip.value());
  Addr a(nl_addr_build(AF_INET, &be, 4));
  nl_addr_set_prefixlen(a.get(), prefix);
  return a;
}
Addr macAddr(Mac mac) {
  auto b = mac.bytes();
  return Addr(nl_addr_build(AF_LLC, b.data(), 6));
}
Ipv4 toIpv4(nl_addr* a) {
  uint32_t be = 0;
  if (a && nl_addr_get_len(a) == 4)
    std::memcpy(&be, nl_addr_get_binary_addr(a), 4);
  return Ipv4(ntohl(be));
}
std::optional<Mac> toMac(nl_addr* a) {
  if (!a || nl_addr_get_len(a) != 6)
    return std::nullopt;
  auto* b = static_cast<const uint8_t*>(nl_addr_get_binary_addr(a));
  uint64_t v = 0;
  for (int i = 0; i < 6; ++i)
    v = (v << 8) | b[i];
  return Mac(v);
}

template <class F>
void forEach(nl_cache* cache, F f) {
  for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o))
    f(o);
}

// libnl reports the kernel's errno as its own code (nl_syserr2nlerr); this is the way
// back, for the codes a refusal of dvr's requests can carry.
int errnoOf(int nl_rc) {
  switch (-nl_rc) {
    case NLE_EXIST:
      return EEXIST;
    case NLE_OBJ_NOTFOUND:
      return ENOENT;
    case NLE_NODEV:
      return ENODEV;
    case NLE_NOADDR:
      return EADDRNOTAVAIL;
    case NLE_PERM:
      return EPERM;
    case NLE_NOACCESS:
      return EACCES;
    case NLE_NOMEM:
      return ENOMEM;
    case NLE_INVAL:
      return EINVAL;
    case NLE_RANGE:
      return ERANGE;
    case NLE_BUSY:
      return EBUSY;
    case NLE_AGAIN:
      return EAGAIN;
    case NLE_OPNOTSUPP:
      return EOPNOTSUPP;
    case NLE_AF_NOSUPPORT:
      return EAFNOSUPPORT;
    case NLE_MSGSIZE:
      return EMSGSIZE;
    case NLE_MSG_TOOSHORT:
      return EMSGSIZE;
    case NLE_INTR:
      return EINTR;
    case NLE_BAD_SOCK:
      return EBADF;
    default:
      return EIO;
  }
}

std::string nameOf(const std::map<int, std::string>& names, int ifindex) {
  auto it = names.find(ifindex);
  return it == names.end() ? std::string() : it->second;
}

struct RawNeigh {
  int ifindex = 0;
  uint16_t state = 0;
  uint8_t flags = 0;
  std::optional<Ipv4> dst;
  std::optional<Mac> lladdr;
};

// Sends a dump request on a raw rtnetlink socket and hands each reply message to `each`
// until the kernel says done; a kernel error throws, naming `what`.
template <class Request, class Each>
void rawDump(int fd, Request& req, const char* what, Each each) {
  checkErrno(::send(fd, &req, sizeof req, 0) == ssize_t(sizeof req), std::string("send ") + what);
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    checkErrno(n >= 0, std::string("recv ") + what);
    for (auto* nh = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(nh, size_t(n));
         nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_type == NLMSG_DONE)
        return;
      if (nh->nlmsg_type == NLMSG_ERROR)
        throw KernelError(what, -static_cast<nlmsgerr*>(NLMSG_DATA(nh))->error);
      each(nh);
    }
  }
}

// RTM_GETNEIGH dump on a raw socket: libnl's neighbour cache shows neither proxy
// entries nor VXLAN FDB entries, which are exactly the ones dvr owns.
std::vector<RawNeigh> dumpNeighbours(int fd, uint8_t family, uint8_t ndm_flags) {
  struct {
    nlmsghdr nh;
    ndmsg ndm;
  } req{};
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETNEIGH;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 1;
  req.ndm.ndm_family = family;
  req.ndm.ndm_flags = ndm_flags;
  std::vector<RawNeigh> out;
  rawDump(fd, req, "dump neighbours", [&](nlmsghdr* nh) {
    auto* ndm = static_cast<ndmsg*>(NLMSG_DATA(nh));
    RawNeigh rn{ndm->ndm_ifindex, ndm->ndm_state, ndm->ndm_flags, {}, {}};
    int len = int(nh->nlmsg_len) - int(NLMSG_LENGTH(sizeof(ndmsg)));
    for (auto* a =
             reinterpret_cast<rtattr*>(reinterpret_cast<char*>(ndm) + NLMSG_ALIGN(sizeof(ndmsg)));
         RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      auto* data = static_cast<const uint8_t*>(RTA_DATA(a));
      if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == 4) {
        rn.dst = Ipv4(uint32_t(data[0]) << 24 | uint32_t(data[1]) << 16 | uint32_t(data[2]) << 8 |
                      data[3]);
      } else if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
        uint64_t v = 0;
        for (int i = 0; i < 6; ++i)
          v = (v << 8) | data[i];
        rn.lladdr = Mac(v);
      }
    }
    out.push_back(rn);
  });
  return out;
}

// Bridges' br_netfilter switch (IFLA_BR_NF_CALL_IPTABLES), which libnl does not cover:
// ifindex -> on, for every bridge.
std::map<int, bool> dumpBridgeNfCall(int fd) {
  struct {
    nlmsghdr nh;
    ifinfomsg ifi;
  } req{};
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 2;
  req.ifi.ifi_family = AF_UNSPEC;
  std::map<int, bool> out;
  rawDump(fd, req, "dump links", [&](nlmsghdr* nh) {
    auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(nh));
    int len = int(nh->nlmsg_len) - int(NLMSG_LENGTH(sizeof(ifinfomsg)));
    for (auto* a = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(ifi) +
                                             NLMSG_ALIGN(sizeof(ifinfomsg)));
         RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      if (a->rta_type != IFLA_LINKINFO)
        continue;
      bool bridge = false;
      int info_len = int(RTA_PAYLOAD(a));
      for (auto* i = static_cast<rtattr*>(RTA_DATA(a)); RTA_OK(i, info_len);
           i = RTA_NEXT(i, info_len)) {
        if (i->rta_type == IFLA_INFO_KIND)
          bridge = std::string(static_cast<const char*>(RTA_DATA(i))) == "bridge";
        if (i->rta_type != IFLA_INFO_DATA || !bridge)
          continue;
        int data_len = int(RTA_PAYLOAD(i));
        for (auto* d = static_cast<rtattr*>(RTA_DATA(i)); RTA_OK(d, data_len);
             d = RTA_NEXT(d, data_len)) {
          if (d->rta_type == IFLA_BR_NF_CALL_IPTABLES && RTA_PAYLOAD(d) >= 1)
            out[ifi->ifi_index] = *static_cast<const uint8_t*>(RTA_DATA(d)) != 0;
        }
      }
    }
  });
  return out;
}

void addAttr(std::vector<char>& msg, uint16_t type, const void* data, size_t len) {
  rtattr a{};
  a.rta_type = type;
  a.rta_len = uint16_t(RTA_LENGTH(len));
  size_t at = msg.size();
  msg.resize(at + RTA_SPACE(len));
  std::memcpy(msg.data() + at, &a, sizeof a);
  if (len)
    std::memcpy(msg.data() + at + RTA_LENGTH(0), data, len);
}

// Ends a nested attribute begun at `at` (its length covers what was added since).
void endNest(std::vector<char>& msg, size_t at) {
  reinterpret_cast<rtattr*>(msg.data() + at)->rta_len = uint16_t(msg.size() - at);
}

// `ip link set NAME type bridge nf_call_iptables 0|1`, as one acknowledged request.
void setBridgeNfCall(int fd, const std::string& name, bool on) {
  std::vector<char> msg(NLMSG_SPACE(sizeof(ifinfomsg)));
  auto* nh = reinterpret_cast<nlmsghdr*>(msg.data());
  nh->nlmsg_type = RTM_NEWLINK;
  nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nh->nlmsg_seq = 3;
  reinterpret_cast<ifinfomsg*>(NLMSG_DATA(nh))->ifi_family = AF_UNSPEC;
  addAttr(msg, IFLA_IFNAME, name.c_str(), name.size() + 1);
  size_t info = msg.size();
  addAttr(msg, IFLA_LINKINFO, nullptr, 0);
  addAttr(msg, IFLA_INFO_KIND, "bridge", 7);
  size_t data = msg.size();
  addAttr(msg, IFLA_INFO_DATA, nullptr, 0);
  uint8_t v = on ? 1 : 0;
  addAttr(msg, IFLA_BR_NF_CALL_IPTABLES, &v, 1);
  endNest(msg, data);
  endNest(msg, info);
  reinterpret_cast<nlmsghdr*>(msg.data())->nlmsg_len = uint32_t(msg.size());
  std::string what = "ip link set " + name + " type bridge nf_call_iptables " + (on ? "1" : "0");
  checkErrno(::send(fd, msg.data(), msg.size(), 0) == ssize_t(msg.size()), what);
  std::vector<char> buf(4096);
  ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
  checkErrno(n >= 0, what);
  auto* reply = reinterpret_cast<nlmsghdr*>(buf.data());
  if (NLMSG_OK(reply, size_t(n)) && reply->nlmsg_type == NLMSG_ERROR) {
    int err = -static_cast<nlmsgerr*>(NLMSG_DATA(reply))->error;
    if (err)
      throw KernelError(what, err);
  }
}

}  // namespace

Rtnl::Rtnl(int netns_fd, std::string ns_label) : label_(std::move(ns_label)) {
  ScopedNetns in(netns_fd);
  sock_ = nl_socket_alloc();
  if (!sock_)
    throw KernelError("nl_socket_alloc", ENOMEM);
  int rc = nl_connect(sock_, NETLINK_ROUTE);
  if (rc < 0) {
    nl_socket_free(sock_);
    throw KernelError("netlink connect in " + plan::nsLabel(label_), errnoOf(rc), nl_geterror(rc));
  }
  nl_socket_set_buffer_size(sock_, 4 << 20, 4 << 20);
  raw_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  checkErrno(raw_ >= 0, "netlink socket in " + plan::nsLabel(label_));
}

Rtnl::~Rtnl() {
  nl_socket_free(sock_);
  ::close(raw_);
}

void Rtnl::check(int rc, const std::string& what) {
  if (rc < 0)
    throw KernelError(what + " (" + plan::nsLabel(label_) + ")", errnoOf(rc), nl_geterror(rc));
}

int Rtnl::ifindex(const std::string& name) {
  // Cached: most changes name a device, and asking the kernel each time doubles the
  // round trips. Links deleted or created through this object update the cache; one
  // changed behind its back is caught by the kernel refusing the stale index.
  if (auto it = ifindex_.find(name); it != ifindex_.end())
    return it->second;
  LinkObj l;
  check(rtnl_link_get_kernel(sock_, 0, name.c_str(), l.out()), "find link " + name);
  return ifindex_[name] = rtnl_link_get_ifindex(l.get());
}

std::vector<ObservedLink> Rtnl::links() {
  Cache cache;
  check(rtnl_link_alloc_cache(sock_, AF_UNSPEC, cache.out()), "dump links");
  ifindex_.clear();
  names_.clear();
  names_valid_ = true;
  std::map<int, std::string> names;
  forEach(cache.get(), [&](nl_object* o) {
    auto* l = reinterpret_cast<rtnl_link*>(o);
    names[rtnl_link_get_ifindex(l)] = rtnl_link_get_name(l);
  });
  std::vector<ObservedLink> out;
  forEach(cache.get(), [&](nl_object* o) {
    auto* l = reinterpret_cast<rtnl_link*>(o);
    ObservedLink ol;
    ol.ifindex = rtnl_link_get_ifindex(l);
    ifindex_[rtnl_link_get_name(l)] = ol.ifindex;
    names_[ol.ifindex] = rtnl_link_get_name(l);
    ol.up = rtnl_link_get_flags(l) & IFF_UP;
    ol.carrier = rtnl_link_get_flags(l) & kIffLowerUp;
    const char* type = rtnl_link_get_type(l);
    ol.kind = type ? type : "";
    ol.link.ns = label_;
    ol.link.name = rtnl_link_get_name(l);
    ol.link.kind = ol.kind == "veth"     ? plan::LinkKind::Veth
                   : ol.kind == "bridge" ? plan::LinkKind::Bridge
                   : ol.kind == "vxlan"  ? plan::LinkKind::Vxlan
                                         : plan::LinkKind::Adopted;
    ol.link.mac = toMac(rtnl_link_get_addr(l));
    ol.link.mtu = int(rtnl_link_get_mtu(l));
    if (int m = rtnl_link_get_master(l); m > 0 && names.count(m))
      ol.link.master = names[m];
    if (ol.kind == "vxlan") {
      uint32_t id = 0;
      if (rtnl_link_vxlan_get_id(l, &id) == 0)
        ol.link.vni = id;
      nl_addr* local = nullptr;
      if (rtnl_link_vxlan_get_local(l, &local) == 0) {
        ol.link.local_ip = toIpv4(local);
        nl_addr_put(local);
      }
    }
    out.push_back(std::move(ol));
  });
  bool bridges = false;
  for (const auto& ol : out)
    bridges = bridges || ol.kind == "bridge";
  if (bridges) {
    std::map<int, bool> nf_call = dumpBridgeNfCall(raw_);
    for (auto& ol : out) {
      auto it = nf_call.find(ol.ifindex);
      ol.link.nf_call_iptables = it != nf_call.end() && it->second;
    }
  }
  return out;
}

std::vector<plan::Address> Rtnl::addresses() {
  Cache cache;
  const auto& names = linkNames();
  check(rtnl_addr_alloc_cache(sock_, cache.out()), "dump addresses");
  std::vector<plan::Address> out;
  forEach(cache.get(), [&](nl_object* o) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_family(a) != AF_INET)
      return;
    auto name = names.find(rtnl_addr_get_ifindex(a));
    nl_addr* local = rtnl_addr_get_local(a);
    out.push_back({label_, name == names.end() ? "" : name->second,
                   Cidr{toIpv4(local), uint8_t(rtnl_addr_get_prefixlen(a))}});
  });
  return out;
}

std::vector<plan::Route> Rtnl::routes() {
  Cache cache;
  const auto& names = linkNames();
  check(rtnl_route_alloc_cache(sock_, AF_INET, 0, cache.out()), "dump routes");
  std::vector<plan::Route> out;
  forEach(cache.get(), [&](nl_object* o) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_protocol(r) != plan::kRouteProtocol)
      return;
    plan::Route pr;
    pr.ns = label_;
    pr.table = rtnl_route_get_table(r);
    nl_addr* dst = rtnl_route_get_dst(r);
    pr.dst = Cidr{toIpv4(dst), uint8_t(dst ? nl_addr_get_prefixlen(dst) : 0)};
    if (rtnl_route_get_nnexthops(r) > 0) {
      rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
      if (nl_addr* gw = rtnl_route_nh_get_gateway(nh))
        pr.via = toIpv4(gw);
      auto name = names.find(rtnl_route_nh_get_ifindex(nh));
      if (name != names.end())
        pr.dev = name->second;
    }
    out.push_back(std::move(pr));
  });
  return out;
}

std::vector<plan::Rule> Rtnl::rules() {
  Cache cache;
  check(rtnl_rule_alloc_cache(sock_, AF_INET, cache.out()), "dump rules");
  std::vector<plan::Rule> out;
  forEach(cache.get(), [&](nl_object* o) {
    auto* r = reinterpret_cast<rtnl_rule*>(o);
    uint8_t proto = 0;
    if (rtnl_rule_get_protocol(r, &proto) != 0 || proto != plan::kRouteProtocol)
      return;
    plan::Rule pr;
    pr.ns = label_;
    pr.priority = rtnl_rule_get_prio(r);
    pr.table = rtnl_rule_get_table(r);
    if (nl_addr* src = rtnl_rule_get_src(r); src && nl_addr_get_prefixlen(src) > 0) {
      pr.from = Cidr{toIpv4(src), uint8_t(nl_addr_get_prefixlen(src))};
    }
    if (const char* iif = rtnl_rule_get_iif(r))
      pr.iif = iif;
    out.push_back(std::move(pr));
  });
  return out;
}

const std::map<int, std::string>& Rtnl::linkNames() {
  if (names_valid_)
    return names_;
  Cache links;
  check(rtnl_link_alloc_cache(sock_, AF_UNSPEC, links.out()), "dump links");
  names_.clear();
  forEach(links.get(), [&](nl_object* o) {
    auto* l = reinterpret_cast<rtnl_link*>(o);
    names_[rtnl_link_get_ifindex(l)] = rtnl_link_get_name(l);
  });
  names_valid_ = true;
  return names_;
}

std::vector<plan::Neighbour> Rtnl::neighbours() {
  const auto& names = linkNames();
  std::vector<plan::Neighbour> out;
  for (const auto& n : dumpNeighbours(raw_, AF_INET, 0)) {
    if ((n.state & NUD_PERMANENT) && n.dst && n.lladdr)
      out.push_back({label_, nameOf(names, n.ifindex), *n.dst, *n.lladdr, false});
  }
  for (const auto& n : dumpNeighbours(raw_, AF_INET, NTF_PROXY)) {
    if (n.dst)
      out.push_back({label_, nameOf(names, n.ifindex), *n.dst, Mac(), true});
  }
  return out;
}

std::optional<Mac> Rtnl::resolvedNeighbour(const std::string& dev, Ipv4 ip) {
  int index = ifindex(dev);
  for (const auto& n : dumpNeighbours(raw_, AF_INET, 0)) {
    if (n.ifindex == index && n.dst && *n.dst == ip && n.lladdr &&
        (n.state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)))
      return *n.lladdr;
  }
  return std::nullopt;
}

std::vector<plan::FdbEntry> Rtnl::fdb() {
  const auto& names = linkNames();
  std::vector<plan::FdbEntry> out;
  for (const auto& n : dumpNeighbours(raw_, AF_BRIDGE, 0)) {
    if (n.dst && n.lladdr)
      out.push_back({nameOf(names, n.ifindex), *n.lladdr, *n.dst});  // VXLAN remote entries only
  }
  return out;
}

void Rtnl::setCreationAttributes(rtnl_link* link, const plan::Link& l, bool up) {
  if (l.mac)
    rtnl_link_set_addr(link, macAddr(*l.mac).get());
  if (l.mtu)
    rtnl_link_set_mtu(link, l.mtu);
  if (!l.master.empty())
    rtnl_link_set_master(link, ifindex(l.master));
  if (up)
    rtnl_link_set_flags(link, IFF_UP);
}

void Rtnl::addBridge(const plan::Link& l, bool up) {
  names_valid_ = false;
  LinkObj link(rtnl_link_alloc());
  rtnl_link_set_type(link.get(), "bridge");
  rtnl_link_set_name(link.get(), l.name.c_str());
  setCreationAttributes(link.get(), l, up);
  check(rtnl_link_add(sock_, link.get(), NLM_F_CREATE | NLM_F_EXCL),
        "ip link add " + l.name + " type bridge");
  if (l.nf_call_iptables)
    setBridgeNfCall(raw_, l.name, true);
}

void Rtnl::addVxlan(const plan::Link& l, bool up) {
  names_valid_ = false;
  LinkObj link(rtnl_link_vxlan_alloc());
  rtnl_link_set_name(link.get(), l.name.c_str());
  rtnl_link_vxlan_set_id(link.get(), l.vni);
  Addr local = ipAddr(l.local_ip, 32);
  rtnl_link_vxlan_set_local(link.get(), local.get());
  rtnl_link_vxlan_set_port(link.get(), plan::kVxlanPort);
  rtnl_link_vxlan_set_learning(link.get(), 0);
  setCreationAttributes(link.get(), l, up);
  check(rtnl_link_add(sock_, link.get(), NLM_F_CREATE | NLM_F_EXCL),
        "ip link add " + plan::linkLine(l));
}

void Rtnl::addVethPair(const plan::Link& l, bool up, const plan::Link& peer, int peer_netns_fd) {
  names_valid_ = false;
  LinkObj link(rtnl_link_veth_alloc());
  rtnl_link_set_name(link.get(), l.name.c_str());
  setCreationAttributes(link.get(), l, up);
  rtnl_link* p = rtnl_link_veth_get_peer(link.get());
  rtnl_link_set_name(p, peer.name.c_str());
  if (peer.mac)
    rtnl_link_set_addr(p, macAddr(*peer.mac).get());
  if (peer.mtu)
    rtnl_link_set_mtu(p, peer.mtu);
  rtnl_link_set_ns_fd(p, peer_netns_fd);
  rtnl_link_put(p);
  check(rtnl_link_add(sock_, link.get(), NLM_F_CREATE | NLM_F_EXCL),
        "ip link add " + plan::linkLine(l));
}

void Rtnl::setLink(const std::string& name, const plan::Link& want, bool up) {
  // Addressed by name (index 0): no lookup round trip first.
  LinkObj current(rtnl_link_alloc());
  LinkObj change(rtnl_link_alloc());
  rtnl_link_set_name(change.get(), name.c_str());
  if (want.mac)
    rtnl_link_set_addr(change.get(), macAddr(*want.mac).get());
  if (want.mtu)
    rtnl_link_set_mtu(change.get(), want.mtu);
  if (!want.master.empty())
    rtnl_link_set_master(change.get(), ifindex(want.master));
  if (up)
    rtnl_link_set_flags(change.get(), IFF_UP);
  check(rtnl_link_change(sock_, current.get(), change.get(), 0), "ip link set " + name);
  if (want.kind == plan::LinkKind::Bridge)
    setBridgeNfCall(raw_, name, want.nf_call_iptables);
}

bool Rtnl::deleteLink(const std::string& name) {
  LinkObj link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  ifindex_.erase(name);
  names_valid_ = false;
  int rc = rtnl_link_delete(sock_, link.get());
  if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV)
    return false;  // gone already, e.g. with its veth peer
  check(rc, "ip link del " + name);
  return true;
}

void Rtnl::addAddress(const plan::Address& a) {
  AddrObj addr(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(addr.get(), ifindex(a.dev));
  rtnl_addr_set_local(addr.get(), ipAddr(a.cidr.addr, a.cidr.len).get());
  check(rtnl_addr_add(sock_, addr.get(), NLM_F_CREATE | NLM_F_EXCL),
        "ip addr add " + plan::addressLine(a));
}

void Rtnl::deleteAddress(const plan::Address& a) {
  AddrObj addr(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(addr.get(), ifindex(a.dev));
  rtnl_addr_set_local(addr.get(), ipAddr(a.cidr.addr, a.cidr.len).get());
  check(rtnl_addr_delete(sock_, addr.get(), 0), "ip addr del " + plan::addressLine(a));
}

namespace {
RouteObj buildRoute(Rtnl& rt, const plan::Route& r) {
  RouteObj route(rtnl_route_alloc());
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_table(route.get(), r.table);
  rtnl_route_set_protocol(route.get(), plan::kRouteProtocol);
  rtnl_route_set_dst(route.get(), ipAddr(r.dst.addr, r.dst.len).get());
  rtnl_route_set_scope(route.get(), r.via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, rt.ifindex(r.dev));
  if (r.via)
    rtnl_route_nh_set_gateway(nh, ipAddr(*r.via, 32).get());
  rtnl_route_add_nexthop(route.get(), nh);
  return route;
}
}  // namespace

void Rtnl::replaceRoute(const plan::Route& r) {
  check(rtnl_route_add(sock_, buildRoute(*this, r).get(), NLM_F_CREATE | NLM_F_REPLACE),
        "ip route replace " + plan::routeLine(r));
}

void Rtnl::deleteRoute(const plan::Route& r) {
  RouteObj route(rtnl_route_alloc());
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_table(route.get(), r.table);
  rtnl_route_set_protocol(route.get(), plan::kRouteProtocol);
  rtnl_route_set_dst(route.get(), ipAddr(r.dst.addr, r.dst.len).get());
  rtnl_route_set_scope(route.get(), RT_SCOPE_NOWHERE);
  check(rtnl_route_delete(sock_, route.get(), 0), "ip route del " + plan::routeLine(r));
}

namespace {
RuleObj buildRule(const plan::Rule& r) {
  RuleObj rule(rtnl_rule_alloc());
  rtnl_rule_set_family(rule.get(), AF_INET);
  rtnl_rule_set_prio(rule.get(), r.priority);
  rtnl_rule_set_table(rule.get(), r.table);
  rtnl_rule_set_action(rule.get(), FR_ACT_TO_TBL);
  rtnl_rule_set_protocol(rule.get(), plan::kRouteProtocol);
  if (r.from)
    rtnl_rule_set_src(rule.get(), ipAddr(r.from->addr, r.from->len).get());
  if (!r.iif.empty())
    rtnl_rule_set_iif(rule.get(), r.iif.c_str());
  return rule;
}
}  // namespace

void Rtnl::addRule(const plan::Rule& r) {
  check(rtnl_rule_add(sock_, buildRule(r).get(), NLM_F_CREATE | NLM_F_EXCL),
        "ip rule add " + plan::ruleLine(r));
}

void Rtnl::deleteRule(const plan::Rule& r) {
  check(rtnl_rule_delete(sock_, buildRule(r).get(), 0), "ip rule del " + plan::ruleLine(r));
}

void Rtnl::replaceNeighbour(const plan::Neighbour& n) {
  NeighObj neigh(rtnl_neigh_alloc());
  rtnl_neigh_set_family(neigh.get(), AF_INET);
  rtnl_neigh_set_ifindex(neigh.get(), ifindex(n.dev));
  rtnl_neigh_set_dst(neigh.get(), ipAddr(n.ip, 32).get());
  if (n.proxy) {
    rtnl_neigh_set_flags(neigh.get(), NTF_PROXY);
  } else {
    rtnl_neigh_set_lladdr(neigh.get(), macAddr(n.mac).get());
    rtnl_neigh_set_state(neigh.get(), NUD_PERMANENT);
  }
  check(rtnl_neigh_add(sock_, neigh.get(), NLM_F_CREATE | NLM_F_REPLACE),
        "ip neigh replace " + plan::neighbourLine(n));
}

void Rtnl::deleteNeighbour(const plan::Neighbour& n) {
  NeighObj neigh(rtnl_neigh_alloc());
  rtnl_neigh_set_family(neigh.get(), AF_INET);
  rtnl_neigh_set_ifindex(neigh.get(), ifindex(n.dev));
  rtnl_neigh_set_dst(neigh.get(), ipAddr(n.ip, 32).get());
  if (n.proxy)
    rtnl_neigh_set_flags(neigh.get(), NTF_PROXY);
  check(rtnl_neigh_delete(sock_, neigh.get(), 0), "ip neigh del " + plan::neighbourLine(n));
}

namespace {
NeighObj buildFdb(Rtnl& rt, const plan::FdbEntry& f) {
  NeighObj neigh(rtnl_neigh_alloc());
  rtnl_neigh_set_ifindex(neigh.get(), rt.ifindex(f.dev));
  rtnl_neigh_set_lladdr(neigh.get(), macAddr(f.mac).get());
  rtnl_neigh_set_dst(neigh.get(),
                     ipAddr(f.dst, 32).get());  // before the family: libnl checks they agree
  rtnl_neigh_set_family(neigh.get(), AF_BRIDGE);
  rtnl_neigh_set_state(neigh.get(), NUD_PERMANENT | NUD_NOARP);
  rtnl_neigh_set_flags(neigh.get(), NTF_SELF);
  return neigh;
}
}  // namespace

void Rtnl::appendFdb(const plan::FdbEntry& f) {
  check(rtnl_neigh_add(sock_, buildFdb(*this, f).get(), NLM_F_CREATE | NLM_F_APPEND),
        "bridge fdb append " + plan::fdbLine(f));
}

void Rtnl::deleteFdb(const plan::FdbEntry& f) {
  check(rtnl_neigh_delete(sock_, buildFdb(*this, f).get(), 0),
        "bridge fdb del " + plan::fdbLine(f));
}

}  // namespace dvr::kernel
