#include "kernel/host_process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "kernel/netns.h"
#include "kernel/unique_fd.h"

namespace dvr::kernel {
namespace {

UniqueFd openPath(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  checkErrno(bool(fd), "open " + path);
  return fd;
}

// The open namespace files of a host, to enter from a child after fork().
struct Entry {
  UniqueFd net, mnt;
  explicit Entry(const HostNamespaces& where)
      : net(openPath(where.net)), mnt(where.mnt.empty() ? UniqueFd() : openPath(where.mnt)) {}
  // In the child: network first (a mount namespace entered first could hide its bind).
  bool enter() const {
    return ::setns(net.get(), CLONE_NEWNET) == 0 && (!mnt || ::setns(mnt.get(), CLONE_NEWNS) == 0);
  }
};

std::vector<char*> argvOf(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return args;
}

// A child that has entered `where` and runs `fn`; the caller waits for it.
pid_t forkIn(const HostNamespaces& where, const std::function<int()>& fn) {
  Entry entry(where);
  std::string cwd = std::filesystem::current_path().string();
  pid_t pid = ::fork();
  checkErrno(pid >= 0, "fork");
  if (pid == 0) {
    if (!entry.enter())
      _exit(126);
    // Entering a mount namespace moves to its root; keep relative paths working.
    if (entry.mnt && ::chdir(cwd.c_str()) != 0)
      _exit(126);
    _exit(fn());
  }
  return pid;
}

int waitChild(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

void createHost(const HostNamespaces& where, const std::vector<std::string>& hide) {
  // A child makes the namespaces and holds them until the parent has bound them.
  int ready[2], done[2];
  checkErrno(::pipe2(ready, O_CLOEXEC) == 0 && ::pipe2(done, O_CLOEXEC) == 0, "pipe");
  pid_t pid = ::fork();
  checkErrno(pid >= 0, "fork");
  if (pid == 0) {
    bool ok = ::unshare(CLONE_NEWNET | CLONE_NEWNS) == 0 &&
              ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
    for (const auto& path : hide)
      ::umount2(path.c_str(), MNT_DETACH);
    // Drop this mount namespace's copy of the machine's /run/netns.
    ::umount2(kNetnsDir, MNT_DETACH);
    ::mkdir(kNetnsDir, 0755);
    ok = ok && ::mount("tmpfs", kNetnsDir, "tmpfs", 0, "mode=755") == 0;
    ::umount2("/sys", MNT_DETACH);
    ok = ok && ::mount("sysfs", "/sys", "sysfs", 0, nullptr) == 0;
    char c = ok ? 'y' : 'n';
    [[maybe_unused]] auto w = ::write(ready[1], &c, 1);
    [[maybe_unused]] auto r = ::read(done[0], &c, 1);
    _exit(0);
  }
  ::close(ready[1]);
  ::close(done[0]);
  char c = 'n';
  [[maybe_unused]] auto r = ::read(ready[0], &c, 1);
  std::string proc = "/proc/" + std::to_string(pid) + "/ns/";
  std::exception_ptr failure;
  try {
    if (c != 'y')
      throw std::runtime_error("cannot create the namespaces of host " + where.net);
    bindNamespace(openPath(proc + "net").get(), where.net);
    bindNamespace(openPath(proc + "mnt").get(), where.mnt);
  } catch (...) {
    failure = std::current_exception();
  }
  [[maybe_unused]] auto w = ::write(done[1], &c, 1);
  ::close(ready[0]);
  ::close(done[1]);
  ::waitpid(pid, nullptr, 0);
  if (failure)
    std::rethrow_exception(failure);
}

int runIn(const HostNamespaces& where, const std::function<int()>& fn) {
  return waitChild(forkIn(where, fn));
}

std::string outputOf(const HostNamespaces& where, const std::function<std::string()>& fn) {
  int fds[2];
  checkErrno(::pipe2(fds, O_CLOEXEC) == 0, "pipe");
  pid_t pid = forkIn(where, [&] {
    std::string out = fn();
    for (size_t off = 0; off < out.size();) {
      ssize_t n = ::write(fds[1], out.data() + off, out.size() - off);
      if (n <= 0)
        return 1;
      off += size_t(n);
    }
    return 0;
  });
  ::close(fds[1]);
  // Read before waiting: a child with more to say than the pipe holds waits for us.
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    text.append(buf, size_t(n));
  ::close(fds[0]);
  waitChild(pid);
  return text;
}

int runProgramIn(const HostNamespaces& where, const std::vector<std::string>& argv) {
  std::vector<char*> args = argvOf(argv);
  return runIn(where, [&] {
    ::execvp(args[0], args.data());
    return 127;
  });
}

pid_t startIn(const HostNamespaces& where, const std::vector<std::string>& argv, int log_fd) {
  Entry entry(where);
  std::vector<char*> args = argvOf(argv);
  pid_t pid = ::fork();
  checkErrno(pid >= 0, "fork");
  if (pid == 0) {
    ::setsid();
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    if (!entry.enter())
      _exit(126);
    // A long-lived process keeps only its log: inherited descriptors (a caller's flock on
    // the lab lock, sockets) would outlive the caller in it.
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0)
      ::dup2(null, 0);
    ::close_range(3, ~0U, 0);
    // Nor the caller's signal state (e.g. SIGHUP ignored under nohup: a shell could not
    // trap it then), as systemd starts its services.
    for (int sig = 1; sig < NSIG; ++sig)
      ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

bool alive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0)
    return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  stat >> pid_field >> comm >> state;
  return state != "Z";
}

void terminate(pid_t pid) {
  ::kill(pid, SIGTERM);
}

void reap(pid_t pid) {
  ::waitpid(pid, nullptr, WNOHANG);
}

std::optional<NamespaceId> namespaceId(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return std::nullopt;
  return NamespaceId{st.st_dev, st.st_ino};
}

void killProcessesIn(const std::set<NamespaceId>& ids) {
  if (ids.empty())
    return;
  for (const auto& pid : listDirectory("/proc")) {
    if (pid.find_first_not_of("0123456789") != std::string::npos || std::stoi(pid) == ::getpid())
      continue;
    auto net = namespaceId("/proc/" + pid + "/ns/net");
    auto mnt = namespaceId("/proc/" + pid + "/ns/mnt");
    if ((net && ids.count(*net)) || (mnt && ids.count(*mnt)))
      ::kill(std::stoi(pid), SIGKILL);
  }
}

}  // namespace dvr::kernel
