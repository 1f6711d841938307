#include "model/topology_json.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace dvr::model {
namespace {

using nlohmann::json;

template <class T>
void putOpt(json& j, const char* key, const std::optional<T>& v) {
  if (v) {
    if constexpr (std::is_same_v<T, Ipv4> || std::is_same_v<T, Mac> || std::is_same_v<T, Cidr>) {
      j[key] = v->str();
    } else {
      j[key] = *v;
    }
  }
}

template <class T>
T parse(const json& j, const char* key) {
  auto text = j.at(key).get<std::string>();
  auto v = T::parse(text);
  if (!v)
    throw std::runtime_error(std::string("bad ") + key + ": " + text);
  return *v;
}

template <class T>
std::optional<T> parseOpt(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null())
    return std::nullopt;
  if constexpr (std::is_same_v<T, Ipv4> || std::is_same_v<T, Mac> || std::is_same_v<T, Cidr>) {
    return parse<T>(j, key);
  } else {
    return j[key].get<T>();
  }
}

json pinJson(const PortPin& p) {
  json j = json::object();
  putOpt(j, "id", p.id);
  putOpt(j, "mac", p.mac);
  putOpt(j, "ip", p.ip);
  return j;
}

PortPin pinFrom(const json& j) {
  if (j.is_null())
    return {};
  return {parseOpt<std::string>(j, "id"), parseOpt<Mac>(j, "mac"), parseOpt<Ipv4>(j, "ip")};
}

}  // namespace

json toJson(const Topology& t) {
  json j;
  j["settings"] = {{"dvr_base_mac", t.settings.dvr_base_mac.str()},
                   {"base_mac", t.settings.base_mac.str()},
                   {"link_local_pool", t.settings.link_local_pool.str()},
                   {"underlay_mtu", t.settings.underlay_mtu},
                   {"l3_ha_net_cidr", t.settings.ha_cidr.str()},
                   {"max_l3_agents_per_router", t.settings.ha_hosts},
                   {"ha_vni", t.settings.ha_vni}};
  for (const auto& h : t.hosts) {
    json o{{"name", h.name},
           {"agent_mode", agentModeName(h.mode)},
           {"tunnel_ip", h.tunnel_ip.str()},
           {"uplinks", h.uplinks}};
    putOpt(o, "dvr_mac", h.dvr_mac);
    if (h.dhcp)  // written only when set, as every field added later
      o["dhcp"] = true;
    j["hosts"].push_back(o);
  }
  for (const auto& n : t.networks) {
    json o{{"name", n.name}, {"external", n.external}};
    putOpt(o, "id", n.id);
    putOpt(o, "vni", n.vni);
    putOpt(o, "mtu", n.mtu);
    j["networks"].push_back(o);
  }
  for (const auto& s : t.subnets) {
    json o{{"name", s.name},
           {"network", s.network},
           {"cidr", s.cidr.str()},
           {"no_gateway", s.no_gateway}};
    putOpt(o, "id", s.id);
    putOpt(o, "gateway", s.gateway);
    for (const auto& p : s.pools)
      o["allocation_pools"].push_back({{"start", p.start.str()}, {"end", p.end.str()}});
    if (!s.enable_dhcp)
      o["enable_dhcp"] = false;
    for (Ipv4 d : s.dns_nameservers)
      o["dns_nameservers"].push_back(d.str());
    j["subnets"].push_back(o);
  }
  for (const auto& r : t.routers) {
    json o{{"name", r.name},
           {"enable_snat", r.enable_snat},
           {"gateway_port", pinJson(r.gateway_port)}};
    putOpt(o, "id", r.id);
    putOpt(o, "external_gateway", r.gateway_network);
    putOpt(o, "snat_host", r.snat_host);
    if (r.ha)
      o["ha"] = true;
    if (!r.distributed)
      o["distributed"] = false;
    if (!r.admin_state_up)  // written only when down: the rows of routers up stay as they were
      o["admin_state_up"] = false;
    if (!r.ha_hosts.empty())
      o["ha_hosts"] = r.ha_hosts;
    o["interfaces"] = json::array();
    for (const auto& i : r.interfaces) {
      o["interfaces"].push_back(
          {{"subnet", i.subnet}, {"port", pinJson(i.port)}, {"snat_port", pinJson(i.snat_port)}});
    }
    for (const auto& e : r.routes) {
      o["routes"].push_back({{"destination", e.destination.str()}, {"nexthop", e.nexthop.str()}});
    }
    j["routers"].push_back(o);
  }
  for (const auto& v : t.vms) {
    json o{{"name", v.name}, {"network", v.network}, {"host", v.host}};
    putOpt(o, "port_id", v.port_id);
    putOpt(o, "subnet", v.subnet);
    putOpt(o, "ip", v.ip);
    putOpt(o, "mac", v.mac);
    // Written only when set, so documents of unfiltered VMs stay as they were.
    if (v.port_security)
      o["port_security"] = true;
    if (!v.security_groups.empty())
      o["security_groups"] = v.security_groups;
    for (const auto& p : v.allowed_address_pairs) {
      json pair{{"ip_address", p.ip.str()}};
      putOpt(pair, "mac_address", p.mac);
      o["allowed_address_pairs"].push_back(pair);
    }
    if (v.no_ip)
      o["no_ip"] = true;
    for (const auto& e : v.extra_ips) {
      json f{{"subnet", e.subnet}};
      putOpt(f, "ip", e.ip);
      o["extra_ips"].push_back(f);
    }
    for (const auto& d : v.extra_dhcp_opts)
      o["extra_dhcp_opts"].push_back({{"opt_name", d.name}, {"opt_value", d.value}});
    j["vms"].push_back(o);
  }
  for (const auto& g : t.security_groups) {
    json o{{"name", g.name}, {"stateful", g.stateful}, {"rules", json::array()}};
    putOpt(o, "id", g.id);
    for (const auto& r : g.rules) {
      json rule{{"direction", r.ingress ? "ingress" : "egress"}};
      putOpt(rule, "id", r.id);
      putOpt(rule, "protocol", r.protocol);
      putOpt(rule, "port_range_min", r.port_min);
      putOpt(rule, "port_range_max", r.port_max);
      putOpt(rule, "remote_ip_prefix", r.remote_ip_prefix);
      putOpt(rule, "remote_group", r.remote_group);
      o["rules"].push_back(rule);
    }
    j["security_groups"].push_back(o);
  }
  for (const auto& f : t.floating_ips) {
    json o{{"network", f.network}};
    putOpt(o, "id", f.id);
    putOpt(o, "address", f.address);
    putOpt(o, "vm", f.vm);
    putOpt(o, "fixed_ip", f.fixed_ip);
    j["floating_ips"].push_back(o);
  }
  for (const auto& g : t.fip_gateways) {
    j["fip_gateways"].push_back(
        {{"host", g.host}, {"network", g.network}, {"port", pinJson(g.port)}});
  }
  for (const auto& d : t.dhcp_ports) {
    j["dhcp_ports"].push_back(
        {{"network", d.network}, {"host", d.host}, {"port", pinJson(d.port)}});
  }
  for (const auto& l : t.link_locals) {
    j["link_locals"].push_back({{"router", l.router}, {"host", l.host}, {"pair", l.pair.str()}});
  }
  for (const auto& e : t.external_hosts) {
    j["external_hosts"].push_back({{"name", e.name}, {"ip", e.ip.str()}, {"network", e.network}});
  }
  return j;
}

