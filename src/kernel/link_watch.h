// Keeps the plan's link-state files (plan::LinkWatch) for a host's daemons: each file
// holds "1" while one of its links, or the device holding its address, is down (not up,
// or without carrier) or missing, and "0" otherwise. keepalived reads such a file as a
// track_file and goes to FAULT while it is non-zero.
//
// One thread waits on rtnetlink's link and IPv4 address groups in the host namespace
// (the process's own) and re-evaluates every watched file on each event; a file is
// rewritten only when its value changes, by rename, so that a reader never sees it half
// written. watch() writes the value at once, before the daemon that reads it starts.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "kernel/unique_fd.h"
#include "plan/host_plan.h"

namespace dvr::kernel {

class LinkWatcher {
 public:
  LinkWatcher();
  ~LinkWatcher();
  LinkWatcher(const LinkWatcher&) = delete;
  LinkWatcher& operator=(const LinkWatcher&) = delete;

  // Keeps `path` for `w` from now on (replacing what was watched there).
  void watch(const std::string& path, const plan::LinkWatch& w);
  // Stops keeping the files whose path starts with `dir` (a daemon that went).
  void forgetUnder(const std::string& dir);

 private:
  void run();
  void evaluate();  // with mu_ held

  std::mutex mu_;
  std::map<std::string, plan::LinkWatch> watched_;  // by path
  std::map<std::string, std::string> written_;      // path -> value last written
  UniqueFd host_ns_, events_, wake_;                // wake_: an eventfd that stops run()
  std::thread thread_;
};

}  // namespace dvr::kernel
