// POST/PUT/DELETE /v2.0/ports
#include "server/api_error.h"
#include "server/request_args.h"
#include "server/resource_writes.h"
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

// A port is bound (binding:host_id) only to a host that runs a dvr agent.
void requireAgent(const ApiState& s, const std::string& host) {
  if (!host.empty() && !s.agents.contains(host))
    throw badRequest("Binding failed: host " + host + " has no dvr agent", "PortBindingFailed");
}

// fixed_ips: at most one, on a subnet of the port's network.
void fixedIp(ApiState& s, VmSpec& v, const json& fixed_ips) {
  if (!fixed_ips.is_array() || fixed_ips.size() > 1)
    throw badRequest("dvr ports take one fixed IP");
  for (const auto& f : fixed_ips) {
    if (f.contains("subnet_id")) {
      std::string sub = str(f, "subnet_id");
      if (existingSubnet(s, sub).network != v.network)
        throw badRequest("Invalid input for operation: Failed to create port on network " +
                             v.network + ", because fixed_ips included invalid subnet " + sub + ".",
                         "InvalidInput");
      v.subnet = sub;
    }
    if (f.contains("ip_address"))
      v.ip = ipArg(str(f, "ip_address"), "fixed_ips");
  }
}

std::string create(ApiState& s, const WriteRequest& w) {
  json b = parseBody(w.http, "port");
  allowOnly(b, with(portAttrs(), {"network_id", "fixed_ips", "mac_address", "binding:host_id",
                                  "binding:vnic_type", "binding:profile", "security_groups",
                                  "port_security_enabled", "allowed_address_pairs",
                                  "extra_dhcp_opts", "dns_name", "qos_policy_id"}));
  std::string net = str(b, "network_id");
  if (net.empty())
    throw badRequest("Failed to parse request. Required attribute 'network_id' not specified");
  existingNetwork(s, net);
  std::string id = newId(s, "port");
  VmSpec v;
  v.name = id;
  v.port_id = id;
  v.network = net;
  v.host = str(b, "binding:host_id");
  requireAgent(s, v.host);
  if (b.contains("mac_address")) {
    auto mac = Mac::parse(str(b, "mac_address"));
    if (!mac)
      throw badRequest("Invalid input for mac_address. Reason: '" + str(b, "mac_address") +
                       "' is not a valid MAC address.");
    v.mac = *mac;
  }
  if (b.contains("fixed_ips"))
    fixedIp(s, v, b["fixed_ips"]);
  s.topo.vms.push_back(v);
  setAttrs(s, "ports", id, b, portAttrs(), true);
  return id;
}

void update(ApiState& s, const WriteRequest& w) {
  VmSpec& v = existingPort(s, w.id);
  json b = parseBody(w.http, "port");
  allowOnly(b,
            with(portAttrs(), {"binding:host_id", "binding:profile", "security_groups",
                               "port_security_enabled", "allowed_address_pairs"}),
            {"network_id", "id", "mac_address"});
  if (b.contains("binding:host_id")) {
    std::string host = str(b, "binding:host_id");
    requireAgent(s, host);
    v.host = host;
  }
  setAttrs(s, "ports", w.id, b, portAttrs(), false);
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
                  return json{{"port", v.port(*v.c.findVm(id))}};
                }},
               s, w);
}

}  // namespace dvr::server
