#include "kernel/daemons.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "kernel/files.h"
#include "kernel/host_process.h"
#include "kernel/netns.h"
#include "kernel/unique_fd.h"

namespace dvr::kernel {
namespace {

namespace fs = std::filesystem;

std::string expand(const std::string& arg, const std::string& dir) {
  std::string out = arg;
  for (size_t at; (at = out.find("{dir}")) != std::string::npos;)
    out.replace(at, 5, dir);
  return out;
}

// argv[0] as execvp would find it (startIn wants a path).
std::string program(const std::string& name) {
  if (name.find('/') != std::string::npos)
    return name;
  for (const char* dir :
       {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    std::string path = std::string(dir) + "/" + name;
    if (::access(path.c_str(), X_OK) == 0)
      return path;
  }
  throw KernelError("start " + name + ": not installed", ENOENT);
}

// Whether `pid` handles SIGHUP (caught, or blocked for a signalfd), waiting up to 2 s for
// it: a daemon signalled before it installs its handler dies of the default action.
// Blocked counts: keepalived takes its signals from a signalfd.
bool handlesHangup(int pid) {
  const unsigned long bit = 1ul << (SIGHUP - 1);
  for (int i = 0; i < 200; ++i) {
    auto status = readFile("/proc/" + std::to_string(pid) + "/status");
    if (!status)
      return false;
    std::istringstream lines(*status);
    for (std::string line; std::getline(lines, line);) {
      if ((line.rfind("SigCgt:", 0) == 0 || line.rfind("SigBlk:", 0) == 0) &&
          (std::stoul(line.substr(7), nullptr, 16) & bit))
        return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

SystemDaemons::SystemDaemons(std::string host, std::string root)
    : dir_(std::move(root) + "/" + std::move(host)) {}

std::vector<std::string> SystemDaemons::list() {
  return listDirectory(dir_);
}

bool SystemDaemons::runs(const std::string& name, int pid) const {
  if (pid <= 0)
    return false;
  reap(pid);  // ours and exited: not a zombie for ever
  if (!alive(pid))
    return false;
  // Its command line names its directory: a pid reused by another process does not.
  auto cmdline = readFile("/proc/" + std::to_string(pid) + "/cmdline");
  return cmdline && cmdline->find(dirOf(name)) != std::string::npos;
}

int SystemDaemons::pidOf(const std::string& name) {
  auto text = readFile(dirOf(name) + "/pid");
  int pid = text ? std::atoi(text->c_str()) : 0;
  return runs(name, pid) ? pid : 0;
}

std::string SystemDaemons::ensure(const plan::Daemon& d) {
  std::string dir = dirOf(d.name);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw KernelError("mkdir " + dir, ec.value());
  bool changed = false;
  for (const auto& [file, text] : d.files) {
    std::string path = dir + "/" + file, content = expand(text, dir);
    if (readFile(path) != content) {
      writeFile(path, content);
      changed = true;
    }
  }
  int pid = pidOf(d.name);
  if (pid > 0) {
    watchLinks(d);  // an agent restarted: its watcher is new
    if (!changed)
      return "";
    if (d.reload == plan::Daemon::Reload::kHangup && handlesHangup(pid)) {
      checkErrno(::kill(pid, SIGHUP) == 0, "reload " + d.name);
      return "reload";
    }
    terminateAndWait(d.name, pid);  // it cannot reload: it starts again from its files
  }
  // It starts from its files only: what an earlier run left (a pid file naming a process
  // that is gone, or a zombie, which keepalived takes for itself running) goes.
  for (const auto& f : listDirectory(dir)) {
    if (!d.files.count(f) && f != "log" && !(d.link_watch && f == d.link_watch->file))
      fs::remove(dir + "/" + f, ec);
  }
  watchLinks(d);
  std::vector<std::string> argv;
  for (const auto& a : d.argv)
    argv.push_back(expand(a, dir));
  argv.front() = program(argv.front());
  UniqueFd log(::open((dir + "/log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  checkErrno(log.get() >= 0, "open " + dir + "/log");
  std::string netns = d.ns.empty() ? "/proc/self/ns/net" : std::string(kNetnsDir) + "/" + d.ns;
  pid = startIn({netns, ""}, argv, log.get());
  writeFile(dir + "/pid", std::to_string(pid) + "\n");
  return "start";
}

void SystemDaemons::watchLinks(const plan::Daemon& d) {
  if (!d.link_watch)
    return;
  if (!links_)
    links_ = std::make_unique<LinkWatcher>();
  links_->watch(dirOf(d.name) + "/" + d.link_watch->file, *d.link_watch);
}

void SystemDaemons::terminateAndWait(const std::string& name, int pid) {
  terminate(pid);
  // keepalived removes its addresses as it stops: let it, for a while.
  for (int i = 0; i < 100 && runs(name, pid); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (runs(name, pid))
    ::kill(pid, SIGKILL);
  reap(pid);
}

void SystemDaemons::stop(const std::string& name) {
  if (int pid = pidOf(name); pid > 0)
    terminateAndWait(name, pid);
  if (links_)
    links_->forgetUnder(dirOf(name) + "/");
  std::error_code ec;
  fs::remove_all(dirOf(name), ec);
}

}  // namespace dvr::kernel
