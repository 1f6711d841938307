#include "kernel/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

namespace dvr::kernel {

ScopedNetns::ScopedNetns(int target_fd) {
  saved_ = UniqueFd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  checkErrno(bool(saved_), "open /proc/thread-self/ns/net");
  checkErrno(::setns(target_fd, CLONE_NEWNET) == 0, "setns");
}

ScopedNetns::~ScopedNetns() {
  if (::setns(saved_.get(), CLONE_NEWNET) != 0)
    std::terminate();  // a thread stuck elsewhere is unrecoverable
}

UniqueFd openNetns(const std::string& name) {
  std::string path =
      name.empty() ? "/proc/thread-self/ns/net" : std::string(kNetnsDir) + "/" + name;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  checkErrno(bool(fd), "open netns " + path);
  return fd;
}

void bindNamespace(int ns_fd, const std::string& path) {
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  checkErrno(bool(file), "create " + path);
  std::string source = "/proc/self/fd/" + std::to_string(ns_fd);
  if (::mount(source.c_str(), path.c_str(), "none", MS_BIND, nullptr) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    throw KernelError("bind netns at " + path, err);
  }
}

void unbindNamespace(const std::string& path) {
  ::umount2(path.c_str(), MNT_DETACH);
  ::unlink(path.c_str());
}

void mountBindDirectory(const std::string& path) {
  ::mkdir(path.c_str(), 0755);
  checkErrno(::mount("tmpfs", path.c_str(), "tmpfs", 0, "mode=755") == 0, "mount tmpfs on " + path);
  checkErrno(::mount(nullptr, path.c_str(), nullptr, MS_PRIVATE, nullptr) == 0,
             "make " + path + " private");
}

void unmountBindDirectory(const std::string& path) {
  ::umount2(path.c_str(), MNT_DETACH);
  ::rmdir(path.c_str());
}

namespace {

// Moves the calling thread into a new network namespace and binds that at `path`.
void unshareAndBind(const std::string& path) {
  checkErrno(::unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET)");
  UniqueFd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  checkErrno(bool(self), "open own netns");
  bindNamespace(self.get(), path);
}

// Brings the loopback of the calling thread's namespace up.
void loopbackUp() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  checkErrno(bool(sock), "socket for lo");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  checkErrno(::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) == 0, "ip link show lo");
  ifr.ifr_flags |= IFF_UP;
  checkErrno(::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) == 0, "ip link set lo up");
}

}  // namespace

void createNetnsAt(const std::string& path) {
  std::exception_ptr failure;
  // unshare() moves only this helper thread; the process stays where it is.
  std::thread([&] {
    try {
      unshareAndBind(path);
    } catch (...) {
      failure = std::current_exception();
    }
  }).join();
  if (failure)
    std::rethrow_exception(failure);
}

void createNetns(const std::string& name) {
  createNetnses({name}, 1);
}

void createNetnses(const std::vector<std::string>& names, unsigned threads) {
  if (names.empty())
    return;
  ::mkdir(kNetnsDir, 0755);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex failure_mu;
  std::exception_ptr failure;
  // Each helper unshares into one new namespace after another; only it moves.
  auto helper = [&] {
    try {
      for (size_t i = next++; i < names.size() && !failed; i = next++) {
        unshareAndBind(std::string(kNetnsDir) + "/" + names[i]);
        loopbackUp();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mu);
      if (!failure)
        failure = std::current_exception();
      failed = true;
    }
  };
  std::vector<std::thread> helpers;
  for (unsigned t = 0; t < std::max(1u, std::min<unsigned>(threads, names.size())); ++t)
    helpers.emplace_back(helper);
  for (auto& h : helpers)
    h.join();
  if (failure)
    std::rethrow_exception(failure);
}

void deleteNetns(const std::string& name) {
  std::string path = std::string(kNetnsDir) + "/" + name;
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    throw KernelError("umount " + path, errno);
  }
  checkErrno(::unlink(path.c_str()) == 0 || errno == ENOENT, "unlink " + path);
}

std::vector<std::string> listDirectory(const std::string& path) {
  std::vector<std::string> out;
  if (DIR* dir = ::opendir(path.c_str())) {
    while (dirent* e = ::readdir(dir)) {
      if (e->d_name[0] != '.')
        out.emplace_back(e->d_name);
    }
    ::closedir(dir);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> listNetns() {
  return listDirectory(kNetnsDir);
}

}  // namespace dvr::kernel
