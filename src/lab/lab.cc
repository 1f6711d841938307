#include "lab/lab.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "ipam/resolve.h"
#include "kernel/daemons.h"
#include "kernel/features.h"
#include "kernel/host_process.h"
#include "kernel/netns.h"
#include "lab/api_lab.h"
#include "lab/nodes.h"
#include "lab/places.h"
#include "model/error.h"

namespace dvr::lab {
namespace {

namespace fs = std::filesystem;
using kernel::NamespaceId;

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
std::set<NamespaceId> labNamespaceIds() {
  std::set<NamespaceId> ids;
  for (const auto& f : kernel::listDirectory(std::string(kLabRoot) + "/ns")) {
    if (auto id = kernel::namespaceId(nsPath(f)))
      ids.insert(*id);
  }
  for (const auto& f : kernel::listDirectory(std::string(kLabRoot) + "/hosts")) {
    if (auto id = kernel::namespaceId(std::string(kLabRoot) + "/hosts/" + f))
      ids.insert(*id);
    if (f.size() > 4 && f.substr(f.size() - 4) == ".mnt") {
      std::string host = f.substr(0, f.size() - 4);
      // The namespaces its agent made, as "dev ino" lines from inside the host.
      std::istringstream in(inHostOutput(host, [] {
        std::string out;
        for (const auto& ns : kernel::listDirectory(kernel::kNetnsDir)) {
          if (auto id = kernel::namespaceId(std::string(kernel::kNetnsDir) + "/" + ns))
            out += std::to_string(id->first) + " " + std::to_string(id->second) + "\n";
        }
        return out;
      }));
      NamespaceId id;
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

void up(const std::string& topology_path, const std::string& dvr_binary, bool api,
        const std::string& datapath) {
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
    kernel::mountBindDirectory(kLabRoot);
    fs::create_directories(std::string(kLabRoot) + "/ns");
    fs::create_directories(std::string(kLabRoot) + "/hosts");
    writeTopology(topology_path);
    std::ofstream(labFile("datapath")) << datapath << "\n";
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
      if (kernel::alive(pid)) {
        kernel::terminate(pid);
        agents.push_back(pid);
      }
    }
  }
  for (int i = 0; i < 100 && std::any_of(agents.begin(), agents.end(), kernel::alive); ++i) {
    for (pid_t p : agents)
      kernel::reap(p);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::error_code ec;
  // Anything still running inside a lab namespace (agents, keepalived, tcpdump ...) goes.
  if (isUp() || fs::exists(std::string(kLabRoot) + "/hosts"))
    kernel::killProcessesIn(labNamespaceIds());
  // The daemons' directories the lab hosts' agents kept (their processes are gone).
  for (const auto& host : kernel::listDirectory(std::string(kLabRoot) + "/hosts"))
    fs::remove_all(std::string(kernel::kDaemonRoot) + "/" + host, ec);
  for (const char* sub : {"/ns", "/hosts"}) {
    std::string dir = std::string(kLabRoot) + sub;
    for (const auto& f : kernel::listDirectory(dir))
      kernel::unbindNamespace(dir + "/" + f);
  }
  kernel::unmountBindDirectory(kLabRoot);
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
  if (fs::exists(hostNsPath(name, "mnt")))
    return kernel::runProgramIn(labHost(name), argv);
  if (!fs::exists(nsPath(name)))
    throw std::runtime_error("no lab host, VM or node named '" + name + "'");
  return kernel::runProgramIn({nsPath(name), ""}, argv);  // a VM or node: its network only
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
        << (kernel::alive(pid) ? "running, pid " + std::to_string(pid) : std::string("NOT RUNNING"))
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
