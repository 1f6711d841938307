// Security groups through the API, as Neutron's clients see them: the default group each
// project gets on first use, groups and rules (shapes, filters, fields=), ports'
// security_groups, port_security_enabled and allowed_address_pairs (stored, shown, and
// in the topology the agents read), and every refusal with Neutron's status, type and
// message, leaving everything as it was. Then the `openstack` CLI doing the same.
#include <gtest/gtest.h>

#include <set>

#include "api_fixture.h"

namespace dvr {
namespace {

using nlohmann::json;

class SecurityGroupApi : public testing::Api {
 protected:
  // A call in the project named by X-Project-Id (none: the noauth default project).
  json callIn(const std::string& project, const char* method, const std::string& path,
              const std::string& body, int expect_status) {
    httplib::Headers headers;
    if (!project.empty())
      headers.emplace("X-Project-Id", project);
    std::string m = method;
    httplib::Result res = m == "GET"    ? http.Get(path, headers)
                          : m == "POST" ? http.Post(path, headers, body, "application/json")
                          : m == "PUT"  ? http.Put(path, headers, body, "application/json")
                                        : http.Delete(path, headers);
    EXPECT_TRUE(res) << method << " " << path;
    if (!res)
      return json();
    EXPECT_EQ(res->status, expect_status)
        << method << " " << path << " " << body << " -> " << res->body;
    return res->body.empty() ? json() : json::parse(res->body);
  }
  // Everything a refusal must leave as it was. Rules and ports are listed without side
  // effects; the groups through show (a list makes the default group).
  std::string everything(const std::vector<std::string>& groups) {
    std::string all = testing::Api::everything() + http.Get("/v2.0/security-group-rules")->body;
    for (const auto& g : groups)
      all += http.Get("/v2.0/security-groups/" + g)->body;
    return all + http.Get("/dvr/v1/topology?since=0")->body;
  }
  // Expects the refusal (status, Neutron's type, a part of its message), changing nothing.
  void refused(const char* method, const std::string& path, const json& body, int status,
               const std::string& type, const std::string& message,
               const std::vector<std::string>& groups) {
    std::string before = everything(groups);
    json e = call(method, path, body.is_null() ? "" : body.dump(), status);
    EXPECT_EQ(e["NeutronError"]["type"], type) << body.dump() << " -> " << e.dump();
    EXPECT_NE(e["NeutronError"]["message"].get<std::string>().find(message), std::string::npos)
        << body.dump() << " -> " << e.dump();
    EXPECT_EQ(everything(groups), before) << body.dump();
  }
  std::string defaultGroup(const std::string& project = "") {
    json list = callIn(project, "GET", "/v2.0/security-groups?name=default", "", 200);
    for (const auto& g : list["security_groups"]) {
      if (g["project_id"] == (project.empty() ? "dvr-noauth" : project))
        return g["id"];
    }
    ADD_FAILURE() << "no default group for '" << project << "': " << list.dump();
    return "";
  }
  std::string group(const std::string& name) {
    return id(call("POST", "/v2.0/security-groups",
                   json{{"security_group", {{"name", name}}}}.dump(), 201),
              "security_group");
  }
  json rule(const json& fields, int status = 201) {
    return call("POST", "/v2.0/security-group-rules", json{{"security_group_rule", fields}}.dump(),
                status);
  }
  json port(const json& fields, int status = 201) {
    return call("POST", "/v2.0/ports", json{{"port", fields}}.dump(), status);
  }
  // The topology document the agents read: a VM and a group by id.
  json topologyItem(const char* section, const std::string& name) {
    json t = call("GET", "/dvr/v1/topology?since=0", "", 200)["topology"];
    for (const auto& item : t.value(section, json::array())) {
      if (item["name"] == name)
        return item;
    }
    return nullptr;
  }
};

// Sorted "direction ethertype remote" of a group's rules.
std::multiset<std::string> ruleSummary(const json& group) {
  std::multiset<std::string> out;
  for (const auto& r : group["security_group_rules"]) {
    out.insert(r["direction"].get<std::string>() + " " + r["ethertype"].get<std::string>() + " " +
               (r["remote_group_id"].is_null()
                    ? "-"
                    : "self?" + std::to_string(r["remote_group_id"] == group["id"])));
  }
  return out;
}

TEST_P(SecurityGroupApi, EachProjectGetsItsDefaultGroupOnFirstList) {
  json first = call("GET", "/v2.0/security-groups", "", 200)["security_groups"];
  ASSERT_EQ(first.size(), 1u) << first.dump();
  const json& g = first[0];
  EXPECT_EQ(g["name"], "default");
  EXPECT_EQ(g["description"], "Default security group");
  EXPECT_EQ(g["project_id"], "dvr-noauth");  // noauth without X-Project-Id
  EXPECT_EQ(g["tenant_id"], "dvr-noauth");
  EXPECT_EQ(g["stateful"], true);
  // Neutron's default rules: egress anything, ingress from members of the group.
  EXPECT_EQ(ruleSummary(g),
            (std::multiset<std::string>{"egress IPv4 -", "egress IPv6 -", "ingress IPv4 self?1",
                                        "ingress IPv6 self?1"}));
  for (const auto& r : g["security_group_rules"]) {
    EXPECT_TRUE(r["protocol"].is_null());
    EXPECT_TRUE(r["remote_ip_prefix"].is_null());
    EXPECT_EQ(r["belongs_to_default_sg"], true);
  }
  // Made once: the second list shows the same one.
  json again = call("GET", "/v2.0/security-groups", "", 200)["security_groups"];
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0]["id"], g["id"]);
  // Another project gets its own.
  std::string other = defaultGroup("tenant-b");
  EXPECT_NE(other, g["id"].get<std::string>());
  EXPECT_EQ(call("GET", "/v2.0/security-groups", "", 200)["security_groups"].size(), 2u);
  // The agents' topology carries the IPv4 rules only (the data path is IPv4).
  json in_topology = topologyItem("security_groups", g["id"]);
  ASSERT_FALSE(in_topology.is_null());
  EXPECT_EQ(in_topology["rules"].size(), 2u) << in_topology.dump();
}

