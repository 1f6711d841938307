// Network namespaces by name, as iproute2 keeps them (/run/netns/NAME bind mounts),
// and a scope that runs the calling thread inside one.
#pragma once

#include <string>
#include <vector>

#include "kernel/unique_fd.h"

namespace dvr::kernel {

inline constexpr const char* kNetnsDir = "/run/netns";

// Enters the network namespace `fd` on this thread; restores the previous one on exit.
class ScopedNetns {
 public:
  explicit ScopedNetns(int target_fd);
  ~ScopedNetns();
  ScopedNetns(const ScopedNetns&) = delete;
  ScopedNetns& operator=(const ScopedNetns&) = delete;

 private:
  UniqueFd saved_;
};

// Opens a namespace handle: "" is the caller's own namespace, otherwise /run/netns/NAME.
UniqueFd openNetns(const std::string& name);
// Creates /run/netns/NAME holding a new, empty network namespace (loopback up).
void createNetns(const std::string& name);
// The same for many names, on `threads` helper threads: a namespace's setup runs mostly
// outside global locks, so two cores make them nearly twice as fast. The caller's thread
// stays where it is. Throws the first failure once the helpers are done; namespaces
// already made stay (a reconcile that follows finds them).
void createNetnses(const std::vector<std::string>& names, unsigned threads = 2);
// Unmounts and removes /run/netns/NAME; the namespace dies with its last user.
void deleteNetns(const std::string& name);
std::vector<std::string> listNetns();
// Entries of a directory, sorted, without dot files; empty if it does not exist.
std::vector<std::string> listDirectory(const std::string& path);

// Binds the network namespace `ns_fd` at `path` (an empty file is created).
void bindNamespace(int ns_fd, const std::string& path);
// Undoes bindNamespace, best effort: a bind or file already gone is skipped.
void unbindNamespace(const std::string& path);
// A tmpfs at `path` (made if missing) to hold namespace binds, private: binds made under
// it do not propagate into other mount namespaces. unmountBindDirectory removes it.
void mountBindDirectory(const std::string& path);
void unmountBindDirectory(const std::string& path);
// Creates a new network namespace on a helper thread and binds it at `path`.
void createNetnsAt(const std::string& path);

}  // namespace dvr::kernel
