#include "server/state_edit.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>

#include "ipam/ids.h"
#include "server/api_error.h"

namespace dvr::server {

using nlohmann::json;
using namespace dvr::model;

namespace {

template <class T>
T* byName(std::vector<T>& items, const std::string& id) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T& x) { return x.name == id; });
  return it == items.end() ? nullptr : &*it;
}

// The resource, or Neutron's 404 with its message and type.
template <class T>
T& found(T* resource, const std::string& message, const char* type) {
  if (!resource)
    throw notFound(message, type);
  return *resource;
}

std::string now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

NetworkSpec* findNetwork(ApiState& s, const std::string& id) {
  return byName(s.topo.networks, id);
}
SubnetSpec* findSubnet(ApiState& s, const std::string& id) {
  return byName(s.topo.subnets, id);
}
RouterSpec* findRouter(ApiState& s, const std::string& id) {
  return byName(s.topo.routers, id);
}
VmSpec* findPort(ApiState& s, const std::string& id) {
  return byName(s.topo.vms, id);
}
FloatingIpSpec* findFip(ApiState& s, const std::string& id) {
  auto& fips = s.topo.floating_ips;
  auto it = std::find_if(fips.begin(), fips.end(), [&](const auto& f) { return f.id == id; });
  return it == fips.end() ? nullptr : &*it;
}

NetworkSpec& existingNetwork(ApiState& s, const std::string& id) {
  return found(findNetwork(s, id), "Network " + id + " could not be found.", "NetworkNotFound");
}
SubnetSpec& existingSubnet(ApiState& s, const std::string& id) {
  return found(findSubnet(s, id), "Subnet " + id + " could not be found.", "SubnetNotFound");
}
RouterSpec& existingRouter(ApiState& s, const std::string& id) {
  return found(findRouter(s, id), "Router " + id + " could not be found", "RouterNotFound");
}
VmSpec& existingPort(ApiState& s, const std::string& id) {
  return found(findPort(s, id), "Port " + id + " could not be found.", "PortNotFound");
}
FloatingIpSpec& existingFip(ApiState& s, const std::string& id) {
  return found(findFip(s, id), "Floating IP " + id + " could not be found", "FloatingIPNotFound");
}

std::string newId(const ApiState& s, const char* kind) {
  static std::atomic<uint64_t> counter{0};
  return ipam::uuidFor(std::string(kind) + ":" +
                       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) +
                       ":" + std::to_string(counter++) + ":" + std::to_string(s.topo.vms.size()));
}

void setAttrs(ApiState& s, const char* kind, const std::string& id, const json& body,
              const std::set<std::string>& keys, bool creating) {
  s.touchAttrs(kind, id);
  json& a = s.attrs[kind][id];
  if (creating) {
    a["created_at"] = now();
    a["revision_number"] = 0;
  }
  for (const auto& k : keys) {
    if (body.contains(k) && !body[k].is_null())
      a[k] = body[k];
  }
  if (body.contains("tenant_id") && !body.contains("project_id"))
    a["project_id"] = body["tenant_id"];
  a["updated_at"] = now();
  a["revision_number"] = a.value("revision_number", 0) + 1;
}

}  // namespace dvr::server
