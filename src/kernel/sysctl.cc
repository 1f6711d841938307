#include "kernel/sysctl.h"

#include <fcntl.h>

#include "kernel/netns.h"

namespace dvr::kernel {
namespace {

// net.ipv4.conf.qr-x.send_redirects -> /proc/sys/net/ipv4/conf/qr-x/send_redirects.
// Device names hold no dots (Neutron's names never do), so every dot is a separator.
std::string pathOf(const std::string& key) {
  std::string path = "/proc/sys/" + key;
  for (size_t i = 10; i < path.size(); ++i) {
    if (path[i] == '.')
      path[i] = '/';
  }
  return path;
}

}  // namespace

std::string readSysctl(int netns_fd, const std::string& key) {
  ScopedNetns in(netns_fd);
  UniqueFd fd(::open(pathOf(key).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    return "";
  char buf[64] = {};
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  std::string value(buf, n > 0 ? size_t(n) : 0);
  while (!value.empty() && (value.back() == '\n' || value.back() == ' '))
    value.pop_back();
  return value;
}

void writeSysctl(int netns_fd, const std::string& key, const std::string& value) {
  ScopedNetns in(netns_fd);
  UniqueFd fd(::open(pathOf(key).c_str(), O_WRONLY | O_CLOEXEC));
  checkErrno(bool(fd), "sysctl " + key);
  checkErrno(::write(fd.get(), value.data(), value.size()) == ssize_t(value.size()),
             "sysctl -w " + key + "=" + value);
}

}  // namespace dvr::kernel