Topology topologyFromJson(const json& j) {
  Topology t;
  try {
    if (j.contains("settings")) {
      const auto& s = j["settings"];
      t.settings.dvr_base_mac = parse<Mac>(s, "dvr_base_mac");
      t.settings.base_mac = parse<Mac>(s, "base_mac");
      t.settings.link_local_pool = parse<Cidr>(s, "link_local_pool");
      t.settings.underlay_mtu = s.at("underlay_mtu").get<int>();
      if (s.contains("l3_ha_net_cidr"))  // absent from servers before HA routers
        t.settings.ha_cidr = parse<Cidr>(s, "l3_ha_net_cidr");
      t.settings.ha_hosts = s.value("max_l3_agents_per_router", 2);
      t.settings.ha_vni = s.value("ha_vni", 0u);
    }
    for (const auto& o : j.value("hosts", json::array())) {
      HostSpec h;
      h.name = o.at("name");
      h.mode = o.at("agent_mode") == "dvr_snat" ? AgentMode::DvrSnat : AgentMode::Dvr;
      h.tunnel_ip = parse<Ipv4>(o, "tunnel_ip");
      h.dvr_mac = parseOpt<Mac>(o, "dvr_mac");
      h.uplinks = o.value("uplinks", std::map<std::string, std::string>{});
      h.dhcp = o.value("dhcp", false);
      t.hosts.push_back(std::move(h));
    }
    for (const auto& o : j.value("networks", json::array())) {
      t.networks.push_back({o.at("name"), parseOpt<std::string>(o, "id"),
                            o.value("external", false), parseOpt<uint32_t>(o, "vni"),
                            parseOpt<int>(o, "mtu"), 0});
    }
    for (const auto& o : j.value("subnets", json::array())) {
      SubnetSpec s;
      s.name = o.at("name");
      s.id = parseOpt<std::string>(o, "id");
      s.network = o.at("network");
      s.cidr = parse<Cidr>(o, "cidr");
      s.gateway = parseOpt<Ipv4>(o, "gateway");
      s.no_gateway = o.value("no_gateway", false);
      for (const auto& p : o.value("allocation_pools", json::array()))
        s.pools.push_back({parse<Ipv4>(p, "start"), parse<Ipv4>(p, "end")});
      s.enable_dhcp = o.value("enable_dhcp", true);
      for (const auto& d : o.value("dns_nameservers", json::array())) {
        auto ip = Ipv4::parse(d.get<std::string>());
        if (!ip)
          throw std::runtime_error("malformed topology document: bad dns_nameservers entry");
        s.dns_nameservers.push_back(*ip);
      }
      t.subnets.push_back(std::move(s));
    }
    for (const auto& o : j.value("routers", json::array())) {
      RouterSpec r;
      r.name = o.at("name");
      r.id = parseOpt<std::string>(o, "id");
      r.gateway_network = parseOpt<std::string>(o, "external_gateway");
      r.gateway_port = pinFrom(o.value("gateway_port", json()));
      r.enable_snat = o.value("enable_snat", true);
      r.snat_host = parseOpt<std::string>(o, "snat_host");
      r.ha = o.value("ha", false);
      r.distributed = o.value("distributed", true);
      r.admin_state_up = o.value("admin_state_up", true);
      r.ha_hosts = o.value("ha_hosts", std::vector<std::string>{});
      for (const auto& i : o.value("interfaces", json::array())) {
        r.interfaces.push_back({i.at("subnet"), pinFrom(i.value("port", json())),
                                pinFrom(i.value("snat_port", json())), 0});
      }
      for (const auto& e : o.value("routes", json::array()))
        r.routes.push_back({parse<Cidr>(e, "destination"), parse<Ipv4>(e, "nexthop")});
      t.routers.push_back(std::move(r));
    }
    for (const auto& o : j.value("vms", json::array())) {
      VmSpec v;
      v.name = o.at("name");
      v.port_id = parseOpt<std::string>(o, "port_id");
      v.network = o.at("network");
      v.subnet = parseOpt<std::string>(o, "subnet");
      v.host = o.value("host", "");
      v.ip = parseOpt<Ipv4>(o, "ip");
      v.mac = parseOpt<Mac>(o, "mac");
      v.port_security = o.value("port_security", false);
      v.security_groups = o.value("security_groups", std::vector<std::string>{});
      for (const auto& p : o.value("allowed_address_pairs", json::array()))
        v.allowed_address_pairs.push_back(
            {parse<Cidr>(p, "ip_address"), parseOpt<Mac>(p, "mac_address")});
      v.no_ip = o.value("no_ip", false);
      for (const auto& f : o.value("extra_ips", json::array()))
        v.extra_ips.push_back({f.at("subnet"), parseOpt<Ipv4>(f, "ip")});
      for (const auto& d : o.value("extra_dhcp_opts", json::array()))
        v.extra_dhcp_opts.push_back({d.at("opt_name"), d.at("opt_value")});
      t.vms.push_back(std::move(v));
    }
    for (const auto& o : j.value("security_groups", json::array())) {
      SecurityGroupSpec g;
      g.name = o.at("name");
      g.id = parseOpt<std::string>(o, "id");
      g.stateful = o.value("stateful", true);
      for (const auto& r : o.value("rules", json::array())) {
        SecurityGroupRuleSpec rule;
        rule.id = parseOpt<std::string>(r, "id");
        rule.ingress = r.value("direction", "ingress") == "ingress";
        rule.protocol = parseOpt<int>(r, "protocol");
        rule.port_min = parseOpt<int>(r, "port_range_min");
        rule.port_max = parseOpt<int>(r, "port_range_max");
        rule.remote_ip_prefix = parseOpt<Cidr>(r, "remote_ip_prefix");
        rule.remote_group = parseOpt<std::string>(r, "remote_group");
        g.rules.push_back(std::move(rule));
      }
      t.security_groups.push_back(std::move(g));
    }
    for (const auto& o : j.value("floating_ips", json::array())) {
      t.floating_ips.push_back({parseOpt<std::string>(o, "id"), o.at("network"),
                                parseOpt<Ipv4>(o, "address"), parseOpt<std::string>(o, "vm"),
                                parseOpt<Ipv4>(o, "fixed_ip"), 0});
    }
    for (const auto& o : j.value("fip_gateways", json::array())) {
      t.fip_gateways.push_back(
          {o.at("host"), o.at("network"), pinFrom(o.value("port", json())), 0});
    }
    for (const auto& o : j.value("dhcp_ports", json::array())) {
      t.dhcp_ports.push_back({o.at("network"), o.at("host"), pinFrom(o.value("port", json())), 0});
    }
    for (const auto& o : j.value("link_locals", json::array())) {
      t.link_locals.push_back({o.at("router"), o.at("host"), parse<Cidr>(o, "pair"), 0});
    }
    for (const auto& o : j.value("external_hosts", json::array())) {
      t.external_hosts.push_back({o.at("name"), parse<Ipv4>(o, "ip"), o.at("network"), 0});
    }
  } catch (const json::exception& e) {
    throw std::runtime_error(std::string("malformed topology document: ") + e.what());
  }
  return t;
}

}  // namespace dvr::model
