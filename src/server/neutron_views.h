// Neutron's resource shapes: how the API shows a network, subnet, port, router, floating
// IP, security group, security group rule or agent of the state (dvr's resolved cloud plus the
// attributes dvr does not model).
#pragma once

#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ipam/ids.h"
#include "model/cloud.h"
#include "server/api_state.h"
#include "server/security_group_state.h"

namespace dvr::server {

using nlohmann::json;

struct View {
  const ApiState& s;
  const model::Cloud& c;

  json attrs(const char* kind, const std::string& id) const {
    if (s.attrs.contains(kind) && s.attrs[kind].contains(id))
      return s.attrs[kind][id];
    return json::object();
  }

  json common(const char* kind, const std::string& id) const {
    json a = attrs(kind, id);
    std::string project = a.value("project_id", std::string(""));
    return {{"id", id},
            {"name", a.value("name", std::string(""))},
            {"description", a.value("description", std::string(""))},
            {"project_id", project},
            {"tenant_id", project},
            {"tags", a.value("tags", json::array())},
            {"created_at", a.value("created_at", std::string(""))},
            {"updated_at", a.value("updated_at", std::string(""))},
            {"revision_number", a.value("revision_number", 1)}};
  }

  json network(const model::Network& n) const {
    json j = common("networks", n.id);
    json a = attrs("networks", n.id);
    json subnets = json::array();
    for (const auto& sn : c.subnets) {
      if (sn.network_id == n.id)
        subnets.push_back(sn.id);
    }
    j.update({{"admin_state_up", a.value("admin_state_up", true)},
              {"status", "ACTIVE"},
              {"subnets", subnets},
              {"shared", a.value("shared", false)},
              {"router:external", n.external},
              {"mtu", n.mtu},
              {"provider:network_type", n.external ? "flat" : "vxlan"},
              {"provider:physical_network", n.external ? json("physnet1") : json(nullptr)},
              {"provider:segmentation_id", n.external ? json(nullptr) : json(n.vni)},
              {"port_security_enabled", a.value("port_security_enabled", true)},
              {"availability_zone_hints", json::array()},
              {"availability_zones", json::array()},
              {"ipv4_address_scope", nullptr},
              {"ipv6_address_scope", nullptr},
              {"is_default", false}});
    return j;
  }

  json subnet(const model::Subnet& sn) const {
    json j = common("subnets", sn.id);
    json a = attrs("subnets", sn.id);
    json pools = json::array();
    for (const auto& p : sn.pools)
      pools.push_back({{"start", p.start.str()}, {"end", p.end.str()}});
    j.update({{"network_id", sn.network_id},
              {"ip_version", 4},
              {"cidr", sn.cidr.str()},
              {"gateway_ip", sn.gateway ? json(sn.gateway->str()) : json(nullptr)},
              {"allocation_pools", pools},
              {"enable_dhcp", a.value("enable_dhcp", true)},
              {"dns_nameservers", a.value("dns_nameservers", json::array())},
              {"host_routes", a.value("host_routes", json::array())},
              {"service_types", json::array()},
              {"subnetpool_id", a.value("subnetpool_id", json(nullptr))},
              {"ipv6_ra_mode", nullptr},
              {"ipv6_address_mode", nullptr}});
    return j;
  }

