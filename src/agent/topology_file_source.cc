#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/cloud_source.h"
#include "ipam/resolve.h"
#include "kernel/unique_fd.h"
#include "model/error.h"
#include "model/topology_reparse.h"

namespace dvr::agent {
namespace {

class TopologyFileSource : public CloudSource {
 public:
  explicit TopologyFileSource(std::string path) : path_(std::move(path)) {
    auto abs = std::filesystem::absolute(path_);
    dir_ = abs.parent_path().string();
    name_ = abs.filename().string();
    fd_ = kernel::UniqueFd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    kernel::checkErrno(bool(fd_), "inotify_init1");
    // Watch the directory: editors and `dvr lab apply` replace the file by rename.
    kernel::checkErrno(
        ::inotify_add_watch(fd_.get(), dir_.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) >= 0,
        "inotify_add_watch " + dir_);
  }

  // The file is read whole each time; of its VMs only the entries that changed are
  // parsed (model/topology_reparse.h).
  model::Cloud load() override {
    std::ifstream in(path_);
    if (!in)
      throw InputError(path_, {{"file", "cannot be read", 0}});
    std::stringstream text;
    text << in.rdbuf();
    return ipam::resolve(reparser_.parse(text.str(), path_), path_);
  }

  bool waitForChange(int stop_fd, int timeout_ms) override {
    for (;;) {
      pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {stop_fd, POLLIN, 0}};
      int n = ::poll(fds, 2, timeout_ms);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return false;
      }
      if (n == 0)
        return true;  // timed out: the caller retries
      if (fds[1].revents)
        return false;
      alignas(inotify_event) char buf[4096];
      ssize_t got = ::read(fd_.get(), buf, sizeof buf);
      for (ssize_t off = 0; off < got;) {
        auto* ev = reinterpret_cast<inotify_event*>(buf + off);
        if (ev->len && name_ == ev->name)
          return true;
        off += ssize_t(sizeof(inotify_event) + ev->len);
      }
    }
  }

 private:
  std::string path_, dir_, name_;
  model::TopologyReparser reparser_;
  kernel::UniqueFd fd_;
};

}  // namespace

std::unique_ptr<CloudSource> topologyFileSource(const std::string& path) {
  return std::make_unique<TopologyFileSource>(path);
}

}  // namespace dvr::agent
