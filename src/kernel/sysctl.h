// sysctl(8) keys inside a network namespace: /proc/sys/net reflects the namespace of
// the thread that opens it.
#pragma once

#include <string>

namespace dvr::kernel {

// "" when the key does not exist (e.g. a device that is not there yet).
std::string readSysctl(int netns_fd, const std::string& key);
void writeSysctl(int netns_fd, const std::string& key, const std::string& value);

}  // namespace dvr::kernel
