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

std::string readHere(const std::string& key) {
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

void writeHere(const std::string& key, const std::string& value, const std::string& where = "") {
  std::string what = "sysctl -w " + key + "=" + value + where;
  UniqueFd fd(::open(pathOf(key).c_str(), O_WRONLY | O_CLOEXEC));
  checkErrno(bool(fd), what);
  checkErrno(::write(fd.get(), value.data(), value.size()) == ssize_t(value.size()), what);
}

}  // namespace

std::string readSysctl(int netns_fd, const std::string& key) {
  ScopedNetns in(netns_fd);
  return readHere(key);
}

void writeSysctl(int netns_fd, const std::string& key, const std::string& value) {
  ScopedNetns in(netns_fd);
  writeHere(key, value);
}

std::vector<std::string> readSysctls(int netns_fd, const std::vector<const plan::Sysctl*>& keys) {
  std::vector<std::string> out;
  if (keys.empty())
    return out;
  ScopedNetns in(netns_fd);
  out.reserve(keys.size());
  for (const plan::Sysctl* s : keys)
    out.push_back(readHere(s->key));
  return out;
}

void writeSysctls(int netns_fd, const std::vector<const plan::Sysctl*>& values,
                  const std::string& ns_label) {
  if (values.empty())
    return;
  ScopedNetns in(netns_fd);
  for (const plan::Sysctl* s : values)
    writeHere(s->key, s->value, " (" + ns_label + ")");
}

}  // namespace dvr::kernel
