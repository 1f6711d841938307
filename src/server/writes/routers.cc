// POST/PUT/DELETE /v2.0/routers, and PUT /v2.0/routers/<id>/add_router_interface and
// remove_router_interface (by subnet_id or port_id).
#include <algorithm>
#include <optional>

#include "server/api_error.h"
#include "server/request_args.h"
#include "server/resource_writes.h"
#include "server/state_edit.h"
#include "server/validators.h"
#include "server/writes/router_routes.h"

namespace dvr::server {

using namespace dvr::model;

namespace {

// external_gateway_info: set the router's gateway, or (null / {}) clear it.
void setGateway(ApiState& s, RouterSpec& rt, const json& info) {
  if (info.is_null() || (info.is_object() && info.empty())) {
    for (const auto& f : s.topo.floating_ips) {
      if (!f.vm)
        continue;
      const VmSpec* v = findPort(s, *f.vm);
      for (const auto& itf : rt.interfaces) {
        if (v && v->subnet == itf.subnet && rt.gateway_network == f.network) {
          throw conflict("Gateway cannot be updated for router " + rt.name +
                             ", since a gateway to external network " + f.network +
                             " is required by one or more floating IPs.",
                         "RouterExternalGatewayInUseByFloatingIp");
        }
      }
    }
    rt.gateway_network.reset();
    rt.gateway_port = {};
    for (auto& itf : rt.interfaces)
      itf.snat_port = {};
    return;
  }
  if (!info.is_object())
    throw badRequest("Invalid input for external_gateway_info.");
  std::string net = str(info, "network_id");
  if (!existingNetwork(s, net).external)
    throw badRequest("Network " + net + " is not an external network", "BadRequest");
  if (rt.gateway_network != net)
    rt.gateway_port = {};
  rt.gateway_network = net;
  rt.enable_snat = boolean(info, "enable_snat", true);
  for (const auto& f : info.value("external_fixed_ips", json::array())) {
    if (f.contains("ip_address"))
      rt.gateway_port.ip = ipArg(str(f, "ip_address"), "external_fixed_ips");
  }
}

// Whether the router is administratively up once this request is applied: Neutron checks
// the state an update asks for, else the stored one.
bool upAfter(const ApiState& s, const std::string& id, const json& b) {
  if (b.contains("admin_state_up"))
    return boolean(b, "admin_state_up", true);
  if (!s.attrs.contains("routers") || !s.attrs["routers"].contains(id))
    return true;
  return s.attrs["routers"][id].value("admin_state_up", true);
}

// dvr's HA routers are distributed: their snat- namespaces are what keepalived moves.
void refuseCentralizedHa(bool ha, bool distributed) {
  if (ha && !distributed)
    throw badRequest(
        "Bad router request: dvr's HA routers are distributed: ha with "
        "distributed False is not supported.",
        "BadRequest");
}

// Neutron's rule: a router changes HA mode only while it is down (admin_state_up false,
// already or in the same request). Turned off, its HA placement goes; turned on, ipam
// places it anew.
void setHa(ApiState& s, const std::string& id, RouterSpec& rt, const json& b) {
  bool want = boolean(b, "ha", rt.ha);
  if (want == rt.ha)
    return;
  if (upAfter(s, id, b))
    throw badRequest(
        "Bad router request: Cannot change HA attribute of active routers. Please "
        "set router admin_state_up to False prior to upgrade.",
        "BadRequest");
  refuseCentralizedHa(want, rt.distributed);
  rt.ha = want;
  rt.ha_hosts.clear();
}

// distributed on update: Neutron migrates a router between centralized and distributed
// only while it is administratively down (l3_dvr_db's _validate_router_migration); the
// plan then follows (qrouter- on the VMs' hosts and snat-, or qrouter- on one host).
void migrate(ApiState& s, RouterSpec& rt, bool distributed, const json& b) {
  if (distributed == rt.distributed)
    return;
  if (upAfter(s, rt.name, b))
    throw badRequest(
        "Bad router request: Cannot change the 'distributed' attribute of active routers. "
        "Please set router admin_state_up to False prior to upgrade",
        "BadRequest");
  refuseCentralizedHa(b.contains("ha") ? boolean(b, "ha", rt.ha) : rt.ha, distributed);
  rt.distributed = distributed;
  for (auto& itf : rt.interfaces)
    itf.snat_port = {};  // a centralized router has no sg- ports; a distributed one new ones
}

std::string create(ApiState& s, const WriteRequest& w) {
  json b = parseBody(w.http, "router");
  allowOnly(b, with(kCommonAttrs, {"admin_state_up", "external_gateway_info", "distributed", "ha",
                                   "availability_zone_hints", "flavor_id", "service_type_id"}));
  std::string id = newId(s, "router");
  RouterSpec rt;
  rt.name = id;
  rt.id = id;
  // SNAT on several dvr_snat hosts, keepalived deciding which is active (admin-only, as
  // Neutron's policy has it: checked before this write).
  // distributed: false, a centralized router on one dvr_snat host (admin-only too).
  rt.distributed = b.contains("distributed") && !b["distributed"].is_null()
                       ? boolean(b, "distributed", true)
                       : true;
  // The server's l3_ha default is for distributed routers (dvr's HA routers are).
  rt.ha = boolean(b, "ha", w.l3_ha && rt.distributed);
  refuseCentralizedHa(rt.ha, rt.distributed);
  if (b.contains("external_gateway_info"))
    setGateway(s, rt, b["external_gateway_info"]);
  rt.admin_state_up = upAfter(s, id, b);  // down: planned on no host (model::RouterSpec)
  s.topo.routers.push_back(rt);
  setAttrs(s, "routers", id, b, with(kCommonAttrs, {"admin_state_up"}), true);
  return id;
}

void update(ApiState& s, const WriteRequest& w) {
  RouterSpec& rt = existingRouter(s, w.id);
  json b = parseBody(w.http, "router");
  allowOnly(b,
            with(kCommonAttrs,
                 {"admin_state_up", "external_gateway_info", "routes", "distributed", "ha"}),
            {"id"});
  if (b.contains("routes"))
    setRoutes(s, rt, b["routes"]);
  if (b.contains("distributed") && !b["distributed"].is_null())
    migrate(s, rt, boolean(b, "distributed", true), b);
  if (b.contains("ha"))
    setHa(s, w.id, rt, b);
  if (b.contains("external_gateway_info"))
    setGateway(s, rt, b["external_gateway_info"]);
  rt.admin_state_up = upAfter(s, w.id, b);
  setAttrs(s, "routers", w.id, b, with(kCommonAttrs, {"admin_state_up"}), false);
}

void remove(ApiState& s, const std::string& id) {
  RouterSpec& rt = existingRouter(s, id);
  if (!rt.interfaces.empty()) {
    std::string ports;
    for (const auto& itf : rt.interfaces)
      ports += (ports.empty() ? "" : ", ") + itf.port.id.value_or("");
    throw conflict("Router " + id + " still has ports: " + ports, "RouterInUse");
  }
  std::erase_if(s.topo.routers, [&](const RouterSpec& x) { return x.name == id; });
  s.eraseAttrs("routers", id);
}

// Neutron's answer to add/remove_router_interface.
json interfaceInfo(const std::string& router, const std::string& subnet, const std::string& port,
                   const std::string& network) {
  return {{"id", router},    {"subnet_id", subnet},   {"subnet_ids", {subnet}},
          {"port_id", port}, {"network_id", network}, {"project_id", ""},
          {"tenant_id", ""}};
}

// By port (Neutron: `openstack router add port`): the port becomes the router's qr- port
// on its subnet, with the port's IP (the subnet's gateway or another address of it).
// Returns the subnet; the port leaves the VM ports, its id, MAC and IP go to `pin`.
std::string takePort(ApiState& s, const std::string& port, PortPin& pin) {
  VmSpec& v = existingPort(s, port);
  std::string device;
  if (s.attrs.contains("ports") && s.attrs["ports"].contains(port))
    device = s.attrs["ports"][port].value("device_id", "");
  if (!v.host.empty() || !device.empty()) {
    throw conflict("Unable to complete operation on port " + port + " for network " + v.network +
                       ". Port already has an attached device " +
                       (device.empty() ? v.host : device) + ".",
                   "PortInUse");
  }
  if (!v.subnet)
    throw badRequest("Bad router request: Router port must have at least one fixed IP.",
                     "BadRequest");
  std::string sub = *v.subnet;
  pin = PortPin{port, v.mac, v.ip};
  std::erase_if(s.topo.vms, [&](const VmSpec& x) { return x.name == port; });
  return sub;
}

WriteOutcome addInterface(ApiState& s, RouterSpec& rt, std::string sub, const std::string& port) {
  PortPin given_port;
  if (!port.empty())
    sub = takePort(s, port, given_port);
  const SubnetSpec& sn = existingSubnet(s, sub);
  for (const auto& itf : rt.interfaces) {
    if (itf.subnet == sub)
      throw badRequest("Router already has a port on subnet " + sub);
  }
  if (sn.no_gateway)
    throw badRequest("Subnet for router interface must have a gateway IP");
  for (const auto& other : s.topo.routers) {
    for (const auto& itf : other.interfaces) {
      if (itf.subnet == sub)
        throw conflict("Subnet " + sub + " is already attached to router " + other.name,
                       "IpAddressInUse");
    }
  }
  rt.interfaces.push_back({sub, given_port, {}, 0});
  std::string id = rt.name;
  return {200, {}, [id, sub](const View& v) {
            const Router& rr = *v.c.findRouter(id);
            for (size_t p : rr.interface_ports) {
              const Port& qr = v.c.ports[p];
              if (qr.subnet_id == sub)
                return interfaceInfo(id, sub, qr.id, qr.network_id);
            }
            return json::object();
          }};
}

WriteOutcome removeInterface(ApiState& s, RouterSpec& rt, std::string sub,
                             const std::string& port) {
  const std::string& id = rt.name;
  if (!port.empty()) {
    for (const auto& itf : rt.interfaces) {
      if (itf.port.id == port)
        sub = itf.subnet;
    }
    if (sub.empty())
      throw notFound("Router " + id + " does not have an interface with id " + port,
                     "RouterInterfaceNotFound");
  }
  const SubnetSpec& sn = existingSubnet(s, sub);
  auto has = std::find_if(rt.interfaces.begin(), rt.interfaces.end(),
                          [&](const InterfaceSpec& i) { return i.subnet == sub; });
  if (has == rt.interfaces.end())
    throw notFound("Router " + id + " has no interface on subnet " + sub,
                   "RouterInterfaceNotFoundForSubnet");
  checkNoRouteThrough(s, rt, sub);
  for (const auto& f : s.topo.floating_ips) {
    const VmSpec* v = f.vm ? findPort(s, *f.vm) : nullptr;
    if (v && v->subnet == sub) {
      throw conflict("Router interface for subnet " + sub + " on router " + id +
                         " cannot be deleted, as it is required by one or more floating IPs.",
                     "RouterInterfaceInUseByFloatingIP");
    }
  }
  WriteOutcome out{200, interfaceInfo(id, sub, has->port.id.value_or(""), sn.network), nullptr};
  if (has->port.id && s.attrs.contains("ports"))
    s.eraseAttrs("ports", *has->port.id);  // a port made for the interface goes too
  rt.interfaces.erase(has);
  return out;
}

WriteOutcome changeInterface(ApiState& s, const WriteRequest& w) {
  RouterSpec& rt = existingRouter(s, w.id);
  json b = parseBody(w.http, nullptr);
  for (const char* key : {"subnet_id", "port_id"}) {  // Neutron's _validate_interface_info
    if (b.contains(key)) {
      if (auto reason = validators::uuid(b[key]))
        throw badRequest("Bad router request: " + *reason + ".", "BadRequest");
    }
  }
  std::string sub = str(b, "subnet_id"), port = str(b, "port_id");
  if (sub.empty() == port.empty()) {
    throw badRequest(sub.empty() ? "Either subnet_id or port_id must be specified"
                                 : "Cannot specify both subnet-id and port-id");
  }
  return w.action == "add_router_interface" ? addInterface(s, rt, sub, port)
                                            : removeInterface(s, rt, sub, port);
}

}  // namespace

WriteOutcome writeRouter(ApiState& s, const WriteRequest& w) {
  if (!w.action.empty()) {
    if (w.method != "PUT" ||
        (w.action != "add_router_interface" && w.action != "remove_router_interface"))
      throw notFound("The resource could not be found.");
    return changeInterface(s, w);
  }
  return write({create, update, remove,
                [](const View& v, const std::string& id) {
                  return json{{"router", v.router(*v.c.findRouter(id))}};
                }},
               s, w);
}

}  // namespace dvr::server
