#include "lab/places.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

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

kernel::HostNamespaces labHost(const std::string& host) {
  return {hostNsPath(host, "net"), hostNsPath(host, "mnt")};
}

int inHost(const std::string& host, const std::function<int()>& fn) {
  return kernel::runIn(labHost(host), fn);
}

std::string inHostOutput(const std::string& host, const std::function<std::string()>& fn) {
  return kernel::outputOf(labHost(host), fn);
}

void createHost(const std::string& host) {
  // The lab's namespace binds stay out of the host: it sees only what its agent makes.
  kernel::createHost(labHost(host), {kLabRoot});
}

pid_t startInHost(const std::string& host, const std::string& name,
                  const std::vector<std::string>& argv) {
  UniqueFd log(
      ::open(labFile(name + ".log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  checkErrno(bool(log), "open " + name + " log");
  pid_t pid = kernel::startIn(labHost(host), argv, log.get());
  std::ofstream(labFile(name + ".pid")) << pid << "\n";
  return pid;
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
