// POST/PUT/DELETE /v2.0/security-group-rules
#include "model/ip_protocols.h"
#include "server/api_error.h"
#include "server/request_args.h"
#include "server/resource_writes.h"
#include "server/security_group_state.h"
#include "server/state_edit.h"
#include "server/validators.h"

namespace dvr::server {

using namespace dvr::model;

namespace {

const std::set<std::string> kRuleFields{"security_group_id", "direction",      "ethertype",
                                        "protocol",          "port_range_min", "port_range_max",
                                        "remote_ip_prefix",  "remote_group_id"};

std::optional<int> protocolNumber(const json& protocol) {
  if (!protocol.is_string())
    return std::nullopt;
  bool any = false;
  return ipProtocolNumber(protocol.get<std::string>(), &any);
}

// What makes two rules the same for Neutron's SecurityGroupRuleExists: every field, the
// protocol by number (tcp is 6), the prefix as its network, 0.0.0.0/0 and ::/0 as none.
json ruleKey(const json& r) {
  json prefix = r.value("normalized_cidr", json(nullptr));
  if (prefix == "0.0.0.0/0" || prefix == "::/0")
    prefix = nullptr;
  auto number = protocolNumber(r.value("protocol", json(nullptr)));
  return {r.value("security_group_id", json(nullptr)),
          r.value("direction", json(nullptr)),
          r.value("ethertype", json(nullptr)),
          number ? json(*number) : json(nullptr),
          r.value("port_range_min", json(nullptr)),
          r.value("port_range_max", json(nullptr)),
          prefix,
          r.value("remote_group_id", json(nullptr))};
}

// Protocols of IPv6 only (neutron_lib's IPV6_ONLY_PROTOCOLS by number).
bool ipv6Only(int protocol) {
  return protocol == 41 || protocol == 43 || protocol == 44 || protocol == 58 || protocol == 59 ||
         protocol == 60;
}

std::optional<long> port(const json& b, const char* key) {
  if (!b.contains(key) || b[key].is_null())
    return std::nullopt;
  return b[key].get<long>();
}

std::string create(ApiState& s, const WriteRequest& w) {
  json b = parseBody(w.http, "security_group_rule");
  allowOnly(b, with(kRuleFields, {"description", "project_id", "tenant_id"}));
  for (const char* required : {"security_group_id", "direction"}) {
    if (!b.contains(required) || b[required].is_null())
      throw badRequest(std::string("Failed to parse request. Required attribute '") + required +
                       "' not specified");
  }
  std::string group = str(b, "security_group_id");
  existingSecurityGroup(s, group);
  json rule{{"security_group_id", group},
            {"direction", b["direction"]},
            {"ethertype", b.value("ethertype", json("IPv4"))},
            {"protocol", b.value("protocol", json(nullptr))},
            {"port_range_min", b.value("port_range_min", json(nullptr))},
            {"port_range_max", b.value("port_range_max", json(nullptr))},
            {"remote_ip_prefix", b.value("remote_ip_prefix", json(nullptr))},
            {"normalized_cidr", nullptr},
            {"remote_group_id", b.value("remote_group_id", json(nullptr))},
            {"description", str(b, "description")},
            {"project_id", projectOf(b, w.http.context.project_id)}};
  if (rule["remote_ip_prefix"].is_string() && rule["remote_group_id"].is_string())
    throw badRequest("Only remote_ip_prefix or remote_group_id may be provided.",
                     "SecurityGroupRemoteGroupAndRemoteIpPrefix");
  std::optional<int> number = protocolNumber(rule["protocol"]);
  if (auto problem =
          portRangeProblem(number, port(rule, "port_range_min"), port(rule, "port_range_max")))
    throw badRequest(problem->message, problem->type);
  const std::string ethertype = rule["ethertype"];
  if (rule["remote_ip_prefix"].is_string()) {
    auto prefix = validators::ipPrefix(rule["remote_ip_prefix"]);  // converted: valid
    if ((prefix->version == 4) != (ethertype == "IPv4"))
      throw badRequest("Conflicting value ethertype " + ethertype + " for CIDR " + prefix->cidr,
                       "SecurityGroupRuleParameterConflict");
    rule["normalized_cidr"] = prefix->normalized;
  }
  if (number && ipv6Only(*number) && ethertype == "IPv4")
    throw badRequest(
        "Invalid ethertype IPv4 for protocol " + rule["protocol"].get<std::string>() + ".",
        "SecurityGroupEthertypeConflictWithProtocol");
  if (rule["remote_group_id"].is_string())
    existingSecurityGroup(s, rule["remote_group_id"]);
  json key = ruleKey(rule);
  if (s.attrs.contains(kRuleAttrs)) {
    for (const auto& [id, other] : s.attrs[kRuleAttrs].items()) {
      if (other.value("security_group_id", std::string()) == group && ruleKey(other) == key)
        throw conflict("Security group rule already exists. Rule id is " + id + ".",
                       "SecurityGroupRuleExists");
    }
  }
  std::string id = newId(s, "security-group-rule");
  addRule(s, id, std::move(rule));
  return id;
}

void existingRule(const ApiState& s, const std::string& id) {
  if (!s.attrs.contains(kRuleAttrs) || !s.attrs[kRuleAttrs].contains(id))
    throw notFound("Security group rule " + id + " does not exist", "SecurityGroupRuleNotFound");
}

void update(ApiState& s, const WriteRequest& w) {
  existingRule(s, w.id);
  json b = parseBody(w.http, "security_group_rule");
  allowOnly(b, {"description"}, with(kRuleFields, {"id", "project_id", "tenant_id"}));
  setAttrs(s, kRuleAttrs, w.id, b, {"description"}, false);
}

void remove(ApiState& s, const std::string& id) {
  existingRule(s, id);
  removeRule(s, id);
}

}  // namespace

WriteOutcome writeSecurityGroupRule(ApiState& s, const WriteRequest& w) {
  return write({create, update, remove,
                [](const View& v, const std::string& id) {
                  return json{{"security_group_rule", v.securityGroupRule(id)}};
                }},
               s, w);
}

}  // namespace dvr::server
