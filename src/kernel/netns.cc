#include "kernel/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <exception>
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

void createNetnsAt(const std::string& path) {
  std::exception_ptr failure;
  // unshare() moves only this helper thread; the process stays where it is.
  std::thread([&] {
    try {
      checkErrno(::unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET)");
      UniqueFd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
      checkErrno(bool(self), "open own netns");
      bindNamespace(self.get(), path);
    } catch (...) {
      failure = std::current_exception();
    }
  }).join();
  if (failure)
    std::rethrow_exception(failure);
}

void createNetns(const std::string& name) {
  ::mkdir(kNetnsDir, 0755);
  createNetnsAt(std::string(kNetnsDir) + "/" + name);
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