TEST_P(SecurityGroupApi, TheDefaultGroupCannotBeDeletedRenamedOrMadeAgain) {
  std::string d = defaultGroup();
  refused("DELETE", "/v2.0/security-groups/" + d, nullptr, 409, "SecurityGroupCannotRemoveDefault",
          "Insufficient rights for removing default security group.", {d});
  refused("PUT", "/v2.0/security-groups/" + d, json{{"security_group", {{"name", "mine"}}}}, 409,
          "SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.", {d});
  refused("POST", "/v2.0/security-groups", json{{"security_group", {{"name", "default"}}}}, 409,
          "SecurityGroupDefaultAlreadyExists", "Default security group already exists.", {d});
  // Another group may not take the name.
  std::string other = call("POST", "/v2.0/security-groups", R"({"security_group":{"name":"web"}})",
                           201)["security_group"]["id"];
  refused("PUT", "/v2.0/security-groups/" + other, json{{"security_group", {{"name", "default"}}}},
          409, "SecurityGroupDefaultAlreadyExists", "Default security group already exists.",
          {d, other});
  // Its description may change.
  json updated = call("PUT", "/v2.0/security-groups/" + d,
                      R"({"security_group":{"description":"ours"}})", 200)["security_group"];
  EXPECT_EQ(updated["description"], "ours");
  EXPECT_EQ(updated["name"], "default");
}

