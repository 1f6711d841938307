#include "lab/lab.h"

#include <dirent.h>
#include <fcntl.h>
#include <httplib.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "ipam/resolve.h"
#include "kernel/features.h"
#include "kernel/netns.h"
#include "kernel/rtnl.h"
#include "kernel/sysctl.h"
#include "model/error.h"
#include "model/topology_json.h"
#include "model/topology_yaml.h"
#include "plan/names.h"

namespace dvr::lab {
namespace {

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

model::Cloud loadCloud(const std::string& path) {
  return ipam::resolve(model::loadTopologyFile(path), path);
}

// Runs `fn` in a forked child that first enters `host` (mount + network namespace).
// Returns the child's exit status.
template <class Fn>
int inHost(const std::string& host, Fn fn) {
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
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A host: new network + mount namespaces, with a private /run/netns and its own /sys.
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

plan::Link dev(const std::string& name, int mtu = 0, std::optional<Mac> mac = std::nullopt) {
  plan::Link l;
  l.name = name;
  l.mtu = mtu;
  l.mac = mac;
  return l;
}

// A veth between namespace `a_fd` (end `a`) and `b_fd` (end `b`), both up.
void wire(int a_fd, const plan::Link& a, int b_fd, const plan::Link& b,
          const std::string& a_master = "") {
  kernel::Rtnl ra(a_fd, "lab"), rb(b_fd, "lab");
  plan::Link with_master = a;
  with_master.master = a_master;
  ra.addVethPair(with_master, true, b, b_fd);
  rb.setLink(b.name, b, true);
}

void configure(int fd, const std::string& dev_name, std::optional<Cidr> addr,
               std::optional<Ipv4> gateway) {
  kernel::Rtnl rt(fd, "lab");
  rt.setLink("lo", plan::Link{}, true);
  if (addr)
    rt.addAddress({"", dev_name, *addr});
  if (gateway)
    rt.replaceRoute({"", plan::kMainTable, Cidr{Ipv4(0), 0}, gateway, dev_name});
}

// A lab namespace's bridges switch frames without passing them through IPv4/IPv6/ARP
// netfilter hooks. br_netfilter, when the machine has it loaded, turns that on in every
// namespace; a hypervisor's bridges (Neutron's br-int / br-tun are Open vSwitch) do not
// do it, dvr's rules on bridges are in the bridge family, and it costs each bridged frame.
void bridgesSkipIpHooks(int fd) {
  for (const char* key :
       {"net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables",
        "net.bridge.bridge-nf-call-arptables"}) {
    if (!kernel::readSysctl(fd, key).empty())  // "": br_netfilter is not loaded
      kernel::writeSysctl(fd, key, "0");
  }
}

Cidr underlayPrefix(const model::Cloud& c) {
  for (uint8_t len = 24; len > 0; len -= 8) {
    bool all = true;
    for (const auto& h : c.hosts)
      all = all && Cidr{c.hosts[0].tunnel_ip, len}.contains(h.tunnel_ip);
    if (all)
      return Cidr{Ipv4(0), len};
  }
  return Cidr{Ipv4(0), 8};
}

std::string gatewayName(const model::Cloud& c, const model::Network& n) {
  int externals = 0;
  for (const auto& x : c.networks)
    externals += x.external;
  return externals == 1 ? "gateway" : "gateway-" + n.name;
}

void createVm(const model::Cloud& c, const model::Port& vm, const std::string& name) {
  const model::Subnet* s = c.findSubnet(vm.subnet_id);
  const model::Network* n = c.findNetwork(vm.network_id);
  kernel::createNetnsAt(nsPath(name));
  UniqueFd vm_fd = openPath(nsPath(name));
  UniqueFd host_fd = openPath(hostNsPath(vm.host, "net"));
  // The hypervisor's part: eth0 in the VM, tap<port> on the host (the agent enslaves it).
  wire(vm_fd.get(), dev("eth0", n->mtu, vm.mac), host_fd.get(),
       dev(plan::names::tap(vm.id), n->mtu));
  configure(vm_fd.get(), "eth0", Cidr{vm.ip, s->cidr.len}, s->gateway);
}

void removeVm(const std::string& name) {
  std::string path = nsPath(name);
  ::umount2(path.c_str(), MNT_DETACH);
  ::unlink(path.c_str());
}

// Starts argv inside `host` (mount + network namespace), logging to <name>.log; the pid
// goes to <name>.pid so that `down` finds it.
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

pid_t startAgent(const std::string& host, const std::string& dvr_binary) {
  return startInHost(host, host,
                     {dvr_binary, "agent", "--host", host, "--topology", topologyCopy(),
                      "--ready-file", labFile(host + ".ready")});
}

// Running (a zombie whose parent never reaps it counts as gone).
bool alive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0)
    return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  stat >> pid_field >> comm >> state;
  return state != "Z";
}

pid_t readPid(const std::string& host) {
  std::ifstream in(labFile(host + ".pid"));
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

void waitReady(const model::Cloud& c) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (const auto& h : c.hosts) {
    while (!fs::exists(labFile(h.name + ".ready"))) {
      if (!alive(readPid(h.name))) {
        throw std::runtime_error("the agent of " + h.name + " stopped:\n" +
                                 tail(labFile(h.name + ".log"), 10));
      }
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("the agent of " + h.name + " did not reconcile in 60 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

void writeTopology(const std::string& source) {
  std::string tmp = topologyCopy() + ".new";
  fs::copy_file(source, tmp, fs::copy_options::overwrite_existing);
  fs::rename(tmp, topologyCopy());  // atomic: agents never read half a file
}

void build(const model::Cloud& c, bool with_vms) {
  kernel::createNetnsAt(nsPath("fabric"));
  UniqueFd fabric = openPath(nsPath("fabric"));
  bridgesSkipIpHooks(fabric.get());
  {
    kernel::Rtnl rt(fabric.get(), "fabric");
    rt.setLink("lo", plan::Link{}, true);
    rt.addBridge(dev("underlay", c.settings.underlay_mtu), true);
  }
  // An external network is a bridge the hosts' uplinks plug into. With a gateway, the
  // bridge is the gateway's own interface (its address and MAC on the bridge device), as
  // a top-of-rack router would be: no extra hop between the hosts and the gateway.
  struct ExternalL2 {
    int ns_fd;
    std::string bridge;
    size_t index;  // names the uplinks' far ends: x<index>-<host>
  };
  std::map<std::string, ExternalL2> ext_l2;  // network id -> where hosts plug in
  std::map<std::string, UniqueFd> gateways;  // network id -> gateway namespace
  for (const auto& n : c.networks) {
    if (!n.external)
      continue;
    const model::Subnet* s = nullptr;
    for (const auto& x : c.subnets) {
      if (x.network_id == n.id && !s)
        s = &x;
    }
    if (s && s->gateway) {
      std::string gw_name = gatewayName(c, n);
      kernel::createNetnsAt(nsPath(gw_name));
      UniqueFd& gw = gateways[n.id] = openPath(nsPath(gw_name));
      kernel::Rtnl rt(gw.get(), gw_name);
      rt.addBridge(dev("eth0", 0, s->gateway_mac), true);
      configure(gw.get(), "eth0", Cidr{*s->gateway, s->cidr.len}, std::nullopt);
      kernel::writeSysctl(gw.get(), "net.ipv4.ip_forward", "1");
      bridgesSkipIpHooks(gw.get());
      ext_l2[n.id] = {gw.get(), "eth0", ext_l2.size()};
    } else {
      std::string br = "ext" + std::to_string(ext_l2.size());
      kernel::Rtnl rt(fabric.get(), "fabric");
      rt.addBridge(dev(br), true);
      ext_l2[n.id] = {fabric.get(), br, ext_l2.size()};
    }
  }
  Cidr ul = underlayPrefix(c);
  for (const auto& h : c.hosts) {
    createHost(h.name);
    UniqueFd net = openPath(hostNsPath(h.name, "net"));
    bridgesSkipIpHooks(net.get());
    wire(fabric.get(), dev(trimName("u-" + h.name), c.settings.underlay_mtu), net.get(),
         dev("eth0", c.settings.underlay_mtu), "underlay");
    configure(net.get(), "eth0", Cidr{h.tunnel_ip, ul.len}, std::nullopt);
    for (const auto& [net_id, uplink] : h.uplinks) {
      const ExternalL2& l2 = ext_l2.at(net_id);
      wire(l2.ns_fd, dev(trimName("x" + std::to_string(l2.index) + "-" + h.name)), net.get(),
           dev(uplink), l2.bridge);
    }
  }
  for (const auto& [net_id, gw] : gateways) {
    for (const auto& e : c.external_hosts) {
      if (e.network_id != net_id)
        continue;
      kernel::createNetnsAt(nsPath(e.name));
      UniqueFd eh = openPath(nsPath(e.name));
      Cidr link = Cidr{e.ip, 24}.network();
      Ipv4 gw_side(link.addr.value() + 1 == e.ip.value() ? link.addr.value() + 254
                                                         : link.addr.value() + 1);
      wire(gw.get(), dev(trimName("e-" + e.name)), eh.get(), dev("eth0"));
      configure(gw.get(), trimName("e-" + e.name), Cidr{gw_side, 24}, std::nullopt);
      configure(eh.get(), "eth0", Cidr{e.ip, 24}, gw_side);
    }
  }
  for (const auto& p : c.ports) {
    if (with_vms && p.device_owner == model::kOwnerCompute)
      createVm(c, p, p.name);
  }
}

// ---- the lab through the API ----

struct HttpResult {
  int status = 0;
  std::string body;
};

// One HTTP request made from inside a lab host (the server listens on its network).
HttpResult hostHttp(const std::string& host, const std::string& method, const std::string& path,
                    const std::string& body = "") {
  std::string url = tail(labFile("server.url"), 1);
  while (!url.empty() && url.back() == '\n')
    url.pop_back();
  int fds[2];
  checkErrno(::pipe2(fds, O_CLOEXEC) == 0, "pipe");
  inHost(host, [&] {
    httplib::Client c(url);
    c.set_connection_timeout(2);
    c.set_read_timeout(30);
    httplib::Result res = method == "GET"    ? c.Get(path)
                          : method == "POST" ? c.Post(path, body, "application/json")
                                             : c.Put(path, body, "application/json");
    std::string out = res ? std::to_string(res->status) + "\n" + res->body : "0\n";
    for (size_t off = 0; off < out.size();) {
      ssize_t n = ::write(fds[1], out.data() + off, out.size() - off);
      if (n <= 0)
        break;
      off += size_t(n);
    }
    return 0;
  });
  ::close(fds[1]);
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    text.append(buf, size_t(n));
  ::close(fds[0]);
  auto nl = text.find('\n');
  HttpResult r;
  if (nl == std::string::npos)
    return r;
  r.status = std::atoi(text.substr(0, nl).c_str());
  r.body = text.substr(nl + 1);
  return r;
}

std::string serverHost() {
  std::string h = tail(labFile("server.host"), 1);
  while (!h.empty() && h.back() == '\n')
    h.pop_back();
  return h;
}

nlohmann::json apiCall(const std::string& method, const std::string& path,
                       const nlohmann::json& body, int want) {
  HttpResult r = hostHttp(serverHost(), method, path, body.is_null() ? "" : body.dump());
  if (r.status != want) {
    throw std::runtime_error("API " + method + " " + path + " answered " +
                             std::to_string(r.status) + ": " + r.body);
  }
  return r.body.empty() ? nlohmann::json() : nlohmann::json::parse(r.body);
}

// The cloud as the server holds it (what the agents follow).
model::Cloud serverCloud() {
  HttpResult r = hostHttp(serverHost(), "GET", "/dvr/v1/topology?since=0");
  if (r.status != 200)
    throw std::runtime_error("cannot read the topology from the server: " + r.body);
  return ipam::resolve(model::topologyFromJson(nlohmann::json::parse(r.body).at("topology")),
                       "server");
}

// Creates the file's networks, subnets, routers, ports and floating IPs through the API,
// as an operator (or a template) would. Returns VM name -> port id.
std::map<std::string, std::string> createThroughApi(const model::Cloud& c) {
  using nlohmann::json;
  std::map<std::string, std::string> id;  // file id -> API id
  for (const auto& n : c.networks) {
    json b{{"name", n.name}, {"router:external", n.external}, {"mtu", n.mtu}};
    if (!n.external)
      b["provider:segmentation_id"] = n.vni;
    id[n.id] = apiCall("POST", "/v2.0/networks", json{{"network", b}}, 201)["network"]["id"];
  }
  for (const auto& s : c.subnets) {
    json pools = json::array();
    for (const auto& p : s.pools)
      pools.push_back({{"start", p.start.str()}, {"end", p.end.str()}});
    json b{{"name", s.name},
           {"network_id", id[s.network_id]},
           {"cidr", s.cidr.str()},
           {"ip_version", 4},
           {"gateway_ip", s.gateway ? json(s.gateway->str()) : json(nullptr)},
           {"allocation_pools", pools}};
    id[s.id] = apiCall("POST", "/v2.0/subnets", json{{"subnet", b}}, 201)["subnet"]["id"];
  }
  // Floating IPs first, with their addresses: a gateway port must not take one.
  std::vector<std::string> fip_ids;
  for (const auto& f : c.floating_ips) {
    json b{{"floating_network_id", id[f.network_id]}, {"floating_ip_address", f.address.str()}};
    fip_ids.push_back(
        apiCall("POST", "/v2.0/floatingips", json{{"floatingip", b}}, 201)["floatingip"]["id"]);
  }
  for (const auto& r : c.routers) {
    json b{{"name", r.name}, {"distributed", true}};
    if (r.gateway_network_id)
      b["external_gateway_info"] = {{"network_id", id[*r.gateway_network_id]}};
    std::string rid = apiCall("POST", "/v2.0/routers", json{{"router", b}}, 201)["router"]["id"];
    for (size_t p : r.interface_ports) {
      apiCall("PUT", "/v2.0/routers/" + rid + "/add_router_interface",
              json{{"subnet_id", id[c.ports[p].subnet_id]}}, 200);
    }
  }
  std::map<std::string, std::string> vms;
  for (const auto& p : c.ports) {
    if (p.device_owner != model::kOwnerCompute)
      continue;
    json b{{"name", p.name},
           {"network_id", id[p.network_id]},
           {"mac_address", p.mac.str()},
           {"binding:host_id", p.host},
           {"device_owner", "compute:nova"},
           {"fixed_ips", {{{"subnet_id", id[p.subnet_id]}, {"ip_address", p.ip.str()}}}}};
    vms[p.name] = id[p.id] = apiCall("POST", "/v2.0/ports", json{{"port", b}}, 201)["port"]["id"];
  }
  for (size_t i = 0; i < c.floating_ips.size(); ++i) {
    const auto& f = c.floating_ips[i];
    if (f.port)
      apiCall("PUT", "/v2.0/floatingips/" + fip_ids[i],
              json{{"floatingip", {{"port_id", id[c.ports[*f.port].id]}}}}, 200);
  }
  return vms;
}

void startApiLab(const model::Cloud& file, const std::string& dvr_binary) {
  const model::Host* api_host = nullptr;
  for (const auto& h : file.hosts) {
    if (!api_host && h.mode == model::AgentMode::DvrSnat)
      api_host = &h;
  }
  if (!api_host)
    api_host = &file.hosts.front();
  std::string url = "http://" + api_host->tunnel_ip.str() + ":9696";
  std::ofstream(labFile("server.url")) << url << "\n";
  std::ofstream(labFile("server.host")) << api_host->name << "\n";
  // The controller runs the API server, as a Neutron controller runs neutron-server.
  startInHost(
      api_host->name, "server",
      {dvr_binary, "server", "--bind", "0.0.0.0:9696", "--db", "sqlite:" + labFile("dvr.db")});
  for (int i = 0; i < 250 && hostHttp(api_host->name, "GET", "/").status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const auto& h : file.hosts) {
    std::vector<std::string> argv{dvr_binary,     "agent",
                                  "--host",       h.name,
                                  "--server",     url,
                                  "--mode",       model::agentModeName(h.mode),
                                  "--tunnel-ip",  h.tunnel_ip.str(),
                                  "--ready-file", labFile(h.name + ".ready")};
    if (!h.uplinks.empty()) {
      argv.push_back("--uplink");
      argv.push_back("*=" + h.uplinks.begin()->second);
    }
    startInHost(h.name, h.name, argv);
  }
  // Agents register first (ports are bound to their hosts), then the operator's part.
  for (int i = 0; i < 250; ++i) {
    auto agents = apiCall("GET", "/v2.0/agents", nullptr, 200)["agents"];
    if (agents.size() == file.hosts.size())
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto vms = createThroughApi(file);
  model::Cloud now = serverCloud();
  for (const auto& [name, port_id] : vms)
    createVm(now, *now.findVm(port_id), name);
  std::ofstream(labFile("api")) << "1\n";
  // Ready means every agent has applied the cloud just made, not an earlier state of it:
  // its ready file names the digest of the slice it applied, which must be the server's.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (const auto& h : file.hosts) {
    HttpResult slice = hostHttp(serverHost(), "GET", "/dvr/v1/topology?since=0&host=" + h.name);
    std::string digest = nlohmann::json::parse(slice.body).at("digest").get<std::string>();
    for (;;) {
      std::ifstream in(labFile(h.name + ".ready"));
      std::string changes, applied;
      if (in >> changes >> applied && applied == digest)
        break;
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("the agent of " + h.name + " did not apply the server's slice " +
                                 digest);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

using NsId = std::pair<dev_t, ino_t>;

std::optional<NsId> nsId(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return std::nullopt;
  return NsId{st.st_dev, st.st_ino};
}

// The namespaces a lab host's agent made, seen from inside the host.
std::vector<std::string> hostNamespaces(const std::string& host) {
  int fds[2];
  checkErrno(::pipe2(fds, O_CLOEXEC) == 0, "pipe");
  inHost(host, [&] {
    std::string all;
    for (const auto& ns : kernel::listDirectory(kernel::kNetnsDir))
      all += ns + "\n";
    [[maybe_unused]] auto w = ::write(fds[1], all.data(), all.size());
    return 0;
  });
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    text.append(buf, size_t(n));
  ::close(fds[0]);
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
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0)
        continue;
      inHost(host, [&] {
        for (const auto& ns : kernel::listDirectory(kernel::kNetnsDir)) {
          if (auto id = nsId(std::string(kernel::kNetnsDir) + "/" + ns)) {
            [[maybe_unused]] auto w = ::write(fds[1], &*id, sizeof(NsId));
          }
        }
        return 0;
      });
      ::close(fds[1]);
      NsId id;
      while (::read(fds[0], &id, sizeof id) == ssize_t(sizeof id))
        ids.insert(id);
      ::close(fds[0]);
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
  model::Cloud cloud = loadCloud(topology_path);  // bad input: nothing is made
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
  model::Cloud next = loadCloud(topology_path);  // bad input: nothing changes
  model::Cloud now = loadCloud(topologyCopy());
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
  model::Cloud c = loadCloud(topologyCopy());
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
