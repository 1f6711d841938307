#include "lab/places.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "kernel/netns.h"
#include "lab/lab.h"

namespace dvr::lab {

namespace fs = std::filesystem;
using kernel::checkErrno;
using kernel::UniqueFd;

std::string nsPath(const std::string& name) {
  return std::string(kLabRoot) + "/ns/" + name;
}
std::string hostNsPath(const std::string& host, const char* kind) {
  return std::string(kLabRoot) + "/hosts/" + host + "." + kind;
}
std::string labFile(const std::string& name) {
  return std::string(kLabFiles) + "/" + name;
}
std::string topologyCopy() {
  return labFile("topology.yaml");
}

UniqueFd openPath(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  checkErrno(bool(fd), "open " + path);
  return fd;
}

std::string trimName(std::string name) {
  return name.substr(0, 15);
}  // IFNAMSIZ - 1

void requireRoot() {
  if (::geteuid() != 0)
    throw std::runtime_error("dvr lab needs root (namespaces, links, mounts)");
}

void writeTopology(const std::string& source) {
  std::string tmp = topologyCopy() + ".new";
  fs::copy_file(source, tmp, fs::copy_options::overwrite_existing);
  fs::rename(tmp, topologyCopy());  // atomic: agents never read half a file
}

namespace {

// A child that has entered `host` (mount + network namespace) and runs `fn`; the
// caller waits for it.
pid_t forkInHost(const std::string& host, const std::function<int()>& fn) {
  UniqueFd mnt = openPath(hostNsPath(host, "mnt"));
  UniqueFd net = openPath(hostNsPath(host, "net"));
  std::string cwd = fs::current_path().string();
  pid_t pid = ::fork();
  checkErrno(pid >= 0, "fork");
  if (pid == 0) {
    if (::setns(net.get(), CLONE_NEWNET) != 0 || ::setns(mnt.get(), CLONE_NEWNS) != 0)
      _exit(126);
    // Entering a mount namespace moves to its root; keep relative paths working.
    if (::chdir(cwd.c_str()) != 0)
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

int inHost(const std::string& host, const std::function<int()>& fn) {
  return waitChild(forkInHost(host, fn));
}

std::string inHostOutput(const std::string& host, const std::function<std::string()>& fn) {
  int fds[2];
  checkErrno(::pipe2(fds, O_CLOEXEC) == 0, "pipe");
  pid_t pid = forkInHost(host, [&] {
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

void createHost(const std::string& host) {
  int ready[2], done[2];
  checkErrno(::pipe2(ready, O_CLOEXEC) == 0 && ::pipe2(done, O_CLOEXEC) == 0, "pipe");
  pid_t pid = ::fork();
  checkErrno(pid >= 0, "fork");
  if (pid == 0) {
    bool ok = ::unshare(CLONE_NEWNET | CLONE_NEWNS) == 0 &&
              ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
    // Drop this mount namespace's copies of the lab's namespace binds, and of the real
    // host's /run/netns: the lab host sees only what its agent makes.
    ::umount2(kLabRoot, MNT_DETACH);
    ::umount2(kernel::kNetnsDir, MNT_DETACH);
    ::mkdir(kernel::kNetnsDir, 0755);
    ok = ok && ::mount("tmpfs", kernel::kNetnsDir, "tmpfs", 0, "mode=755") == 0;
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
      throw std::runtime_error("cannot create namespaces for lab host " + host);
    kernel::bindNamespace(openPath(proc + "net").get(), hostNsPath(host, "net"));
    kernel::bindNamespace(openPath(proc + "mnt").get(), hostNsPath(host, "mnt"));
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

pid_t startInHost(const std::string& host, const std::string& name,
                  const std::vector<std::string>& argv) {
  UniqueFd log(
      ::open(labFile(name + ".log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  checkErrno(bool(log), "open " + name + " log");
  UniqueFd mnt = openPath(hostNsPath(host, "mnt"));
  UniqueFd net = openPath(hostNsPath(host, "net"));
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  checkErrno(pid >= 0, "fork");
  if (pid == 0) {
    ::setsid();
    ::dup2(log.get(), 1);
    ::dup2(log.get(), 2);
    if (::setns(net.get(), CLONE_NEWNET) != 0 || ::setns(mnt.get(), CLONE_NEWNS) != 0)
      _exit(126);
    ::execv(args[0], args.data());
    _exit(127);
  }
  std::ofstream(labFile(name + ".pid")) << pid << "\n";
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

pid_t readPid(const std::string& name) {
  std::ifstream in(labFile(name + ".pid"));
  pid_t pid = 0;
  in >> pid;
  return pid;
}

std::string tail(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);)
    all.push_back(l);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out += all[i] + "\n";
  return out;
}

}  // namespace dvr::lab
