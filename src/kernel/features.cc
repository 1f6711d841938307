#include "kernel/features.h"

#include <fcntl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <thread>

#include "kernel/nft.h"
#include "kernel/rtnl.h"
#include "kernel/unique_fd.h"

namespace dvr::kernel {
namespace {

plan::Link probeLink(const std::string& name) {
  plan::Link l;
  l.name = name;
  return l;
}

// Runs on a thread of its own, which it moves into a new network namespace.
void probeInNewNamespace(std::vector<MissingFeature>& missing) {
  if (::unshare(CLONE_NEWNET) != 0) {
    missing.push_back({"network namespaces (CONFIG_NET_NS)", std::strerror(errno)});
    return;
  }
  UniqueFd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  auto attempt = [&](const char* feature, const std::function<void()>& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      missing.push_back({feature, e.what()});
    }
  };
  Rtnl rt(self.get(), "probe");
  attempt("bridges (CONFIG_BRIDGE)", [&] { rt.addBridge(probeLink("probe-br"), true); });
  attempt("veth pairs (CONFIG_VETH)",
          [&] { rt.addVethPair(probeLink("probe-a"), false, probeLink("probe-b"), self.get()); });
  attempt("VXLAN devices (CONFIG_VXLAN)", [&] {
    plan::Link vx = probeLink("probe-vx");
    vx.vni = 1;
    vx.local_ip = Ipv4(0x7f000001);
    rt.addVxlan(vx, false);
  });
  Nft nft(self.get(), "probe");
  attempt("nftables NAT with maps (CONFIG_NF_TABLES, CONFIG_NFT_NAT)", [&] {
    nft.run(
        "table ip probe {\n  map m { type ipv4_addr : ipv4_addr; }\n"
        "  chain pre { type nat hook prerouting priority dstnat; dnat to ip daddr map @m; }\n"
        "  chain post { type nat hook postrouting priority srcnat; snat to ip saddr map @m; "
        "}\n}\n");
  });
  attempt("nftables on bridges (CONFIG_NF_TABLES_BRIDGE)", [&] {
    nft.run(
        "table bridge probe {\n  chain probe_forward { type filter hook forward priority 0;\n"
        "    ether saddr set 02:00:00:00:00:01; }\n}\n");
  });
  attempt("connection tracking over netlink (CONFIG_NF_CT_NETLINK)", [&] {
    // dvr deletes a removed floating IP's flows (conntrack -D) through this socket.
    nfct_handle* h = nfct_open(CONNTRACK, 0);
    checkErrno(h != nullptr, "open conntrack netlink");
    uint32_t family = AF_INET;
    int rc = nfct_query(h, NFCT_Q_DUMP, &family);
    int err = errno;
    nfct_close(h);
    if (rc != 0)
      throw KernelError("conntrack -L", err);
  });
}

}  // namespace

std::vector<MissingFeature> missingKernelFeatures() {
  std::vector<MissingFeature> missing;
  // A thread of its own enters the new namespace; the namespace dies with the thread.
  std::thread([&] {
    try {
      probeInNewNamespace(missing);
    } catch (const std::exception& e) {  // no netlink socket or nftables context at all
      missing.push_back({"netlink and nftables inside a network namespace", e.what()});
    }
  }).join();
  return missing;
}

void requireKernelFeatures(const std::string& who) {
  auto missing = missingKernelFeatures();
  if (missing.empty())
    return;
  std::string msg = "this kernel lacks what " + who + " needs (nothing was changed):";
  for (const auto& m : missing)
    msg += "\n  " + m.feature + ": " + m.error;
  throw std::runtime_error(msg);
}

}  // namespace dvr::kernel
