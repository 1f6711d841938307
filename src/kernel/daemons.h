// The programs a host runs for its plan (plan::Daemon: keepalived for an HA router), each
// in a directory of its own, kDaemonRoot/<host>/<name>: its files, its log, and "pid", the
// process dvr started. It runs in a session of its own, so an agent that stops or
// restarts leaves it running, and a later agent finds it by its pid file (and its
// command line, so that a reused pid is not taken for it). Nothing else is ever in
// kDaemonRoot: every directory there is dvr's.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernel/kernel_ops.h"
#include "kernel/link_watch.h"

namespace dvr::kernel {

inline constexpr const char* kDaemonRoot = "/run/dvr/daemons";

class SystemDaemons : public DaemonOps {
 public:
  explicit SystemDaemons(std::string host, std::string root = kDaemonRoot);
  std::vector<std::string> list() override;
  std::string ensure(const plan::Daemon& d) override;
  void stop(const std::string& name) override;
  int pidOf(const std::string& name) override;

 private:
  std::string dirOf(const std::string& name) const { return dir_ + "/" + name; }
  bool runs(const std::string& name, int pid) const;
  // SIGTERM, then SIGKILL if it lingers past a second; reaps it.
  void terminateAndWait(const std::string& name, int pid);
  // Keeps the daemon's link-state file (plan::LinkWatch), if it has one.
  void watchLinks(const plan::Daemon& d);
  std::string dir_;
  std::unique_ptr<LinkWatcher> links_;  // made for the first daemon that watches links
};

}  // namespace dvr::kernel