TEST_P(SecurityGroupApi, GroupsAreCreatedShownListedUpdatedAndDeleted) {
  json made = call("POST", "/v2.0/security-groups",
                   R"({"security_group":{"name":"web","description":"front ends"}})",
                   201)["security_group"];
  std::string web = made["id"];
  EXPECT_EQ(made["name"], "web");
  EXPECT_EQ(made["description"], "front ends");
  EXPECT_EQ(made["project_id"], "dvr-noauth");
  EXPECT_EQ(made["shared"], false);
  // Neutron's rules of a new group: egress anything, IPv4 and IPv6.
  EXPECT_EQ(ruleSummary(made), (std::multiset<std::string>{"egress IPv4 -", "egress IPv6 -"}));
  EXPECT_EQ(call("GET", "/v2.0/security-groups/" + web, "", 200)["security_group"], made);

  json listed = call("GET", "/v2.0/security-groups?name=web", "", 200)["security_groups"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], web);
  json cut = call("GET", "/v2.0/security-groups?name=web&fields=id&fields=name", "",
                  200)["security_groups"];
  EXPECT_EQ(cut, json::parse(R"([{"id":")" + web + R"(","name":"web"}])"));

  json renamed =
      call("PUT", "/v2.0/security-groups/" + web,
           R"({"security_group":{"name":"www","description":"d"}})", 200)["security_group"];
  EXPECT_EQ(renamed["name"], "www");
  EXPECT_EQ(renamed["description"], "d");
  EXPECT_EQ(renamed["revision_number"], made["revision_number"].get<int>() + 1);
  refused("PUT", "/v2.0/security-groups/" + web, json{{"security_group", {{"stateful", true}}}},
          400, "HTTPBadRequest", "Cannot update read-only attribute stateful", {web});
  refused("POST", "/v2.0/security-groups", json{{"security_group", {{"colour", "red"}}}}, 400,
          "HTTPBadRequest", "Unrecognized attribute(s) 'colour'", {web});

  call("DELETE", "/v2.0/security-groups/" + web, "", 204);
  json gone = call("GET", "/v2.0/security-groups/" + web, "", 404);
  EXPECT_EQ(gone["NeutronError"]["type"], "SecurityGroupNotFound");
  EXPECT_EQ(gone["NeutronError"]["message"], "Security group " + web + " does not exist");
  // Its rules went with it.
  json rules = call("GET", "/v2.0/security-group-rules?security_group_id=" + web, "", 200);
  EXPECT_TRUE(rules["security_group_rules"].empty()) << rules.dump();
  EXPECT_TRUE(topologyItem("security_groups", web).is_null());
}

