#include "model/topology_yaml.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "model/error.h"
#include "model/ip_protocols.h"

namespace dvr::model {
namespace {

int lineOf(const YAML::Node& node) {
  return node.Mark().line + 1;
}

// Walks one YAML mapping, checking its keys and converting its values; every problem
// is recorded against `object` and the offending line.
class Reader {
 public:
  Reader(const YAML::Node& node, std::string object, Problems& problems,
         std::set<std::string> allowed)
      : node_(node), object_(std::move(object)), problems_(problems) {
    if (!node.IsMap()) {
      problems_.add(object_, "expected a mapping", lineOf(node));
      ok_ = false;
      return;
    }
    for (const auto& kv : node) {
      auto key = kv.first.as<std::string>();
      if (!allowed.count(key)) {
        std::string known;
        for (const auto& a : allowed)
          known += (known.empty() ? "" : ", ") + a;
        problems_.add(object_, "unknown key '" + key + "' (known: " + known + ")",
                      lineOf(kv.first));
      }
    }
  }

  bool ok() const { return ok_; }
  const YAML::Node& node() const { return node_; }
  const std::string& object() const { return object_; }
  int line() const { return lineOf(node_); }
  YAML::Node child(const char* key) const { return ok_ ? node_[key] : YAML::Node(); }

  std::optional<std::string> str(const char* key, bool required = false) {
    YAML::Node v = child(key);
    if (!v || v.IsNull()) {
      if (required && ok_)
        problems_.add(object_, std::string("missing required key '") + key + "'", line());
      return std::nullopt;
    }
    if (!v.IsScalar()) {
      problems_.add(object_, std::string("'") + key + "' must be a scalar", lineOf(v));
      return std::nullopt;
    }
    return v.as<std::string>();
  }

  template <class T>
  std::optional<T> parsed(const char* key, const char* what, bool required = false) {
    auto text = str(key, required);
    if (!text)
      return std::nullopt;
    auto value = T::parse(*text);
    if (!value) {
      problems_.add(object_, std::string("'") + key + "': '" + *text + "' is not a valid " + what,
                    lineOf(child(key)));
    }
    return value;
  }
  std::optional<Ipv4> ip(const char* key, bool required = false) {
    return parsed<Ipv4>(key, "IPv4 address", required);
  }
  std::optional<Mac> mac(const char* key) { return parsed<Mac>(key, "MAC address"); }
  std::optional<Cidr> cidr(const char* key, bool required = false) {
    return parsed<Cidr>(key, "CIDR (a.b.c.d/len)", required);
  }
  // An address or a CIDR, as Neutron's remote_ip_prefix and allowed address pairs take
  // them: a bare address is its /32.
  std::optional<Cidr> prefix(const char* key, bool required = false) {
    auto text = str(key, required);
    if (!text)
      return std::nullopt;
    if (auto c = Cidr::parse(*text))
      return c;
    if (auto ip = Ipv4::parse(*text))
      return Cidr{*ip, 32};
    problems_.add(object_,
                  std::string("'") + key + "': '" + *text +
                      "' is not a valid IPv4 address or CIDR (a.b.c.d[/len])",
                  lineOf(child(key)));
    return std::nullopt;
  }

  std::optional<long long> integer(const char* key, long long min, long long max) {
    auto text = str(key);
    if (!text)
      return std::nullopt;
    try {
      size_t used = 0;
      long long v = std::stoll(*text, &used);
      if (used == text->size() && v >= min && v <= max)
        return v;
    } catch (const std::exception&) {
    }
    problems_.add(object_,
                  std::string("'") + key + "': '" + *text + "' must be an integer in " +
                      std::to_string(min) + ".." + std::to_string(max),
                  lineOf(child(key)));
    return std::nullopt;
  }

  std::optional<bool> boolean(const char* key) {
    auto text = str(key);
    if (!text)
      return std::nullopt;
    if (*text == "true" || *text == "yes")
      return true;
    if (*text == "false" || *text == "no")
      return false;
    problems_.add(object_, std::string("'") + key + "': '" + *text + "' must be true or false",
                  lineOf(child(key)));
    return std::nullopt;
  }

