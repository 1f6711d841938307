// Code and programs run inside a host: a network namespace and, for a lab host, a mount
// namespace of its own, each bound at a file. A function or a program runs in a forked
// child that enters them first, so none of the caller's threads moves. Also: making such
// a host, and finding and stopping the processes that run in given namespaces (cleaning
// up after a crash). Nothing here knows where the lab keeps its files.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dvr::kernel {

struct HostNamespaces {
  std::string net;  // the network namespace's bind
  std::string mnt;  // the mount namespace's bind, or "" to stay in the caller's
};

// A host: new network and mount namespaces, bound at `where.net` and `where.mnt`. Its
// mounts are private; inside it, the mounts at `hide` are gone, /run/netns is an empty
// tmpfs (`ip netns` lists only what is made in the host) and /sys shows its own devices.
void createHost(const HostNamespaces& where, const std::vector<std::string>& hide);

// Runs `fn` in a child inside `where` (in the caller's working directory when it enters
// a mount namespace) and waits; the child's exit status, 128 + the signal that killed it,
// or 126 when it could not enter.
int runIn(const HostNamespaces& where, const std::function<int()>& fn);
// The same, returning what `fn` returned.
std::string outputOf(const HostNamespaces& where, const std::function<std::string()>& fn);
// Runs argv (looked up in PATH) inside `where` and waits: its exit status, or 127 when it
// cannot be run.
int runProgramIn(const HostNamespaces& where, const std::vector<std::string>& argv);
// Starts argv (argv[0] a path) inside `where` in a session of its own, stdout and stderr
// on `log_fd`, stdin /dev/null, no other descriptor of the caller and default signal
// handling; does not wait.
pid_t startIn(const HostNamespaces& where, const std::vector<std::string>& argv, int log_fd);

// Running (a zombie whose parent never reaps it counts as gone).
bool alive(pid_t pid);
// Asks `pid` to stop (SIGTERM).
void terminate(pid_t pid);
// Reaps `pid` if it is an exited child of this process; returns at once otherwise.
void reap(pid_t pid);

// A namespace's identity: the device and inode of its file (a bind or /proc/PID/ns/*).
using NamespaceId = std::pair<dev_t, ino_t>;
std::optional<NamespaceId> namespaceId(const std::string& path);
// SIGKILLs every other process whose network or mount namespace is one of `ids`.
void killProcessesIn(const std::set<NamespaceId>& ids);

}  // namespace dvr::kernel
