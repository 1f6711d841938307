#include "kernel/conntrack.h"

#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include <unordered_set>

#include "kernel/netns.h"
#include "kernel/sysctl.h"

namespace dvr::kernel {
namespace {

struct Matches {
  std::unordered_set<uint32_t> to, from;  // network byte order
  std::vector<nf_conntrack*> hits;
};

int collect(enum nf_conntrack_msg_type, struct nf_conntrack* ct, void* data) {
  auto* m = static_cast<Matches*>(data);
  bool hit = m->to.count(nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST)) ||
             m->to.count(nfct_get_attr_u32(ct, ATTR_REPL_IPV4_DST)) ||
             m->from.count(nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_SRC));
  if (hit)
    m->hits.push_back(nfct_clone(ct));
  return NFCT_CB_CONTINUE;
}

}  // namespace

int flushConntrack(int netns_fd, const std::vector<Ipv4>& to, const std::vector<Ipv4>& from) {
  if (to.empty() && from.empty())
    return 0;
  // The dump walks the host-wide conntrack hash (milliseconds however few flows the
  // namespace has); the per-namespace count says first whether there is anything to find.
  std::string count = readSysctl(netns_fd, "net.netfilter.nf_conntrack_count");
  if (count.empty() || count == "0")
    return 0;
  ScopedNetns in(netns_fd);
  nfct_handle* h = nfct_open(CONNTRACK, 0);
  checkErrno(h != nullptr, "open conntrack netlink");
  Matches m;
  for (Ipv4 ip : to)
    m.to.insert(htonl(ip.value()));
  for (Ipv4 ip : from)
    m.from.insert(htonl(ip.value()));
  nfct_callback_register(h, NFCT_T_ALL, collect, &m);
  uint32_t family = AF_INET;
  nfct_query(h, NFCT_Q_DUMP, &family);  // an empty table (module not loaded) is no error here
  // A dump callback may not query its own handle: delete after the dump.
  int deleted = 0;
  for (nf_conntrack* ct : m.hits) {
    deleted += nfct_query(h, NFCT_Q_DESTROY, ct) == 0;
    nfct_destroy(ct);
  }
  nfct_close(h);
  return deleted;
}

}  // namespace dvr::kernel