  json port(const model::Port& p) const {
    bool vm = p.device_owner == model::kOwnerCompute;
    // A port the operator made keeps its name when it becomes a router interface.
    bool made_by_operator = vm || (s.attrs.contains("ports") && s.attrs["ports"].contains(p.id));
    json j = made_by_operator
                 ? common("ports", p.id)
                 : json{{"id", p.id},          {"name", ""},      {"description", ""},
                        {"project_id", ""},    {"tenant_id", ""}, {"tags", json::array()},
                        {"revision_number", 1}};
    if (p.device_owner == model::kOwnerDhcp) {  // Neutron's: the network's project's port
      std::string project = attrs("networks", p.network_id).value("project_id", std::string(""));
      j["project_id"] = j["tenant_id"] = project;
    }
    json a = attrs("ports", p.id);
    // A host without a dvr agent: kept, not bound (Neutron's binding_failed).
    std::string failed_host = a.value("binding:failed_host", std::string(""));
    json fixed = json::array();
    if (p.hasIp())
      fixed.push_back({{"subnet_id", p.subnet_id}, {"ip_address", p.ip.str()}});
    for (const auto& e : p.extra_ips)
      fixed.push_back({{"subnet_id", e.subnet_id}, {"ip_address", e.ip.str()}});
    j.update({{"network_id", p.network_id},
              {"mac_address", p.mac.str()},
              {"fixed_ips", fixed},
              {"device_owner", vm ? a.value("device_owner", std::string("")) : p.device_owner},
              {"device_id", vm ? a.value("device_id", std::string("")) : p.device_id},
              {"binding:host_id", p.host.empty() ? failed_host : p.host},
              {"binding:vif_type", !p.host.empty()       ? "ovs"
                                   : failed_host.empty() ? "unbound"
                                                         : "binding_failed"},
              {"binding:vnic_type", "normal"},
              {"binding:profile", json::object()},
              {"binding:vif_details", json::object()},
              {"admin_state_up", a.value("admin_state_up", true)},
              {"status", p.host.empty() ? "DOWN" : "ACTIVE"}});
    // Router, SNAT and gateway ports are never filtered (Neutron gives them no groups).
    json pairs = json::array();
    for (const auto& pair : p.allowed_address_pairs) {
      pairs.push_back({{"ip_address", pair.ip.len == 32 ? pair.ip.addr.str() : pair.ip.str()},
                       {"mac_address", pair.mac.str()}});
    }
    j.update({{"security_groups", p.security_group_ids},
              {"allowed_address_pairs", pairs},
              {"extra_dhcp_opts", a.value("extra_dhcp_opts", json::array())},
              {"port_security_enabled", vm ? p.port_security : true}});
    return j;
  }

  // A rule as Neutron shows it: every field, null when unset.
  json securityGroupRule(const std::string& id) const {
    json a = attrs(kRuleAttrs, id);
    std::string project = a.value("project_id", std::string(""));
    json j{{"id", id},
           {"project_id", project},
           {"tenant_id", project},
           {"remote_address_group_id", nullptr},
           {"belongs_to_default_sg",
            defaultGroupOf(s, project) == a.value("security_group_id", std::string())},
           {"revision_number", a.value("revision_number", 1)}};
    for (const char* key :
         {"security_group_id", "direction", "ethertype", "protocol", "port_range_min",
          "port_range_max", "remote_ip_prefix", "normalized_cidr", "remote_group_id", "description",
          "created_at", "updated_at"})
      j[key] = a.value(key, json(nullptr));
    return j;
  }

  // Group id -> its rules' ids, for showing groups with their rules.
  std::map<std::string, std::vector<std::string>> rulesByGroup() const {
    std::map<std::string, std::vector<std::string>> out;
    if (s.attrs.contains(kRuleAttrs)) {
      for (const auto& [id, r] : s.attrs[kRuleAttrs].items())
        out[r.value("security_group_id", std::string())].push_back(id);
    }
    return out;
  }

  json securityGroup(const model::SecurityGroup& g,
                     const std::map<std::string, std::vector<std::string>>& rules) const {
    json j = common(kGroupAttrs, g.id);
    json list = json::array();
    if (auto it = rules.find(g.id); it != rules.end()) {
      for (const auto& rule : it->second)
        list.push_back(securityGroupRule(rule));
    }
    j.update({{"stateful", g.stateful}, {"shared", false}, {"security_group_rules", list}});
    return j;
  }

  static json routes(const model::Router& r) {
    json list = json::array();
    for (const auto& e : r.routes)
      list.push_back({{"destination", e.destination.str()}, {"nexthop", e.nexthop.str()}});
    return list;
  }