TEST_P(SecurityGroupApi, RulesAreShownAsNeutronShowsThem) {
  std::string web = group("web"), db = group("db");
  json tcp = rule({{"security_group_id", web},
                   {"direction", "ingress"},
                   {"protocol", "TCP"},
                   {"port_range_min", 22},
                   {"port_range_max", "22"},
                   {"remote_ip_prefix", "10.0.0.5/24"},
                   {"description", "ssh"}})["security_group_rule"];
  EXPECT_EQ(tcp["protocol"], "tcp");
  EXPECT_EQ(tcp["ethertype"], "IPv4");  // the default
  EXPECT_EQ(tcp["port_range_min"], 22);
  EXPECT_EQ(tcp["port_range_max"], 22);
  EXPECT_EQ(tcp["remote_ip_prefix"], "10.0.0.5/24");
  EXPECT_EQ(tcp["normalized_cidr"], "10.0.0.0/24");
  EXPECT_EQ(tcp["description"], "ssh");
  EXPECT_EQ(tcp["project_id"], "dvr-noauth");
  EXPECT_TRUE(tcp["remote_group_id"].is_null());
  EXPECT_EQ(tcp["belongs_to_default_sg"], false);
  EXPECT_EQ(call("GET", "/v2.0/security-group-rules/" + tcp["id"].get<std::string>(), "",
                 200)["security_group_rule"],
            tcp);

  json icmp = rule({{"security_group_id", web},
                    {"direction", "ingress"},
                    {"protocol", "icmp"},
                    {"port_range_min", 8},
                    {"port_range_max", 0},
                    {"remote_ip_prefix", "192.168.74.9"}})["security_group_rule"];
  EXPECT_EQ(icmp["port_range_min"], 8);  // ICMP type
  EXPECT_EQ(icmp["port_range_max"], 0);  // ICMP code
  EXPECT_EQ(icmp["remote_ip_prefix"], "192.168.74.9/32");
  json by_number = rule({{"security_group_id", web},
                         {"direction", "egress"},
                         {"protocol", 17},
                         {"remote_group_id", db}})["security_group_rule"];
  EXPECT_EQ(by_number["protocol"], "17");
  EXPECT_EQ(by_number["remote_group_id"], db);
  json any = rule({{"security_group_id", db},
                   {"direction", "ingress"},
                   {"protocol", "any"}})["security_group_rule"];
  EXPECT_TRUE(any["protocol"].is_null());
  json v6 = rule({{"security_group_id", web},
                  {"direction", "ingress"},
                  {"ethertype", "ipv6"},
                  {"protocol", "ipv6-icmp"},
                  {"remote_ip_prefix", "2001:DB8::1/64"}})["security_group_rule"];
  EXPECT_EQ(v6["ethertype"], "IPv6");
  EXPECT_EQ(v6["remote_ip_prefix"], "2001:db8::1/64");
  EXPECT_EQ(v6["normalized_cidr"], "2001:db8::/64");

  // The group shows its rules; filters and fields= on rules.
  json shown = call("GET", "/v2.0/security-groups/" + web, "", 200)["security_group"];
  EXPECT_EQ(shown["security_group_rules"].size(), 2u + 4u);  // 2 egress of a new group
  json ingress = call(
      "GET",
      "/v2.0/security-group-rules?security_group_id=" + web + "&direction=ingress&ethertype=IPv4",
      "", 200)["security_group_rules"];
  EXPECT_EQ(ingress.size(), 2u) << ingress.dump();
  json port22 = call("GET", "/v2.0/security-group-rules?port_range_min=22&fields=id", "",
                     200)["security_group_rules"];
  EXPECT_EQ(port22, json::parse(R"([{"id":")" + tcp["id"].get<std::string>() + R"("}])"));

  // The topology holds the IPv4 rules, by protocol number, with the remote group's id.
  json in_topology = topologyItem("security_groups", web);
  ASSERT_FALSE(in_topology.is_null());
  std::set<std::string> seen;
  for (const auto& r : in_topology["rules"])
    seen.insert(r.dump());
  // Its IPv4 egress rule, tcp, icmp and udp: not the IPv6 ones.
  EXPECT_EQ(in_topology["rules"].size(), 4u) << in_topology.dump();
  EXPECT_TRUE(seen.count(json{
      {"id", tcp["id"]},
      {"direction", "ingress"},
      {"protocol", 6},
      {"port_range_min", 22},
      {"port_range_max", 22},
      {"remote_ip_prefix",
       "10.0.0.0/24"}}.dump()))
      << in_topology.dump();
  EXPECT_TRUE(seen.count(
      json{{"id", by_number["id"]}, {"direction", "egress"}, {"protocol", 17}, {"remote_group", db}}
          .dump()))
      << in_topology.dump();

  // Only the description changes; deleting removes it everywhere.
  std::string tcp_id = tcp["id"];
  EXPECT_EQ(call("PUT", "/v2.0/security-group-rules/" + tcp_id,
                 R"({"security_group_rule":{"description":"ssh in"}})",
                 200)["security_group_rule"]["description"],
            "ssh in");
  refused("PUT", "/v2.0/security-group-rules/" + tcp_id,
          json{{"security_group_rule", {{"port_range_min", 23}}}}, 400, "HTTPBadRequest",
          "Cannot update read-only attribute port_range_min", {web, db});
  call("DELETE", "/v2.0/security-group-rules/" + tcp_id, "", 204);
  EXPECT_EQ(call("GET", "/v2.0/security-group-rules/" + tcp_id, "", 404)["NeutronError"]["type"],
            "SecurityGroupRuleNotFound");
  EXPECT_EQ(topologyItem("security_groups", web)["rules"].size(), 3u);
  // Deleting a group takes the rules of other groups that name it as their remote group.
  call("DELETE", "/v2.0/security-groups/" + db, "", 204);
  EXPECT_EQ(call("GET", "/v2.0/security-group-rules/" + by_number["id"].get<std::string>(), "",
                 404)["NeutronError"]["type"],
            "SecurityGroupRuleNotFound");
}

