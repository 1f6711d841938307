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

// Many keys of one namespace with a single namespace switch (a thousand namespaces hold
// ten thousand keys). Reading gives "" for a key that does not exist.
std::vector<std::string> readSysctls(int netns_fd, const std::vector<const plan::Sysctl*>& keys);
// A refusal names the key and `ns_label` ("netns qrouter-…").
void writeSysctls(int netns_fd, const std::vector<const plan::Sysctl*>& values,
                  const std::string& ns_label);

}  // namespace dvr::kernel
