#include "lab/lab.h"

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "ipam/resolve.h"
#include "kernel/features.h"
#include "kernel/netns.h"
#include "lab/api_lab.h"
#include "lab/nodes.h"
#include "lab/places.h"
#include "model/error.h"

namespace dvr::lab {
namespace {

namespace fs = std::filesystem;
using kernel::checkErrno;
using kernel::UniqueFd;

using NsId = std::pair<dev_t, ino_t>;

std::optional<NsId> nsId(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return std::nullopt;
  return NsId{st.st_dev, st.st_ino};
}

// The namespaces a lab host's agent made, seen from inside the host.
std::vector<std::string> hostNamespaces(const std::string& host) {
  std::string text = inHostOutput(host, [] {
    std::string all;
    for (const auto& ns : kernel::listDirectory(kernel::kNetnsDir))
      all += ns + "\n";
    return all;
  });
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

// Network namespace ids of everything the lab made, including the agents' namespaces.
std::set<NsId> labNamespaceIds() {
  std::set<NsId> ids;
  for (const auto& f : kernel::listDirectory(std::string(kLabRoot) + "/ns")) {
    if (auto id = nsId(nsPath(f)))
      ids.insert(*id);
  }
  for (const auto& f : kernel::listDirectory(std::string(kLabRoot) + "/hosts")) {
    if (auto id = nsId(std::string(kLabRoot) + "/hosts/" + f))
      ids.insert(*id);
    if (f.size() > 4 && f.substr(f.size() - 4) == ".mnt") {
      std::string host = f.substr(0, f.size() - 4);
      // The namespaces its agent made, as "dev ino" lines from inside the host.
      std::istringstream in(inHostOutput(host, [] {
        std::string out;
        for (const auto& ns : kernel::listDirectory(kernel::kNetnsDir)) {
          if (auto id = nsId(std::string(kernel::kNetnsDir) + "/" + ns))
            out += std::to_string(id->first) + " " + std::to_string(id->second) + "\n";
        }
        return out;
      }));
      NsId id;
      while (in >> id.first >> id.second)
        ids.insert(id);
    }
  }
  return ids;
}

}  // namespace

bool isUp() {
  return fs::exists(std::string(kLabRoot) + "/ns/fabric");
}

void up(const std::string& topology_path, const std::string& dvr_binary, bool api) {
  requireRoot();
  model::Cloud cloud = ipam::loadCloudFile(topology_path);  // bad input: nothing is made
  if (isUp() || fs::exists(kLabFiles))
    throw std::runtime_error("a lab is already up (or left over): run 'dvr lab down' first");
  for (const auto& p : cloud.ports) {
    if (p.device_owner == model::kOwnerCompute &&
        (cloud.findHost(p.name) || p.name == "fabric" || p.name.rfind("gateway", 0) == 0)) {
      throw InputError(topology_path,
                       {{"vm '" + p.name + "'", "its name is taken by a lab host", 0}});
    }
  }
  kernel::requireKernelFeatures("dvr lab");
  try {
    fs::create_directories(kLabFiles);
    ::mkdir(kLabRoot, 0755);
    checkErrno(::mount("tmpfs", kLabRoot, "tmpfs", 0, "mode=755") == 0,
               std::string("mount tmpfs on ") + kLabRoot);
    checkErrno(::mount(nullptr, kLabRoot, nullptr, MS_PRIVATE, nullptr) == 0,
               "make lab root private");
    fs::create_directories(std::string(kLabRoot) + "/ns");
    fs::create_directories(std::string(kLabRoot) + "/hosts");
    writeTopology(topology_path);
    build(cloud, !api);
    if (api) {
      startApiLab(cloud, dvr_binary);
    } else {
      for (const auto& h : cloud.hosts)
        startAgent(h.name, dvr_binary);
    }
    waitReady(cloud);
  } catch (...) {
    down();
    throw;
  }
}

void down() {
  requireRoot();
  std::vector<pid_t> agents;
  for (const auto& f : kernel::listDirectory(kLabFiles)) {
    if (f.size() > 4 && f.substr(f.size() - 4) == ".pid") {
      pid_t pid = readPid(f.substr(0, f.size() - 4));
      if (alive(pid)) {
        ::kill(pid, SIGTERM);
        agents.push_back(pid);
      }
    }
  }
  for (int i = 0; i < 100 && std::any_of(agents.begin(), agents.end(), alive); ++i) {
    for (pid_t p : agents)
      ::waitpid(p, nullptr, WNOHANG);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Anything still running inside a lab namespace (agents, tcpdump, iperf3 ...) goes.
  std::set<NsId> ids =
      isUp() || fs::exists(std::string(kLabRoot) + "/hosts") ? labNamespaceIds() : std::set<NsId>{};
  if (!ids.empty()) {
    for (const auto& pid : kernel::listDirectory("/proc")) {
      if (pid.find_first_not_of("0123456789") != std::string::npos || std::stoi(pid) == ::getpid())
        continue;
      auto net = nsId("/proc/" + pid + "/ns/net");
      auto mnt = nsId("/proc/" + pid + "/ns/mnt");
      if ((net && ids.count(*net)) || (mnt && ids.count(*mnt)))
        ::kill(std::stoi(pid), SIGKILL);
    }
  }
  for (const char* sub : {"/ns", "/hosts"}) {
    std::string dir = std::string(kLabRoot) + sub;
    for (const auto& f : kernel::listDirectory(dir)) {
      std::string path = dir + "/" + f;
      ::umount2(path.c_str(), MNT_DETACH);
      ::unlink(path.c_str());
    }
  }
  ::umount2(kLabRoot, MNT_DETACH);
  ::rmdir(kLabRoot);
  std::error_code ec;
  fs::remove_all(kLabFiles, ec);
}

void apply(const std::string& topology_path) {
  requireRoot();
  if (!isUp())
    throw std::runtime_error("no lab is up: run 'dvr lab up FILE' first");
  if (fs::exists(labFile("api")))
    throw std::runtime_error("this lab follows its API server: change the cloud through the API");
  model::Cloud next = ipam::loadCloudFile(topology_path);  // bad input: nothing changes
  model::Cloud now = ipam::loadCloudFile(topologyCopy());
  auto hostsOf = [](const model::Cloud& c) {
    std::vector<std::string> out;
    for (const auto& h : c.hosts)
      out.push_back(h.name + "/" + h.tunnel_ip.str());
    return out;
  };
  if (hostsOf(now) != hostsOf(next)) {
    throw InputError(topology_path,
                     {{"hosts", "cannot change in a running lab (dvr lab down, then up)", 0}});
  }
  auto vmKey = [&](const model::Cloud& c, const model::Port& p) {
    return p.host + p.id + p.mac.str() + p.ip.str() + c.findSubnet(p.subnet_id)->cidr.str();
  };
  std::map<std::string, std::string> before, after;
  for (const auto& p : now.ports) {
    if (p.device_owner == model::kOwnerCompute)
      before[p.name] = vmKey(now, p);
  }
  for (const auto& p : next.ports) {
    if (p.device_owner == model::kOwnerCompute)
      after[p.name] = vmKey(next, p);
  }
  for (const auto& [name, key] : before) {
    if (!after.count(name) || after[name] != key)
      removeVm(name);
  }
  for (const auto& p : next.ports) {
    if (p.device_owner == model::kOwnerCompute &&
        (!before.count(p.name) || before[p.name] != after[p.name]))
      createVm(next, p, p.name);
  }
  writeTopology(topology_path);
}

void plug(const std::string& vm_name, const std::string& port_id) {
  requireRoot();
  if (!fs::exists(labFile("api")))
    throw std::runtime_error("dvr lab plug needs a lab brought up with --api");
  if (fs::exists(nsPath(vm_name)))
    throw std::runtime_error("a lab node named '" + vm_name + "' exists already");
  model::Cloud c = serverCloud();
  const model::Port* p = c.findVm(port_id);
  if (!p)
    throw std::runtime_error("the server has no port " + port_id);
  if (p->host.empty())
    throw std::runtime_error("port " + port_id + " is not bound to a host (binding:host_id)");
  createVm(c, *p, vm_name);
}

int exec(const std::string& name, const std::vector<std::string>& argv) {
  requireRoot();
  if (argv.empty())
    throw std::runtime_error("dvr lab exec: no command given");
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  if (fs::exists(hostNsPath(name, "mnt"))) {
    return inHost(name, [&] {
      ::execvp(args[0], args.data());
      return 127;
    });
  }
  if (!fs::exists(nsPath(name)))
    throw std::runtime_error("no lab host, VM or node named '" + name + "'");
  UniqueFd net = openPath(nsPath(name));
  pid_t pid = ::fork();
  checkErrno(pid >= 0, "fork");
  if (pid == 0) {
    if (::setns(net.get(), CLONE_NEWNET) != 0)
      _exit(126);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string status() {
  requireRoot();
  if (!isUp())
    return "no lab is up\n";
  model::Cloud c = ipam::loadCloudFile(topologyCopy());
  std::ostringstream out;
  out << "lab: " << topologyCopy() << "\n\nhosts:\n";
  for (const auto& h : c.hosts) {
    pid_t pid = readPid(h.name);
    out << "  " << h.name << " (" << model::agentModeName(h.mode) << ", tunnel "
        << h.tunnel_ip.str() << ", DVR MAC " << h.dvr_mac.str() << ")  agent "
        << (alive(pid) ? "running, pid " + std::to_string(pid) : std::string("NOT RUNNING"))
        << "\n";
    for (const auto& ns : hostNamespaces(h.name))
      out << "    netns " << ns << "\n";
  }
  out << "\nVMs:\n";
  for (const auto& p : c.ports) {
    if (p.device_owner == model::kOwnerCompute)
      out << "  " << p.name << "  " << p.ip.str() << "  " << p.mac.str() << "  on " << p.host
          << "\n";
  }
  out << "\nother nodes:";
  for (const auto& f : kernel::listDirectory(std::string(kLabRoot) + "/ns")) {
    if (!c.findVm(f))
      out << " " << f;
  }
  out << "\n";
  return out.str();
}
}  // namespace dvr::lab