TEST_P(SecurityGroupApi, BadRulesAreRefusedWithNeutronsErrors) {
  std::string web = group("web");
  json ok = rule({{"security_group_id", web},
                  {"direction", "ingress"},
                  {"protocol", "tcp"},
                  {"port_range_min", 22},
                  {"port_range_max", 22}})["security_group_rule"];
  std::string missing = "0b1c2d3e-4f50-4617-8899-aabbccddeeff";
  auto with = [&](json fields) {
    json r{{"security_group_id", web}, {"direction", "ingress"}};
    r.update(fields);
    return json{{"security_group_rule", r}};
  };
  struct Case {
    json body;
    int status;
    std::string type, message;
  } cases[] = {
      {with({{"protocol", "6"}, {"port_range_min", 22}, {"port_range_max", 22}}), 409,
       "SecurityGroupRuleExists",
       "Security group rule already exists. Rule id is " + ok["id"].get<std::string>() + "."},
      {with({{"protocol", "tcp"}, {"port_range_min", 30}, {"port_range_max", 20}}), 400,
       "SecurityGroupInvalidPortRange",
       "For TCP/UDP protocols, port_range_min must be <= port_range_max"},
      {with({{"protocol", "tcp"}, {"port_range_min", 0}, {"port_range_max", 20}}), 400,
       "SecurityGroupInvalidPortValue", "Invalid value for port 0."},
      {with({{"protocol", "udp"}, {"port_range_min", 70000}, {"port_range_max", 70000}}), 400,
       "SecurityGroupInvalidPortValue", "Invalid value for port 70000."},
      {with({{"protocol", "smtp"}}), 400, "SecurityGroupRuleInvalidProtocol",
       "Security group rule protocol smtp not supported. Only protocol values [None, 'ah'"},
      {with({{"protocol", 256}}), 400, "SecurityGroupRuleInvalidProtocol",
       "and integer representations [0 to 255] are supported."},
      {with({{"port_range_min", 22}, {"port_range_max", 22}}), 400,
       "SecurityGroupProtocolRequiredWithPorts",
       "Must also specify protocol if port range is given."},
      {with({{"protocol", "icmp"}, {"port_range_min", 300}}), 400, "SecurityGroupInvalidIcmpValue",
       "Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255."},
      {with({{"protocol", "icmp"}, {"port_range_max", 3}}), 400, "SecurityGroupMissingIcmpType",
       "ICMP code (port-range-max) 3 is provided but ICMP type (port-range-min) is missing."},
      {with({{"protocol", "gre"}, {"port_range_min", 1}, {"port_range_max", 2}}), 400,
       "SecurityGroupInvalidProtocolForPort", "Invalid protocol gre for port range"},
      {with({{"remote_ip_prefix", "10.0.0.0/33"}}), 400, "InvalidCIDR",
       "Invalid CIDR 10.0.0.0/33 given as IP prefix."},
      {with({{"remote_ip_prefix", "2001:db8::/64"}}), 400, "SecurityGroupRuleParameterConflict",
       "Conflicting value ethertype IPv4 for CIDR 2001:db8::/64"},
      {with({{"remote_ip_prefix", "10.0.0.0/8"}, {"remote_group_id", web}}), 400,
       "SecurityGroupRemoteGroupAndRemoteIpPrefix",
       "Only remote_ip_prefix or remote_group_id may be provided."},
      {with({{"protocol", "ipv6-icmp"}}), 400, "SecurityGroupEthertypeConflictWithProtocol",
       "Invalid ethertype IPv4 for protocol ipv6-icmp."},
      {with({{"remote_group_id", missing}}), 404, "SecurityGroupNotFound",
       "Security group " + missing + " does not exist"},
      // Not a UUID: still Neutron's 404 (it does not check the form of remote_group_id).
      {with({{"remote_group_id", "bad_group_id"}}), 404, "SecurityGroupNotFound",
       "Security group bad_group_id does not exist"},
      {with({{"security_group_id", missing}}), 404, "SecurityGroupNotFound",
       "Security group " + missing + " does not exist"},
      {with({{"direction", "sideways"}}), 400, "HTTPBadRequest",
       "Invalid input for direction. Reason: 'sideways' is not in ['ingress', 'egress']."},
      {with({{"ethertype", "IPv5"}}), 400, "HTTPBadRequest",
       "Invalid input for ethertype. Reason: 'IPv5' is not in ['IPv4', 'IPv6']."},
      {json{{"security_group_rule", {{"security_group_id", web}}}}, 400, "HTTPBadRequest",
       "Failed to parse request. Required attribute 'direction' not specified"},
      {with({{"name", "x"}}), 400, "HTTPBadRequest", "Unrecognized attribute(s) 'name'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body.dump());
    refused("POST", "/v2.0/security-group-rules", c.body, c.status, c.type, c.message, {web});
  }
  refused("DELETE", "/v2.0/security-group-rules/" + missing, nullptr, 404,
          "SecurityGroupRuleNotFound", "Security group rule " + missing + " does not exist", {web});
}

TEST_P(SecurityGroupApi, PortsCarryGroupsPortSecurityAndAddressPairs) {
  Cloud c = basicCloud();
  std::string web = group("web");
  // A new port: the project's default group (made by this first port), filtered.
  json p1 = port({{"network_id", c.net}, {"binding:host_id", "compute01"}})["port"];
  std::string d = defaultGroup();
  EXPECT_EQ(p1["security_groups"], json::array({d}));
  EXPECT_EQ(p1["port_security_enabled"], true);
  EXPECT_EQ(p1["allowed_address_pairs"], json::array());
  // Named groups, and a port of another project gets that project's default group.
  json p2 = port({{"network_id", c.net}, {"security_groups", {web}}})["port"];
  EXPECT_EQ(p2["security_groups"], json::array({web}));
  json theirs = callIn("tenant-b", "POST", "/v2.0/ports",
                       json{{"port", {{"network_id", c.net}}}}.dump(), 201)["port"];
  EXPECT_EQ(theirs["security_groups"], json::array({defaultGroup("tenant-b")}));
  // Without port security: no groups; Neutron's own ports (network:*) get none either.
  json open = port({{"network_id", c.net}, {"port_security_enabled", false}})["port"];
  EXPECT_EQ(open["security_groups"], json::array());
  EXPECT_EQ(open["port_security_enabled"], false);
  json dhcp = port({{"network_id", c.net}, {"device_owner", "network:dhcp"}})["port"];
  EXPECT_EQ(dhcp["security_groups"], json::array());
  // Router ports are not filtered.
  json ports = call("GET", "/v2.0/ports", "", 200);
  for (const auto& p : ports["ports"]) {
    if (p["device_owner"].get<std::string>().rfind("network:router", 0) == 0)
      EXPECT_EQ(p["security_groups"], json::array()) << p.dump();
  }

  // Address pairs: the port's MAC when none is given; a CIDR too.
  std::string id1 = p1["id"];
  json paired = call("PUT", "/v2.0/ports/" + id1,
                     R"({"port":{"allowed_address_pairs":[{"ip_address":"10.16.0.200"},
               {"ip_address":"10.99.0.0/16","mac_address":"fa:16:3e:00:00:99"}]}})",
                     200)["port"];
  EXPECT_EQ(paired["allowed_address_pairs"],
            json::parse(R"([{"ip_address":"10.16.0.200","mac_address":")" +
                        p1["mac_address"].get<std::string>() +
                        R"("},{"ip_address":"10.99.0.0/16","mac_address":"fa:16:3e:00:00:99"}])"));
  EXPECT_EQ(call("GET", "/v2.0/ports/" + id1, "", 200)["port"]["allowed_address_pairs"],
            paired["allowed_address_pairs"]);
  json groups = call("PUT", "/v2.0/ports/" + id1,
                     json{{"port", {{"security_groups", {web, d}}}}}.dump(), 200)["port"];
  EXPECT_EQ(groups["security_groups"], json::array({web, d}));

  // What the agents read.
  json vm = topologyItem("vms", id1);
  ASSERT_FALSE(vm.is_null());
  EXPECT_EQ(vm["port_security"], true);
  EXPECT_EQ(vm["security_groups"], json::array({web, d}));
  EXPECT_EQ(vm["allowed_address_pairs"], json::parse(R"([{"ip_address":"10.16.0.200/32"},
                {"ip_address":"10.99.0.0/16","mac_address":"fa:16:3e:00:00:99"}])"));
  EXPECT_FALSE(topologyItem("vms", open["id"]).contains("port_security"));

  // Refusals, each changing nothing.
  std::string missing = "0b1c2d3e-4f50-4617-8899-aabbccddeeff";
  std::vector<std::string> all{web, d};
  refused(
      "POST", "/v2.0/ports",
      json{{"port",
            {{"network_id", c.net}, {"port_security_enabled", false}, {"security_groups", {web}}}}},
      400, "PortSecurityAndIPRequiredForSecurityGroups",
      "Port security must be enabled and port must have an IP address in order to use "
      "security groups.",
      all);
  refused("POST", "/v2.0/ports",
          json{{"port",
                {{"network_id", c.net},
                 {"port_security_enabled", false},
                 {"allowed_address_pairs", {{{"ip_address", "10.16.0.9"}}}}}}},
          409, "AddressPairAndPortSecurityRequired",
          "Port Security must be enabled in order to have allowed address pairs on a port.", all);
  refused("POST", "/v2.0/ports",
          json{{"port", {{"network_id", c.net}, {"security_groups", {missing}}}}}, 404,
          "SecurityGroupNotFound", "Security group " + missing + " does not exist", all);
  refused("PUT", "/v2.0/ports/" + id1, json{{"port", {{"port_security_enabled", false}}}}, 409,
          "PortSecurityPortHasSecurityGroup",
          "Port has security group associated. Cannot disable port security or ip address until "
          "security group is removed",
          all);
  refused("PUT", "/v2.0/ports/" + id1,
          json{{"port",
                {{"allowed_address_pairs",
                  {{{"ip_address", "10.16.0.9"}}, {{"ip_address", "10.16.0.9"}}}}}}},
          400, "DuplicateAddressPairInRequest",
          "Request contains duplicate address pair: mac_address None ip_address 10.16.0.9.", all);
  json eleven = json::array();
  for (int i = 0; i < 11; ++i)
    eleven.push_back({{"ip_address", "10.16.1." + std::to_string(i)}});
  refused("PUT", "/v2.0/ports/" + id1, json{{"port", {{"allowed_address_pairs", eleven}}}}, 400,
          "AllowedAddressPairExhausted",
          "The number of allowed address pair exceeds the maximum 10.", all);
  refused("PUT", "/v2.0/ports/" + id1,
          json{{"port", {{"allowed_address_pairs", {{{"ip_address", "10.16.0.300"}}}}}}}, 400,
          "HTTPBadRequest", "'10.16.0.300' is not a valid IP address", all);
  refused("DELETE", "/v2.0/security-groups/" + web, nullptr, 409, "SecurityGroupInUse",
          "Security Group " + web + " in use.", all);

  // Groups and pairs off, then port security off: unfiltered, and the group is free.
  json off = call("PUT", "/v2.0/ports/" + id1,
                  R"({"port":{"security_groups":[],"allowed_address_pairs":[],
                      "port_security_enabled":false}})",
                  200)["port"];
  EXPECT_EQ(off["port_security_enabled"], false);
  EXPECT_EQ(off["security_groups"], json::array());
  EXPECT_EQ(off["allowed_address_pairs"], json::array());
  call("DELETE", "/v2.0/ports/" + p2["id"].get<std::string>(), "", 204);
  call("DELETE", "/v2.0/security-groups/" + web, "", 204);
}

