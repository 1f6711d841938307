// Frees what a write replaced on a thread of its own. The state a write replaces holds
// the whole cloud (100,000 ports: a sixth of a port create's time went to freeing it), and
// the client waiting for the write's answer need not wait for that.
//
// Contract: drop(p) releases p later, on the reaper's thread, in the order given; at most
// kBacklog wait there (beyond, drop releases inline, so memory stays bounded when writes
// outpace the thread). The destructor releases what is left and joins the thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

namespace dvr::server {

class Reaper {
 public:
  Reaper();
  ~Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  void drop(std::shared_ptr<const void> p);

 private:
  static constexpr size_t kBacklog = 4;
  void run();
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<const void>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dvr::server
