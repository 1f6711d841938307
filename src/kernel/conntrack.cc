#include "kernel/conntrack.h"

#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include <vector>

#include "kernel/netns.h"

namespace dvr::kernel {
namespace {

struct Matches {
  uint32_t ip_be;
  bool by_source;
  std::vector<nf_conntrack*> hits;
};

int collect(enum nf_conntrack_msg_type, struct nf_conntrack* ct, void* data) {
  auto* m = static_cast<Matches*>(data);
  bool hit = m->by_source ? nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_SRC) == m->ip_be
                          : nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST) == m->ip_be ||
                                nfct_get_attr_u32(ct, ATTR_REPL_IPV4_DST) == m->ip_be;
  if (hit) m->hits.push_back(nfct_clone(ct));
  return NFCT_CB_CONTINUE;
}

// Dumps the namespace's conntrack table and deletes the matching entries (a dump
// callback may not issue queries on its own handle, hence the two steps).
int flush(int netns_fd, Ipv4 ip, bool by_source) {
  ScopedNetns in(netns_fd);
  nfct_handle* h = nfct_open(CONNTRACK, 0);
  checkErrno(h != nullptr, "open conntrack netlink");
  Matches m{htonl(ip.value()), by_source, {}};
  nfct_callback_register(h, NFCT_T_ALL, collect, &m);
  uint32_t family = AF_INET;
  nfct_query(h, NFCT_Q_DUMP, &family);  // an empty table (module not loaded) is no error here
  int deleted = 0;
  for (nf_conntrack* ct : m.hits) {
    deleted += nfct_query(h, NFCT_Q_DESTROY, ct) == 0;
    nfct_destroy(ct);
  }
  nfct_close(h);
  return deleted;
}

}  // namespace

int flushConntrack(int netns_fd, Ipv4 ip) { return flush(netns_fd, ip, false); }
int flushConntrackFrom(int netns_fd, Ipv4 ip) { return flush(netns_fd, ip, true); }

}  // namespace dvr::kernel