// A network without port security makes its ports unfiltered unless they say otherwise.
TEST_P(SecurityGroupApi, PortsTakeTheirNetworksPortSecurity) {
  std::string net = id(call("POST", "/v2.0/networks",
                            R"({"network":{"name":"open","port_security_enabled":false}})", 201),
                       "network");
  EXPECT_EQ(call("GET", "/v2.0/networks/" + net, "", 200)["network"]["port_security_enabled"],
            false);
  call("POST", "/v2.0/subnets",
       json{{"subnet", {{"network_id", net}, {"cidr", "10.50.0.0/24"}, {"ip_version", 4}}}}.dump(),
       201);
  json open = port({{"network_id", net}})["port"];
  EXPECT_EQ(open["port_security_enabled"], false);
  EXPECT_EQ(open["security_groups"], json::array());
  json filtered = port({{"network_id", net}, {"port_security_enabled", true}})["port"];
  EXPECT_EQ(filtered["port_security_enabled"], true);
  EXPECT_EQ(filtered["security_groups"], json::array({defaultGroup()}));
}

TEST_P(SecurityGroupApi, ExtensionsListWhatIsBuilt) {
  std::set<std::string> aliases;
  json extensions = call("GET", "/v2.0/extensions", "", 200);
  for (const auto& e : extensions["extensions"])
    aliases.insert(e["alias"].get<std::string>());
  for (const char* alias : {"security-group", "port-security", "allowed-address-pairs"})
    EXPECT_TRUE(aliases.count(alias)) << alias;
  EXPECT_FALSE(aliases.count("stateful-security-group"));  // stateful: false is refused
  EXPECT_FALSE(aliases.count("security-groups-remote-address-group"));
  refused("POST", "/v2.0/security-groups",
          json{{"security_group", {{"name", "x"}, {"stateful", false}}}}, 400, "HTTPBadRequest",
          "Stateless security groups are not supported", {});
}

