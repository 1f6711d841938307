#include "model/cloud.h"

#include <algorithm>

namespace dvr::model {

const char* agentModeName(AgentMode mode) {
  return mode == AgentMode::DvrSnat ? "dvr_snat" : "dvr";
}

namespace {
template <class T, class Pred>
const T* findIf(const std::vector<T>& items, Pred pred) {
  auto it = std::find_if(items.begin(), items.end(), pred);
  return it == items.end() ? nullptr : &*it;
}
}  // namespace

const Host* Cloud::findHost(const std::string& name) const {
  return findIf(hosts, [&](const Host& h) { return h.name == name; });
}
const Network* Cloud::findNetwork(const std::string& id) const {
  return findIf(networks, [&](const Network& n) { return n.id == id || n.name == id; });
}
const Subnet* Cloud::findSubnet(const std::string& id) const {
  return findIf(subnets, [&](const Subnet& s) { return s.id == id || s.name == id; });
}
const Router* Cloud::findRouter(const std::string& id) const {
  return findIf(routers, [&](const Router& r) { return r.id == id || r.name == id; });
}
const SecurityGroup* Cloud::findSecurityGroup(const std::string& id) const {
  return findIf(security_groups,
                [&](const SecurityGroup& g) { return g.id == id || g.name == id; });
}
const Port* Cloud::findVm(const std::string& name_or_id) const {
  return findIf(ports, [&](const Port& p) {
    return p.device_owner == kOwnerCompute && (p.name == name_or_id || p.id == name_or_id);
  });
}

}  // namespace dvr::model