  json router(const model::Router& r) const {
    json j = common("routers", r.id);
    json a = attrs("routers", r.id);
    json gw = nullptr;
    if (r.gateway_network_id) {
      json fixed = json::array();
      if (r.gateway_port) {
        const model::Port& qg = c.ports[*r.gateway_port];
        fixed.push_back({{"subnet_id", qg.subnet_id}, {"ip_address", qg.ip.str()}});
      }
      gw = {{"network_id", *r.gateway_network_id},
            {"enable_snat", r.enable_snat},
            {"external_fixed_ips", fixed}};
    }
    j.update({{"admin_state_up", a.value("admin_state_up", true)},
              {"status", "ACTIVE"},
              {"external_gateway_info", gw},
              {"distributed", r.distributed},
              {"ha", r.ha_mode},
              {"routes", routes(r)},
              {"availability_zone_hints", json::array()},
              {"availability_zones", json::array()},
              {"flavor_id", nullptr}});
    return j;
  }

  json floatingIp(const model::FloatingIp& f) const {
    json j = common("floatingips", f.id);
    j.erase("name");  // floating IPs have none; openstacksdk reads "name" as the address
    json port_id = nullptr, fixed = nullptr, router = nullptr, details = nullptr;
    if (f.port) {
      const model::Port& p = c.ports[*f.port];
      port_id = p.id;
      fixed = f.fixed.str();
      router = f.router_id;
      details = {{"name", attrs("ports", p.id).value("name", std::string(""))},
                 {"network_id", p.network_id},
                 {"mac_address", p.mac.str()},
                 {"admin_state_up", true},
                 {"status", "ACTIVE"},
                 {"device_id", attrs("ports", p.id).value("device_id", std::string(""))},
                 {"device_owner", attrs("ports", p.id).value("device_owner", std::string(""))}};
    }
    j.update({{"floating_ip_address", f.address.str()},
              {"floating_network_id", f.network_id},
              {"port_id", port_id},
              {"fixed_ip_address", fixed},
              {"router_id", router},
              {"status", f.port ? "ACTIVE" : "DOWN"},
              {"port_details", details},
              {"port_forwardings", json::array()},
              {"qos_policy_id", nullptr}});
    return j;
  }

  json agent(const std::string& host, const json& a) const {
    long beat = a.value("heartbeat", 0L);
    bool alive = a.value("alive", false);
    auto stamp = [](long t) {
      std::time_t tt = t;
      char buf[32];
      std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::gmtime(&tt));
      return std::string(buf);
    };
    const model::Host* h = c.findHost(host);
    return {{"id", a.value("id", std::string(""))},
            {"agent_type", "L3 agent"},
            {"binary", "neutron-l3-agent"},
            {"host", host},
            {"topic", "l3_agent"},
            {"admin_state_up", true},
            {"alive", alive},
            {"availability_zone", "nova"},
            {"description", ""},
            {"resources_synced", true},
            {"heartbeat_timestamp", stamp(beat)},
            {"started_at", stamp(a.value("started", beat))},
            {"created_at", stamp(a.value("started", beat))},
            {"configurations",
             {{"agent_mode", a.value("agent_mode", std::string("dvr"))},
              {"tunneling_ip", a.value("tunnel_ip", std::string(""))},
              {"dvr_mac_address", h ? h->dvr_mac.str() : ""},
              {"interface_driver", "veth"}}}};
  }

  // A host started with `dvr agent --dhcp` shows a DHCP agent too, as Neutron's
  // neutron-dhcp-agent beside its L3 agent; it counts the networks it serves.
  json dhcpAgent(const std::string& host, const json& a) const {
    json j = agent(host, a);
    size_t networks = 0;
    for (const auto& p : c.ports)
      networks += p.device_owner == model::kOwnerDhcp && p.host == host;
    j.update({{"id", ipam::uuidFor("dhcp-agent:" + host)},
              {"agent_type", "DHCP agent"},
              {"binary", "neutron-dhcp-agent"},
              {"topic", "dhcp_agent"},
              {"configurations",
               {{"dhcp_driver", "neutron.agent.linux.dhcp.Dnsmasq"},
                {"networks", networks},
                {"dhcp_lease_duration", 86400}}}});
    return j;
  }
};

}  // namespace dvr::server
