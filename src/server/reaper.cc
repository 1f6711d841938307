#include "server/reaper.h"

namespace dvr::server {

Reaper::Reaper() : thread_([this] { run(); }) {}

Reaper::~Reaper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void Reaper::drop(std::shared_ptr<const void> p) {
  if (!p)
    return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() < kBacklog) {
      queue_.push_back(std::move(p));
      wake_.notify_one();
      return;
    }
  }
  p.reset();  // the thread is behind: release here, outside the lock
}

void Reaper::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    while (!queue_.empty()) {
      std::shared_ptr<const void> next = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      next.reset();
      lock.lock();
    }
    if (stopping_)
      return;
  }
}

}  // namespace dvr::server