// The real client: groups, a rule by port, a port's groups and address pairs, and the
// refusal of deleting a group in use.
TEST_P(SecurityGroupApi, OpenstackCliManagesGroupsRulesAndPorts) {
  Cloud c = basicCloud();
  auto ok = [&](const std::string& args) {
    testing::Result r = server.openstack(args);
    EXPECT_EQ(r.rc, 0) << args << ": " << r.out;
    return r.out;
  };
  std::string web = ok("security group create web --description 'front ends' -f value -c id");
  web.erase(web.find_last_not_of("\n") + 1);
  json rule = json::parse(
      ok("security group rule create --protocol tcp --dst-port 22 --remote-ip 0.0.0.0/0 web "
         "-f json"));
  EXPECT_EQ(rule["protocol"], "tcp");
  EXPECT_EQ(rule["port_range_min"], 22);
  EXPECT_EQ(rule["port_range_max"], 22);
  EXPECT_EQ(rule["direction"], "ingress");
  ok("security group rule create --protocol icmp --icmp-type 8 --icmp-code 0 web");
  json from_group = json::parse(ok("security group rule create --remote-group web web -f json"));
  EXPECT_EQ(from_group["remote_group_id"], web);
  std::string list = ok("security group list -f value -c Name");
  EXPECT_NE(list.find("default"), std::string::npos) << list;
  EXPECT_NE(list.find("web"), std::string::npos) << list;
  std::string rules = ok("security group rule list web -f value -c 'Port Range' -c 'IP Protocol'");
  EXPECT_NE(rules.find("tcp 22:22"), std::string::npos) << rules;

  ok("port create --network net1 p1");
  ok("port set --security-group web p1");
  ok("port set --allowed-address ip-address=10.16.0.200 p1");
  json p1 = json::parse(ok("port show p1 -f json"));
  std::string groups = p1["security_group_ids"].dump();
  EXPECT_NE(groups.find(web), std::string::npos) << p1.dump();
  EXPECT_NE(p1["allowed_address_pairs"].dump().find("10.16.0.200"), std::string::npos) << p1.dump();
  EXPECT_EQ(p1["port_security_enabled"], true);

  testing::Result in_use = server.openstack("security group delete web");
  EXPECT_NE(in_use.rc, 0);
  EXPECT_NE(in_use.out.find("in use"), std::string::npos) << in_use.out;
  ok("port unset --security-group web p1");
  ok("security group delete web");
  // (unset --allowed-address must name the MAC too: the CLI compares the pairs shown.)
  ok("port unset --allowed-address ip-address=10.16.0.200,mac-address=" +
     p1["mac_address"].get<std::string>() + " p1");
  ok("port set --no-security-group --disable-port-security p1");
  json open = json::parse(ok("port show p1 -f json"));
  EXPECT_EQ(open["port_security_enabled"], false) << open.dump();
  EXPECT_EQ(open["security_group_ids"], json::array()) << open.dump();
  EXPECT_EQ(open["allowed_address_pairs"], json::array()) << open.dump();
  EXPECT_EQ(ok("security group list -f value -c Name").find("web"), std::string::npos);
  ok("port delete p1");
}

INSTANTIATE_TEST_SUITE_P(Backends, SecurityGroupApi, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace dvr
