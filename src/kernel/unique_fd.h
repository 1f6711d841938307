// A move-only file descriptor, and errno-checked system calls that name what failed.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace dvr::kernel {

// A failed system call or kernel operation: names the operation and the object.
class KernelError : public std::runtime_error {
 public:
  KernelError(const std::string& what, int err)
      : std::runtime_error(what + ": " + std::strerror(err)), err_(err) {}
  // `detail` is the library's own wording of the refusal (libnl's "Object exists").
  KernelError(const std::string& what, int err, const std::string& detail)
      : std::runtime_error(what + ": " + detail), err_(err) {}
  int err() const { return err_; }

 private:
  int err_;
};

inline void checkErrno(bool ok, const std::string& what) {
  if (!ok)
    throw KernelError(what, errno);
}

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

}  // namespace dvr::kernel
