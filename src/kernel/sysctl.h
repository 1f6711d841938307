// sysctl(8) keys inside a network namespace: /proc/sys/net reflects the namespace of
// the thread that opens it.
#pragma once

#include <string>
#include <vector>

#include "plan/host_plan.h"

namespace dvr::kernel {

// "" when the key does not exist (e.g. a device that is not there yet).
std::string readSysctl(int netns_fd, const std::string& key);
void writeSysctl(int netns_fd, const std::string& key, const std::string& value);

// Brings keys of one namespace to their values with a single namespace switch (a
// thousand namespaces hold ten thousand keys): reads each first unless `read_first` is
// false (a namespace just made), writes those that differ. Returns the ones written.
std::vector<const plan::Sysctl*> syncSysctls(int netns_fd,
                                             const std::vector<const plan::Sysctl*>& want,
                                             bool read_first);

}  // namespace dvr::kernel
