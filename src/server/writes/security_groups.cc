// POST/PUT/DELETE /v2.0/security-groups
#include "server/api_error.h"
#include "server/request_args.h"
#include "server/resource_writes.h"
#include "server/security_group_state.h"
#include "server/state_edit.h"

namespace dvr::server {

using namespace dvr::model;

namespace {

bool isDefault(const ApiState& s, const std::string& id) {
  const json& a = s.attrs.contains(kGroupAttrs) && s.attrs[kGroupAttrs].contains(id)
                      ? s.attrs[kGroupAttrs][id]
                      : json::object();
  return a.value("name", std::string()) == "default" &&
         defaultGroupOf(s, a.value("project_id", std::string())) == id;
}

std::string create(ApiState& s, const WriteRequest& w) {
  json b = parseBody(w.http, "security_group");
  allowOnly(b, with(kCommonAttrs, {"stateful"}));
  std::string project = projectOf(b, w.http.context.project_id);
  // Neutron makes the project's default group first, and refuses a second one.
  ensureDefaultGroup(s, project);
  if (str(b, "name") == "default")
    throw conflict("Default security group already exists.", "SecurityGroupDefaultAlreadyExists");
  bool stateful = boolean(b, "stateful", true);
  if (!stateful)
    throw badRequest(
        "Stateless security groups are not supported: dvr filters every port statefully "
        "(stateful must be true)");
  std::string id = newId(s, "security-group");
  json attrs = b;
  attrs["project_id"] = project;
  addGroup(s, id, attrs, stateful);
  return id;
}

void update(ApiState& s, const WriteRequest& w) {
  existingSecurityGroup(s, w.id);
  json b = parseBody(w.http, "security_group");
  allowOnly(b, with(kCommonAttrs, {}), {"id", "stateful", "project_id", "tenant_id"});
  if (isDefault(s, w.id) && b.contains("name") && str(b, "name") != "default")
    throw conflict("Updating default security group not allowed.",
                   "SecurityGroupCannotUpdateDefault");
  // Neutron keeps one group named default per project: another may not take the name.
  if (!isDefault(s, w.id) && b.contains("name") && str(b, "name") == "default")
    throw conflict("Default security group already exists.", "SecurityGroupDefaultAlreadyExists");
  setAttrs(s, kGroupAttrs, w.id, b, {"name", "description", "tags"}, false);
}

void remove(ApiState& s, const std::string& id) {
  existingSecurityGroup(s, id);
  if (isDefault(s, id))
    throw conflict("Insufficient rights for removing default security group.",
                   "SecurityGroupCannotRemoveDefault");
  for (const auto& v : s.topo.vms) {
    for (const auto& g : v.security_groups) {
      if (g == id)
        throw conflict("Security Group " + id + " in use.", "SecurityGroupInUse");
    }
  }
  // Its rules, and (as Neutron's foreign key cascades) rules of other groups naming it as
  // their remote group.
  std::vector<std::string> rules;
  if (s.attrs.contains(kRuleAttrs)) {
    for (const auto& [rule_id, r] : s.attrs[kRuleAttrs].items()) {
      if (r.value("security_group_id", std::string()) == id || r["remote_group_id"] == id)
        rules.push_back(rule_id);
    }
  }
  for (const auto& rule_id : rules)
    removeRule(s, rule_id);
  std::erase_if(s.topo.security_groups, [&](const SecurityGroupSpec& g) { return g.name == id; });
  s.eraseAttrs(kGroupAttrs, id);
}

}  // namespace

WriteOutcome writeSecurityGroup(ApiState& s, const WriteRequest& w) {
  return write({create, update, remove,
                [](const View& v, const std::string& id) {
                  return json{{"security_group",
                               v.securityGroup(*v.c.findSecurityGroup(id), v.rulesByGroup())}};
                }},
               s, w);
}

}  // namespace dvr::server
