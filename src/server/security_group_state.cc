#include "server/security_group_state.h"

#include <algorithm>

#include "ipam/ids.h"
#include "model/ip_protocols.h"
#include "server/api_error.h"
#include "server/state_edit.h"

namespace dvr::server {

using nlohmann::json;
using namespace dvr::model;

SecurityGroupSpec* findSecurityGroup(ApiState& s, const std::string& id) {
  auto& groups = s.topo.security_groups;
  auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.name == id; });
  return it == groups.end() ? nullptr : &*it;
}

SecurityGroupSpec& existingSecurityGroup(ApiState& s, const std::string& id) {
  SecurityGroupSpec* g = findSecurityGroup(s, id);
  if (!g)
    throw notFound("Security group " + id + " does not exist", "SecurityGroupNotFound");
  return *g;
}

std::string defaultGroupOf(const ApiState& s, const std::string& project) {
  if (!s.attrs.contains(kDefaultGroupAttrs) || !s.attrs[kDefaultGroupAttrs].contains(project))
    return "";
  return s.attrs[kDefaultGroupAttrs][project].value("security_group_id", std::string());
}

namespace {

json anyRule(const std::string& group, const std::string& project, const char* direction,
             const char* ethertype, bool from_group) {
  return {{"security_group_id", group},
          {"direction", direction},
          {"ethertype", ethertype},
          {"protocol", nullptr},
          {"port_range_min", nullptr},
          {"port_range_max", nullptr},
          {"remote_ip_prefix", nullptr},
          {"normalized_cidr", nullptr},
          {"remote_group_id", from_group ? json(group) : json(nullptr)},
          {"description", ""},
          {"project_id", project}};
}

}  // namespace

std::string ensureDefaultGroup(ApiState& s, const std::string& project) {
  std::string id = defaultGroupOf(s, project);
  if (!id.empty())
    return id;
  id = ipam::uuidFor("default-security-group:" + project);
  SecurityGroupSpec g;
  g.name = id;
  g.id = id;
  s.topo.security_groups.push_back(std::move(g));
  setAttrs(
      s, kGroupAttrs, id,
      {{"name", "default"}, {"description", "Default security group"}, {"project_id", project}},
      {"name", "description", "project_id"}, true);
  int n = 0;
  for (const char* direction : {"egress", "ingress"}) {
    for (const char* ethertype : {"IPv4", "IPv6"}) {
      addRule(s,
              ipam::uuidFor("default-security-group-rule:" + project + ":" + std::to_string(n++)),
              anyRule(id, project, direction, ethertype, std::string(direction) == "ingress"));
    }
  }
  s.touchAttrs(kDefaultGroupAttrs, project);
  s.attrs[kDefaultGroupAttrs][project] = {{"security_group_id", id}};
  return id;
}

void addGroup(ApiState& s, const std::string& id, const json& attrs, bool stateful) {
  SecurityGroupSpec g;
  g.name = id;
  g.id = id;
  g.stateful = stateful;
  s.topo.security_groups.push_back(std::move(g));
  setAttrs(s, kGroupAttrs, id, attrs, {"name", "description", "project_id", "tags"}, true);
  std::string project = attrs.value("project_id", std::string());
  int n = 0;
  for (const char* ethertype : {"IPv4", "IPv6"}) {
    addRule(s, ipam::uuidFor("security-group-rule:" + id + ":" + std::to_string(n++)),
            anyRule(id, project, "egress", ethertype, false));
  }
}

void addRule(ApiState& s, const std::string& id, json rule) {
  std::string group = rule.at("security_group_id");
  SecurityGroupSpec& g = existingSecurityGroup(s, group);
  if (rule["ethertype"] == "IPv4") {
    SecurityGroupRuleSpec r;
    r.id = id;
    r.ingress = rule["direction"] == "ingress";
    if (rule["protocol"].is_string()) {
      bool any = false;
      r.protocol = ipProtocolNumber(rule["protocol"].get<std::string>(), &any);
    }
    if (rule["port_range_min"].is_number())
      r.port_min = rule["port_range_min"].get<int>();
    if (rule["port_range_max"].is_number())
      r.port_max = rule["port_range_max"].get<int>();
    if (rule["normalized_cidr"].is_string())
      r.remote_ip_prefix = Cidr::parse(rule["normalized_cidr"].get<std::string>());
    if (rule["remote_group_id"].is_string())
      r.remote_group = rule["remote_group_id"].get<std::string>();
    g.rules.push_back(std::move(r));
  }
  json body = std::move(rule);
  std::set<std::string> keys;
  for (const auto& [k, v] : body.items())
    keys.insert(k);
  setAttrs(s, kRuleAttrs, id, body, keys, true);
  // setAttrs skips nulls; a rule shows every field, null or not.
  for (const auto& [k, v] : body.items())
    s.attrs[kRuleAttrs][id][k] = v;
}

void removeRule(ApiState& s, const std::string& id) {
  if (!s.attrs.contains(kRuleAttrs) || !s.attrs[kRuleAttrs].contains(id))
    return;
  std::string group = s.attrs[kRuleAttrs][id].value("security_group_id", std::string());
  if (SecurityGroupSpec* g = findSecurityGroup(s, group))
    std::erase_if(g->rules, [&](const SecurityGroupRuleSpec& r) { return r.id == id; });
  s.eraseAttrs(kRuleAttrs, id);
}

std::string projectOf(const json& body, const std::string& request_project) {
  for (const char* key : {"project_id", "tenant_id"}) {
    if (body.contains(key) && body[key].is_string() && !body[key].get<std::string>().empty())
      return body[key];
  }
  return request_project;
}

}  // namespace dvr::server
