// POST/PUT/DELETE /v2.0/ports
#include <algorithm>

#include "server/api_error.h"
#include "server/extra_dhcp_opts.h"
#include "server/request_args.h"
#include "server/resource_writes.h"
#include "server/security_group_state.h"
#include "server/state_edit.h"

namespace dvr::server {

using namespace dvr::model;

namespace {

// (A function: kCommonAttrs lives in another file, whose statics may not be made yet.)
const std::set<std::string>& portAttrs() {
  static const std::set<std::string> attrs =
      with(kCommonAttrs, {"admin_state_up", "device_owner", "device_id"});
  return attrs;
}

// fixed_ips: none (the port gets no IP), one, or several, each on a subnet of the port's
// network (the same subnet may appear more than once). The first is the port's address
// in dvr's data path (its neighbour entries, floating IP NAT, anti-spoofing); the others
// are allocated, shown and released with the port, and not routed to (docs/design.md).
// An entry naming only a subnet keeps the address the port already has there, else gets
// a new one; an entry naming only an address takes the subnet holding it.
void fixedIps(ApiState& s, VmSpec& v, const json& fixed_ips) {
  if (!fixed_ips.is_array())
    throw badRequest("Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: " +
                     fixed_ips.dump() + ".");
  std::vector<FixedIpSpec> had;  // the port's addresses before, for subnet-only entries
  if (v.subnet && v.ip)
    had.push_back({*v.subnet, v.ip});
  for (const auto& e : v.extra_ips) {
    if (e.ip)
      had.push_back(e);
  }
  std::vector<FixedIpSpec> wanted;
  for (const auto& f : fixed_ips) {
    if (!f.is_object())
      throw badRequest("Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: " +
                       f.dump() + ".");
    FixedIpSpec want;
    if (f.contains("ip_address"))
      want.ip = ipArg(str(f, "ip_address"), "fixed_ips");
    if (f.contains("subnet_id")) {
      std::string sub = str(f, "subnet_id");
      if (existingSubnet(s, sub).network != v.network)
        throw badRequest("Invalid input for operation: Failed to create port on network " +
                             v.network + ", because fixed_ips included invalid subnet " + sub + ".",
                         "InvalidInput");
      want.subnet = sub;
    } else if (want.ip) {
      for (const auto& sn : s.topo.subnets) {
        if (sn.network == v.network && sn.cidr.contains(*want.ip))
          want.subnet = sn.name;
      }
      if (want.subnet.empty() && !fixed_ips.empty() && &f != &fixed_ips[0])
        throw badRequest("Invalid input for operation: IP address " + want.ip->str() +
                             " is not a valid IP for any subnet of network " + v.network + ".",
                         "InvalidInput");
    } else {
      throw badRequest(
          "Invalid input for fixed_ips. Reason: a fixed IP names a subnet_id, an "
          "ip_address, or both.");
    }
    wanted.push_back(std::move(want));
  }
  for (auto& w : wanted) {  // subnet only: the port's address there, once
    if (w.ip)
      continue;
    auto kept = std::find_if(had.begin(), had.end(), [&](const FixedIpSpec& h) {
      return h.subnet == w.subnet &&
             std::none_of(wanted.begin(), wanted.end(),
                          [&](const FixedIpSpec& o) { return o.ip == h.ip; });
    });
    if (kept != had.end()) {
      w.ip = kept->ip;
      had.erase(kept);
    }
  }
  v.no_ip = wanted.empty();
  v.subnet.reset();
  v.ip.reset();
  v.extra_ips.clear();
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (i == 0) {
      // The first keeps the form resolve() expects: an address alone finds its subnet.
      if (!wanted[0].subnet.empty())
        v.subnet = wanted[0].subnet;
      v.ip = wanted[0].ip;
    } else {
      v.extra_ips.push_back(wanted[i]);
    }
  }
}

// ---- security groups, port security and allowed address pairs, as Neutron checks them ----

constexpr size_t kMaxAddressPairs = 10;  // Neutron's max_allowed_address_pair

std::vector<std::string> groupsArg(ApiState& s, const json& list) {
  std::vector<std::string> ids;
  for (const auto& g : list) {
    std::string id = g.get<std::string>();
    existingSecurityGroup(s, id);
    if (std::find(ids.begin(), ids.end(), id) == ids.end())
      ids.push_back(id);
  }
  return ids;
}

// Checked by the attribute map already: a list of {ip_address (IPv4 address or CIDR),
// mac_address (optional)}.
std::vector<AddressPairSpec> pairsArg(const json& list) {
  std::vector<AddressPairSpec> pairs;
  if (list.is_null())
    return pairs;
  if (list.size() > kMaxAddressPairs)
    throw badRequest("The number of allowed address pair exceeds the maximum " +
                         std::to_string(kMaxAddressPairs) + ".",
                     "AllowedAddressPairExhausted");
  for (const auto& p : list) {
    std::string ip = p["ip_address"];
    AddressPairSpec pair;
    if (auto c = Cidr::parse(ip))
      pair.ip = *c;
    else
      pair.ip = {*Ipv4::parse(ip), 32};
    if (p.contains("mac_address") && !p["mac_address"].is_null())
      pair.mac = Mac::parse(p["mac_address"].get<std::string>());
    for (const auto& other : pairs) {
      if (other == pair)
        throw badRequest("Request contains duplicate address pair: mac_address " +
                             (pair.mac ? pair.mac->str() : std::string("None")) + " ip_address " +
                             ip + ".",
                         "DuplicateAddressPairInRequest");
    }
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

[[noreturn]] void groupsNeedPortSecurity() {
  throw badRequest(
      "Port security must be enabled and port must have an IP address in order to use "
      "security groups.",
      "PortSecurityAndIPRequiredForSecurityGroups");
}
[[noreturn]] void pairsNeedPortSecurity() {
  throw conflict("Port Security must be enabled in order to have allowed address pairs on a port.",
                 "AddressPairAndPortSecurityRequired");
}

// A new port: port security as its network's unless told; its groups as given or the
// project's default group (none for Neutron's own device owners, network:*).
void portSecurityOfNew(ApiState& s, VmSpec& v, const json& b, const std::string& project) {
  const json& net = s.attrs.contains("networks") && s.attrs["networks"].contains(v.network)
                        ? s.attrs["networks"][v.network]
                        : json::object();
  v.port_security = boolean(b, "port_security_enabled", net.value("port_security_enabled", true));
  if (b.contains("security_groups")) {
    v.security_groups = groupsArg(s, b["security_groups"]);
    if (!v.port_security && !v.security_groups.empty())
      groupsNeedPortSecurity();
  } else if (v.port_security && str(b, "device_owner").rfind("network:", 0) != 0) {
    v.security_groups = {ensureDefaultGroup(s, project)};
  }
  if (b.contains("allowed_address_pairs")) {
    v.allowed_address_pairs = pairsArg(b["allowed_address_pairs"]);
    if (!v.port_security && !v.allowed_address_pairs.empty())
      pairsNeedPortSecurity();
  }
}

void portSecurityUpdate(ApiState& s, VmSpec& v, const json& b) {
  bool port_security = boolean(b, "port_security_enabled", v.port_security);
  auto groups =
      b.contains("security_groups") ? groupsArg(s, b["security_groups"]) : v.security_groups;
  auto pairs = b.contains("allowed_address_pairs") ? pairsArg(b["allowed_address_pairs"])
                                                   : v.allowed_address_pairs;
  if (!port_security) {
    if (b.contains("security_groups") && !groups.empty())
      groupsNeedPortSecurity();
    if (!groups.empty())
      throw conflict(
          "Port has security group associated. Cannot disable port security or ip address "
          "until security group is removed",
          "PortSecurityPortHasSecurityGroup");
    if (!pairs.empty())
      pairsNeedPortSecurity();
  }
  v.port_security = port_security;
  v.security_groups = std::move(groups);
  v.allowed_address_pairs = std::move(pairs);
}

bool hasSubnet(const ApiState& s, const std::string& net) {
  return std::any_of(s.topo.subnets.begin(), s.topo.subnets.end(),
                     [&](const SubnetSpec& sn) { return sn.network == net; });
}

// binding:host_id. A host with a dvr agent binds the port there; any other host is kept as
// Neutron keeps it, with binding:vif_type binding_failed (the port is planned nowhere).
// Returns that host ("" when bound or unbound).
std::string bindHost(const ApiState& s, VmSpec& v, const json& b) {
  std::string host = str(b, "binding:host_id");
  bool bound = host.empty() || s.agents.contains(host);
  v.host = bound ? host : "";
  return bound ? "" : host;
}

void keepFailedHost(ApiState& s, const std::string& id, const std::string& failed) {
  json& a = s.attrs["ports"][id];
  if (failed.empty())
    a.erase("binding:failed_host");
  else
    a["binding:failed_host"] = failed;
}

std::string create(ApiState& s, const WriteRequest& w) {
  json b = parseBody(w.http, "port");
  allowOnly(
      b, with(portAttrs(), {"network_id", "fixed_ips", "mac_address", "binding:host_id",
                            "binding:vnic_type", "binding:profile", "security_groups",
                            "port_security_enabled", "allowed_address_pairs", "extra_dhcp_opts"}));
  // dns_name and qos_policy_id are refused above as Neutron refuses them without the
  // extensions that define them (dvr serves no DNS or QoS), rather than kept and not done.
  std::string net = str(b, "network_id");
  if (net.empty())
    throw badRequest("Failed to parse request. Required attribute 'network_id' not specified");
  existingNetwork(s, net);
  std::string id = newId(s, "port");
  VmSpec v;
  v.name = id;
  v.port_id = id;
  v.network = net;
  std::string failed = bindHost(s, v, b);
  if (b.contains("mac_address")) {
    auto mac = Mac::parse(str(b, "mac_address"));
    if (!mac)
      throw badRequest("Invalid input for mac_address. Reason: '" + str(b, "mac_address") +
                       "' is not a valid MAC address.");
    v.mac = *mac;
  }
  if (b.contains("fixed_ips"))
    fixedIps(s, v, b["fixed_ips"]);
  else if (!hasSubnet(s, net))
    v.no_ip = true;  // Neutron makes the port without an address
  portSecurityOfNew(s, v, b, projectOf(b, w.http.context.project_id));
  s.topo.vms.push_back(v);
  setAttrs(s, "ports", id, b, portAttrs(), true);
  s.attrs["ports"][id]["extra_dhcp_opts"] = extraDhcpOptsOfNew(b.value("extra_dhcp_opts", json()));
  s.topo.vms.back().extra_dhcp_opts = dhcpOptionsServed(s.attrs["ports"][id]["extra_dhcp_opts"]);
  keepFailedHost(s, id, failed);
  return id;
}

// A router interface's port: its name, description and admin state, and its fixed IP
// within its subnet (a new address on the same subnet moves the interface there).
InterfaceSpec* interfacePort(ApiState& s, const std::string& id) {
  for (auto& rt : s.topo.routers) {
    for (auto& itf : rt.interfaces) {
      if (itf.port.id == id)
        return &itf;
    }
  }
  return nullptr;
}

void updateInterfacePort(ApiState& s, InterfaceSpec& itf, const WriteRequest& w) {
  json b = parseBody(w.http, "port");
  allowOnly(b, with(kCommonAttrs, {"admin_state_up", "fixed_ips"}),
            {"network_id", "id", "mac_address", "device_owner", "device_id"});
  if (b.contains("fixed_ips")) {
    const json& ips = b["fixed_ips"];
    if (!ips.is_array() || ips.size() != 1)
      throw badRequest("Router port must have exactly one fixed IP (" +
                       std::to_string(ips.is_array() ? ips.size() : 0) + " given)");
    const json& f = ips[0];
    if (f.contains("subnet_id") && str(f, "subnet_id") != itf.subnet)
      throw badRequest("Bad router request: a router interface port stays on its subnet " +
                           itf.subnet + "; add an interface on " + str(f, "subnet_id") +
                           " instead.",
                       "BadRequest");
    if (f.contains("ip_address")) {
      Ipv4 ip = ipArg(str(f, "ip_address"), "fixed_ips");
      const SubnetSpec& sn = existingSubnet(s, itf.subnet);
      itf.port.ip = ip == sn.gateway ? std::nullopt : std::optional(ip);
    }
  }
  setAttrs(s, "ports", w.id, b, portAttrs(), false);
}

void update(ApiState& s, const WriteRequest& w) {
  if (!findPort(s, w.id)) {
    if (InterfaceSpec* itf = interfacePort(s, w.id))
      return updateInterfacePort(s, *itf, w);
  }
  VmSpec& v = existingPort(s, w.id);
  json b = parseBody(w.http, "port");
  allowOnly(b,
            with(portAttrs(),
                 {"binding:host_id", "binding:profile", "security_groups", "port_security_enabled",
                  "allowed_address_pairs", "fixed_ips", "extra_dhcp_opts"}),
            {"network_id", "id", "mac_address"});
  if (b.contains("fixed_ips")) {
    if (std::any_of(s.topo.floating_ips.begin(), s.topo.floating_ips.end(),
                    [&](const FloatingIpSpec& f) { return f.vm == w.id; }) &&
        !(b["fixed_ips"].is_array() && !b["fixed_ips"].empty()))
      throw conflict("Port " + w.id +
                         " has a floating IP: its fixed IPs cannot all be removed while it is "
                         "associated.",
                     "FloatingIPPortAlreadyAssociated");
    fixedIps(s, v, b["fixed_ips"]);
  }
  if (b.contains("binding:host_id"))
    keepFailedHost(s, w.id, bindHost(s, v, b));
  portSecurityUpdate(s, v, b);
  setAttrs(s, "ports", w.id, b, with(portAttrs(), {"binding:failed_host"}), false);
  if (b.contains("extra_dhcp_opts")) {
    json& a = s.attrs["ports"][w.id];
    a["extra_dhcp_opts"] =
        extraDhcpOptsUpdated(a.value("extra_dhcp_opts", json::array()), b["extra_dhcp_opts"]);
    v.extra_dhcp_opts = dhcpOptionsServed(a["extra_dhcp_opts"]);
  }
}

void remove(ApiState& s, const std::string& id) {
  if (!findPort(s, id)) {
    for (const auto& rt : s.topo.routers) {
      for (const auto& itf : rt.interfaces) {
        if (itf.port.id == id) {
          throw conflict("Port " + id +
                             " cannot be deleted directly via the port API: has device owner "
                             "network:router_interface_distributed.",
                         "ServicePortInUse");
        }
      }
    }
    existingPort(s, id);  // Neutron's 404
  }
  for (auto& f : s.topo.floating_ips) {
    if (f.vm == id)
      f.vm.reset();  // Neutron disassociates floating IPs of a deleted port
  }
  std::erase_if(s.topo.vms, [&](const VmSpec& v) { return v.name == id; });
  s.eraseAttrs("ports", id);
}

}  // namespace

WriteOutcome writePort(ApiState& s, const WriteRequest& w) {
  return write({create, update, remove,
                [](const View& v, const std::string& id) {
                  for (const auto& p : v.c.ports) {
                    if (p.id == id)
                      return json{{"port", v.port(p)}};
                  }
                  return json::object();
                }},
               s, w);
}

}  // namespace dvr::server