  // A list under `key`; each element is handed to `each` with its index.
  template <class F>
  void list(const char* key, F each) {
    YAML::Node v = child(key);
    if (!v || v.IsNull())
      return;
    if (!v.IsSequence()) {
      problems_.add(object_, std::string("'") + key + "' must be a list", lineOf(v));
      return;
    }
    for (size_t i = 0; i < v.size(); ++i)
      each(v[i], i);
  }

 private:
  YAML::Node node_;
  std::string object_;
  Problems& problems_;
  bool ok_ = true;
};

std::string nameOr(const YAML::Node& node, const char* kind, size_t index) {
  if (node.IsMap() && node["name"] && node["name"].IsScalar()) {
    return std::string(kind) + " '" + node["name"].as<std::string>() + "'";
  }
  return std::string(kind) + " #" + std::to_string(index + 1);
}

PortPin readPin(Reader& parent, const char* key, Problems& problems) {
  PortPin pin;
  YAML::Node v = parent.child(key);
  if (!v || v.IsNull())
    return pin;
  Reader r(v, parent.object() + " " + key, problems, {"id", "mac", "ip"});
  if (!r.ok())
    return pin;
  pin.id = r.str("id");
  pin.mac = r.mac("mac");
  pin.ip = r.ip("ip");
  return pin;
}

void readSettings(const YAML::Node& node, Topology& topo, Problems& problems) {
  Reader r(node, "settings", problems,
           {"dvr_base_mac", "base_mac", "link_local_pool", "underlay_mtu", "l3_ha_net_cidr",
            "max_l3_agents_per_router"});
  if (!r.ok())
    return;
  if (auto m = r.mac("dvr_base_mac"))
    topo.settings.dvr_base_mac = *m;
  if (auto m = r.mac("base_mac"))
    topo.settings.base_mac = *m;
  if (auto c = r.cidr("link_local_pool"))
    topo.settings.link_local_pool = *c;
  if (auto mtu = r.integer("underlay_mtu", 1280, 9216))
    topo.settings.underlay_mtu = static_cast<int>(*mtu);
  if (auto c = r.cidr("l3_ha_net_cidr"))
    topo.settings.ha_cidr = *c;
  if (auto n = r.integer("max_l3_agents_per_router", 1, 16))
    topo.settings.ha_hosts = static_cast<int>(*n);
}

void readHost(const YAML::Node& node, size_t i, Topology& topo, Problems& problems) {
  Reader r(node, nameOr(node, "host", i), problems,
           {"name", "agent_mode", "tunnel_ip", "dvr_mac", "uplinks", "dhcp"});
  if (!r.ok())
    return;
  HostSpec h;
  h.line = r.line();
  h.name = r.str("name", true).value_or("");
  auto mode = r.str("agent_mode").value_or("dvr");
  if (mode == "dvr_snat") {
    h.mode = AgentMode::DvrSnat;
  } else if (mode != "dvr") {
    problems.add(r.object(), "agent_mode '" + mode + "' must be dvr or dvr_snat",
                 lineOf(r.child("agent_mode")));
  }
  h.tunnel_ip = r.ip("tunnel_ip", true).value_or(Ipv4());
  h.dvr_mac = r.mac("dvr_mac");
  h.dhcp = r.boolean("dhcp").value_or(false);
  YAML::Node up = r.child("uplinks");
  if (up && !up.IsNull()) {
    if (!up.IsMap()) {
      problems.add(r.object(), "'uplinks' must map external network names to devices", lineOf(up));
    } else {
      for (const auto& kv : up)
        h.uplinks[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
  }
  topo.hosts.push_back(std::move(h));
}

void readSubnet(const YAML::Node& node, size_t i, const std::string& network, Topology& topo,
                Problems& problems) {
  Reader r(node, nameOr(node, "subnet", i), problems,
           {"name", "id", "cidr", "gateway", "allocation_pools", "enable_dhcp", "dns_nameservers"});
  if (!r.ok())
    return;
  SubnetSpec s;
  s.line = r.line();
  s.network = network;
  s.name = r.str("name", true).value_or("");
  s.id = r.str("id");
  s.cidr = r.cidr("cidr", true).value_or(Cidr{});
  if (auto g = r.str("gateway"); g && *g == "none") {
    s.no_gateway = true;
  } else {
    s.gateway = r.ip("gateway");
  }
  r.list("allocation_pools", [&](const YAML::Node& p, size_t) {
    Reader pr(p, r.object() + " allocation pool", problems, {"start", "end"});
    if (!pr.ok())
      return;
    auto start = pr.ip("start", true);
    auto end = pr.ip("end", true);
    if (start && end)
      s.pools.push_back({*start, *end});
  });
  s.enable_dhcp = r.boolean("enable_dhcp").value_or(true);
  r.list("dns_nameservers", [&](const YAML::Node& d, size_t) {
    auto ip = d.IsScalar() ? Ipv4::parse(d.as<std::string>()) : std::nullopt;
    if (!ip)
      problems.add(r.object(), "'dns_nameservers' must list IPv4 addresses", lineOf(d));
    else
      s.dns_nameservers.push_back(*ip);
  });
  topo.subnets.push_back(std::move(s));
}

void readNetwork(const YAML::Node& node, size_t i, Topology& topo, Problems& problems) {
  Reader r(node, nameOr(node, "network", i), problems,
           {"name", "id", "external", "vni", "mtu", "subnets"});
  if (!r.ok())
    return;
  NetworkSpec n;
  n.line = r.line();
  n.name = r.str("name", true).value_or("");
  n.id = r.str("id");
  n.external = r.boolean("external").value_or(false);
  if (auto v = r.integer("vni", 1, (1 << 24) - 1))
    n.vni = static_cast<uint32_t>(*v);
  if (auto m = r.integer("mtu", 576, 9216))
    n.mtu = static_cast<int>(*m);
  r.list("subnets",
         [&](const YAML::Node& s, size_t j) { readSubnet(s, j, n.name, topo, problems); });
  topo.networks.push_back(std::move(n));
}

void readRouter(const YAML::Node& node, size_t i, Topology& topo, Problems& problems) {
  Reader r(node, nameOr(node, "router", i), problems,
           {"name", "id", "external_gateway", "gateway_port", "enable_snat", "snat_host", "ha",
            "distributed", "admin_state_up", "interfaces", "routes"});
  if (!r.ok())
    return;
  RouterSpec rt;
  rt.line = r.line();
  rt.name = r.str("name", true).value_or("");
  rt.id = r.str("id");
  rt.gateway_network = r.str("external_gateway");
  rt.gateway_port = readPin(r, "gateway_port", problems);
  rt.enable_snat = r.boolean("enable_snat").value_or(true);
  rt.snat_host = r.str("snat_host");
  rt.ha = r.boolean("ha").value_or(false);
  rt.distributed = r.boolean("distributed").value_or(true);
  rt.admin_state_up = r.boolean("admin_state_up").value_or(true);
  r.list("interfaces", [&](const YAML::Node& n, size_t j) {
    Reader ir(n, r.object() + " interface #" + std::to_string(j + 1), problems,
              {"subnet", "port", "snat_port"});
    if (!ir.ok())
      return;
    InterfaceSpec itf;
    itf.line = ir.line();
    itf.subnet = ir.str("subnet", true).value_or("");
    itf.port = readPin(ir, "port", problems);
    itf.snat_port = readPin(ir, "snat_port", problems);
    rt.interfaces.push_back(std::move(itf));
  });
  r.list("routes", [&](const YAML::Node& n, size_t j) {
    Reader er(n, r.object() + " route #" + std::to_string(j + 1), problems,
              {"destination", "nexthop"});
    if (!er.ok())
      return;
    rt.routes.push_back(
        {er.cidr("destination", true).value_or(Cidr{}), er.ip("nexthop", true).value_or(Ipv4())});
  });
  topo.routers.push_back(std::move(rt));
}

// A rule of a group; the checks that need the other groups (remote_group) are resolve's.
void readRule(const YAML::Node& node, size_t j, const std::string& group, SecurityGroupSpec& sg,
              Problems& problems) {
  Reader r(node, group + " rule #" + std::to_string(j + 1), problems,
           {"id", "direction", "ethertype", "protocol", "port_range_min", "port_range_max",
            "remote_ip_prefix", "remote_group"});
  if (!r.ok())
    return;
  SecurityGroupRuleSpec rule;
  rule.line = r.line();
  rule.id = r.str("id");
  auto direction = r.str("direction", true).value_or("ingress");
  if (direction == "egress") {
    rule.ingress = false;
  } else if (direction != "ingress") {
    problems.add(r.object(), "direction '" + direction + "' must be ingress or egress",
                 lineOf(r.child("direction")));
  }
  if (auto ethertype = r.str("ethertype"); ethertype && *ethertype != "IPv4") {
    problems.add(r.object(),
                 "ethertype '" + *ethertype +
                     "' is not supported in a topology file (dvr's data path is IPv4: IPv4)",
                 lineOf(r.child("ethertype")));
  }
  if (auto protocol = r.str("protocol")) {
    bool any = false;
    rule.protocol = ipProtocolNumber(*protocol, &any);
    if (!rule.protocol && !any) {
      problems.add(r.object(),
                   "protocol '" + *protocol + "' is not one of " + ipProtocolNames() +
                       ", any, or a number 0..255",
                   lineOf(r.child("protocol")));
    }
  }
  if (auto v = r.integer("port_range_min", 0, 65535))
    rule.port_min = static_cast<int>(*v);
  if (auto v = r.integer("port_range_max", 0, 65535))
    rule.port_max = static_cast<int>(*v);
  rule.remote_ip_prefix = r.prefix("remote_ip_prefix");
  rule.remote_group = r.str("remote_group");
  sg.rules.push_back(std::move(rule));
}

void readSecurityGroup(const YAML::Node& node, size_t i, Topology& topo, Problems& problems) {
  Reader r(node, nameOr(node, "security group", i), problems, {"name", "id", "stateful", "rules"});
  if (!r.ok())
    return;
  SecurityGroupSpec sg;
  sg.line = r.line();
  sg.name = r.str("name", true).value_or("");
  sg.id = r.str("id");
  sg.stateful = r.boolean("stateful").value_or(true);
  r.list("rules", [&](const YAML::Node& n, size_t j) { readRule(n, j, r.object(), sg, problems); });
  topo.security_groups.push_back(std::move(sg));
}

void readVm(const YAML::Node& node, size_t i, Topology& topo, Problems& problems) {
  Reader r(node, nameOr(node, "vm", i), problems,
           {"name", "port_id", "network", "subnet", "host", "ip", "mac", "security_groups",
            "port_security", "allowed_address_pairs", "extra_ips", "extra_dhcp_opts"});
  if (!r.ok())
    return;
  VmSpec vm;
  vm.line = r.line();
  vm.name = r.str("name", true).value_or("");
  vm.port_id = r.str("port_id");
  vm.network = r.str("network", true).value_or("");
  vm.subnet = r.str("subnet");
  vm.host = r.str("host", true).value_or("");
  vm.ip = r.ip("ip");
  vm.mac = r.mac("mac");
  bool has_groups = r.child("security_groups") && !r.child("security_groups").IsNull();
  r.list("security_groups", [&](const YAML::Node& g, size_t) {
    if (!g.IsScalar()) {
      problems.add(r.object(), "'security_groups' must list group names", lineOf(g));
      return;
    }
    vm.security_groups.push_back(g.as<std::string>());
  });
  // Files written before security groups keep their open data path: no groups, no
  // filtering, unless the file says so.
  vm.port_security = r.boolean("port_security").value_or(has_groups);
  r.list("allowed_address_pairs", [&](const YAML::Node& p, size_t j) {
    Reader pr(p, r.object() + " allowed address pair #" + std::to_string(j + 1), problems,
              {"ip_address", "mac_address"});
    if (!pr.ok())
      return;
    auto ip = pr.prefix("ip_address", true);
    auto mac = pr.mac("mac_address");
    if (ip)
      vm.allowed_address_pairs.push_back({*ip, mac});
  });
  // Further fixed IPs: {subnet, ip} (ip optional: allocated).
  r.list("extra_ips", [&](const YAML::Node& e, size_t j) {
    Reader er(e, r.object() + " extra IP #" + std::to_string(j + 1), problems, {"subnet", "ip"});
    if (!er.ok())
      return;
    vm.extra_ips.push_back({er.str("subnet", true).value_or(""), er.ip("ip")});
  });
  // DHCP options for this port (Neutron's extra_dhcp_opts): {opt_name, opt_value}.
  r.list("extra_dhcp_opts", [&](const YAML::Node& o, size_t j) {
    Reader orr(o, r.object() + " extra DHCP option #" + std::to_string(j + 1), problems,
               {"opt_name", "opt_value"});
    if (!orr.ok())
      return;
    vm.extra_dhcp_opts.push_back(
        {orr.str("opt_name", true).value_or(""), orr.str("opt_value", true).value_or("")});
  });
  topo.vms.push_back(std::move(vm));
}

void readFloatingIp(const YAML::Node& node, size_t i, Topology& topo, Problems& problems) {
  Reader r(node, "floating IP #" + std::to_string(i + 1), problems,
           {"id", "network", "address", "vm", "fixed_ip"});
  if (!r.ok())
    return;
  FloatingIpSpec f;
  f.line = r.line();
  f.id = r.str("id");
  f.network = r.str("network", true).value_or("");
  f.address = r.ip("address");
  f.vm = r.str("vm");
  f.fixed_ip = r.ip("fixed_ip");
  topo.floating_ips.push_back(std::move(f));
}

}  // namespace

Topology parseTopology(const std::string& yaml_text, const std::string& source) {
  Problems problems;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    problems.add("YAML", e.msg, e.mark.line + 1);
    problems.throwIfAny(source);
  }
  Topology topo;
  Reader top(root, "topology", problems,
             {"settings", "hosts", "networks", "routers", "vms", "floating_ips", "fip_gateways",
              "link_locals", "external_hosts", "security_groups", "dhcp_ports"});
  if (top.ok()) {
    if (auto s = top.child("settings"); s && !s.IsNull())
      readSettings(s, topo, problems);
    top.list("hosts", [&](const YAML::Node& n, size_t i) { readHost(n, i, topo, problems); });
    top.list("networks", [&](const YAML::Node& n, size_t i) { readNetwork(n, i, topo, problems); });
    top.list("routers", [&](const YAML::Node& n, size_t i) { readRouter(n, i, topo, problems); });
    top.list("security_groups",
             [&](const YAML::Node& n, size_t i) { readSecurityGroup(n, i, topo, problems); });
    top.list("vms", [&](const YAML::Node& n, size_t i) { readVm(n, i, topo, problems); });
    top.list("floating_ips",
             [&](const YAML::Node& n, size_t i) { readFloatingIp(n, i, topo, problems); });
    top.list("fip_gateways", [&](const YAML::Node& n, size_t i) {
      Reader r(n, "fip gateway #" + std::to_string(i + 1), problems, {"host", "network", "port"});
      if (!r.ok())
        return;
      FipGatewaySpec g{r.str("host", true).value_or(""), r.str("network", true).value_or(""),
                       readPin(r, "port", problems), r.line()};
      topo.fip_gateways.push_back(std::move(g));
    });
    top.list("dhcp_ports", [&](const YAML::Node& n, size_t i) {
      Reader r(n, "dhcp port #" + std::to_string(i + 1), problems, {"network", "host", "port"});
      if (!r.ok())
        return;
      DhcpPortSpec d{r.str("network", true).value_or(""), r.str("host", true).value_or(""),
                     readPin(r, "port", problems), r.line()};
      topo.dhcp_ports.push_back(std::move(d));
    });
    top.list("link_locals", [&](const YAML::Node& n, size_t i) {
      Reader r(n, "link-local pair #" + std::to_string(i + 1), problems,
               {"router", "host", "pair"});
      if (!r.ok())
        return;
      LinkLocalSpec l{r.str("router", true).value_or(""), r.str("host", true).value_or(""),
                      r.cidr("pair", true).value_or(Cidr{}), r.line()};
      topo.link_locals.push_back(std::move(l));
    });
    top.list("external_hosts", [&](const YAML::Node& n, size_t i) {
      Reader r(n, nameOr(n, "external host", i), problems, {"name", "ip", "network"});
      if (!r.ok())
        return;
      ExternalHostSpec e{r.str("name", true).value_or(""), r.ip("ip", true).value_or(Ipv4()),
                         r.str("network", true).value_or(""), r.line()};
      topo.external_hosts.push_back(std::move(e));
    });
  }
  problems.throwIfAny(source);
  return topo;
}

Topology loadTopologyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw InputError(path, {{"file", "cannot be read", 0}});
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return parseTopology(buf.str(), path);
}

}  // namespace dvr::model
