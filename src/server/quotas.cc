#include "server/quotas.h"

#include <algorithm>
#include <climits>

#include "server/api_error.h"
#include "server/validators.h"

namespace dvr::server {

using nlohmann::json;

namespace {

// Neutron's quota resource names, the collection each limits and the attrs kind its
// resources (and their project_id) are kept under.
struct Resource {
  const char* name;
  const char* collection;
  const char* kind;
};
constexpr Resource kResources[] = {
    {"network", "networks", "networks"},
    {"subnet", "subnets", "subnets"},
    {"port", "ports", "ports"},
    {"router", "routers", "routers"},
    {"floatingip", "floatingips", "floatingips"},
    {"security_group", "security-groups", "security_groups"},
    {"security_group_rule", "security-group-rules", "security_group_rules"},
};
constexpr long kUnlimited = -1;

const json& stored(const ApiState& s, const std::string& project) {
  static const json none = json::object();
  if (!s.attrs.contains(kQuotaAttrs) || !s.attrs[kQuotaAttrs].contains(project))
    return none;
  return s.attrs[kQuotaAttrs][project];
}

json defaults() {
  json q = json::object();
  for (const auto& r : kResources)
    q[r.name] = kUnlimited;
  return q;
}

long used(const ApiState& s, const char* kind, const std::string& project) {
  if (!s.attrs.contains(kind))
    return 0;
  const json& all = s.attrs[kind];
  return std::count_if(all.begin(), all.end(), [&](const json& a) {
    return a.is_object() && a.value("project_id", std::string()) == project;
  });
}

void adminOnly(const RequestContext& c) {
  if (!c.is_admin)
    throw ApiError(403, "HTTPForbidden", "Only admin can view or configure quota");
}

}  // namespace

json quotaOf(const ApiState& s, const std::string& project) {
  json q = defaults();
  for (const auto& [k, v] : stored(s, project).items())
    q[k] = v;
  return q;
}

json readQuotas(const RequestContext& c, const ApiState& s, const std::string& project,
                const std::string& action) {
  if (project.empty()) {  // the projects with limits of their own
    adminOnly(c);
    json list = json::array();
    if (s.attrs.contains(kQuotaAttrs)) {
      for (const auto& [p, limits] : s.attrs[kQuotaAttrs].items()) {
        json q = quotaOf(s, p);
        q["project_id"] = p;
        q["tenant_id"] = p;
        list.push_back(q);
      }
    }
    return json{{"quotas", list}};
  }
  if (!c.is_admin && c.project_id != project)
    throw ApiError(403, "HTTPForbidden",
                   "Non-admin is not authorised to access quotas for another project");
  if (action.empty())
    return json{{"quota", quotaOf(s, project)}};
  if (action == "default")
    return json{{"quota", defaults()}};
  if (action == "details") {
    json q = quotaOf(s, project), out = json::object();
    for (const auto& r : kResources)
      out[r.name] = {{"limit", q[r.name]}, {"used", used(s, r.kind, project)}, {"reserved", 0}};
    return json{{"quota", out}};
  }
  throw notFound("The resource could not be found.");
}

json writeQuotas(const RequestContext& c, ApiState& s, const std::string& method,
                 const std::string& project, const std::string& body) {
  if (project.empty())
    throw ApiError(405, "HTTPMethodNotAllowed",
                   "The method " + method + " is not allowed for this resource.");
  adminOnly(c);
  s.touchAttrs(kQuotaAttrs, project);
  if (method == "DELETE") {
    if (s.attrs.contains(kQuotaAttrs))
      s.attrs[kQuotaAttrs].erase(project);
    return nullptr;
  }
  json b = json::parse(body, nullptr, false);
  if (b.is_discarded() || !b.is_object() || !b.contains("quota") || !b["quota"].is_object())
    throw badRequest("Resource body required: a 'quota' object");
  json limits = stored(s, project);
  std::string unknown;
  for (const auto& [k, v] : b["quota"].items()) {
    if (k == "project_id" || k == "tenant_id")
      continue;
    bool known = std::any_of(std::begin(kResources), std::end(kResources),
                             [&](const Resource& r) { return k == r.name; });
    if (!known) {
      unknown += (unknown.empty() ? "'" : ", '") + k + "'";
      continue;
    }
    json n = v;
    validators::toInt(n);  // Neutron's convert_to_int: 400 for "abc", 1.5, true
    if (auto r = validators::range(n, kUnlimited, INT_MAX))
      throw badRequest("Invalid input for " + k + ". Reason: " + *r + ".");
    limits[k] = n;
  }
  if (!unknown.empty())
    throw badRequest("Unrecognized attribute(s) " + unknown);
  s.attrs[kQuotaAttrs][project] = limits;
  return json{{"quota", quotaOf(s, project)}};
}

void enforceQuotas(const ApiState& before, const ApiState& after, const std::string& collection) {
  if (!after.attrs.contains(kQuotaAttrs) || after.attrs[kQuotaAttrs].empty())
    return;  // no project has a limit: nothing to count
  const Resource* r = nullptr;
  for (const auto& x : kResources) {
    if (collection == x.collection)
      r = &x;
  }
  if (!r)
    return;
  for (const auto& [project, limits] : after.attrs[kQuotaAttrs].items()) {
    long limit = limits.value(r->name, kUnlimited);
    if (limit < 0)
      continue;
    long now = used(after, r->kind, project);
    if (now > limit && now > used(before, r->kind, project))
      throw conflict(std::string("Quota exceeded for resources: ['") + r->name + "'].",
                     "OverQuota");
  }
}

}  // namespace dvr::server
