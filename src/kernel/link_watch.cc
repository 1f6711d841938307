#include "kernel/link_watch.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "kernel/files.h"
#include "kernel/netns.h"
#include "kernel/rtnl.h"

namespace dvr::kernel {

LinkWatcher::LinkWatcher() : host_ns_(openNetns("")) {
  // Made on the caller's thread, which is in the host namespace: the socket listens there.
  events_ = UniqueFd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
  checkErrno(events_.get() >= 0, "socket(NETLINK_ROUTE) for link events");
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR;
  checkErrno(::bind(events_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0,
             "bind rtnetlink link and address groups");
  wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  checkErrno(wake_.get() >= 0, "eventfd");
  thread_ = std::thread([this] { run(); });
}

LinkWatcher::~LinkWatcher() {
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  thread_.join();
}

void LinkWatcher::watch(const std::string& path, const plan::LinkWatch& w) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = watched_.find(path); it != watched_.end() && it->second == w)
    return;
  watched_[path] = w;
  written_.erase(path);  // written now, whatever was there
  evaluate();
}

void LinkWatcher::forgetUnder(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(watched_, [&](const auto& kv) { return kv.first.starts_with(dir); });
  std::erase_if(written_, [&](const auto& kv) { return kv.first.starts_with(dir); });
}

void LinkWatcher::run() {
  pollfd fds[2] = {{events_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
  char buf[16384];
  for (;;) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR)
      return;
    if (fds[1].revents)
      return;
    if (!fds[0].revents)
      continue;
    // Which device changed does not matter: the few watched ones are read again. A
    // socket that overran (ENOBUFS) lost events, which a fresh read covers too.
    while (::recv(events_.get(), buf, sizeof buf, 0) > 0 || errno == ENOBUFS) {
    }
    try {
      std::lock_guard<std::mutex> lock(mu_);
      evaluate();
    } catch (const std::exception&) {
      // A failed read or write is retried on the next event; the file keeps its value.
    }
  }
}

void LinkWatcher::evaluate() {
  if (watched_.empty())
    return;
  Rtnl rt(host_ns_.get(), "host namespace");
  std::vector<ObservedLink> links = rt.links();
  std::vector<plan::Address> addresses = rt.addresses();
  auto working = [&](const std::string& name) {
    return std::any_of(links.begin(), links.end(), [&](const ObservedLink& l) {
      return l.link.name == name && l.up && l.carrier;
    });
  };
  for (const auto& [path, w] : watched_) {
    bool down = !std::all_of(w.links.begin(), w.links.end(), working);
    if (w.address) {
      auto a = std::find_if(addresses.begin(), addresses.end(),
                            [&](const plan::Address& x) { return x.cidr.addr == *w.address; });
      down = down || a == addresses.end() || !working(a->dev);
    }
    std::string value = down ? "1\n" : "0\n";
    if (written_[path] != value) {
      writeFile(path, value);
      written_[path] = value;
    }
  }
}

}  // namespace dvr::kernel
