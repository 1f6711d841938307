// POST/PUT/DELETE /v2.0/networks
#include "server/api_error.h"
#include "server/request_args.h"
#include "server/resource_writes.h"
#include "server/state_edit.h"
#include "server/validators.h"

namespace dvr::server {

using namespace dvr::model;

namespace {

// The largest MTU of a network: flat external networks take the underlay's MTU, VXLAN
// networks 50 bytes less (Neutron's ML2 answer names the maximum).
void checkMtu(const ApiState& s, long mtu, bool external) {
  int max = s.topo.settings.underlay_mtu - (external ? 0 : 50);
  if (mtu > max)
    validators::invalidInput("Requested MTU is too big, maximum is " + std::to_string(max));
}

// router:external false -> true or back. A network in use as an external one (a router's
// gateway, a floating IP) stays external, as in Neutron; one with VMs bound on it cannot
// become external (resolve() refuses: dvr plugs VMs into internal networks only).
void setExternal(ApiState& s, NetworkSpec& n, bool external) {
  if (external == n.external)
    return;
  if (!external) {
    for (const auto& rt : s.topo.routers) {
      if (rt.gateway_network == n.name)
        throw conflict("External network " + n.name +
                           " cannot be updated, as it is used by one or more floating IPs "
                           "or router gateways (router " +
                           rt.name + ").",
                       "ExternalNetworkInUse");
    }
    for (const auto& f : s.topo.floating_ips) {
      if (f.network == n.name)
        throw conflict("External network " + n.name +
                           " cannot be updated, as it is used by one or more floating IPs "
                           "or router gateways (floating IP " +
                           f.id.value_or("") + ").",
                       "ExternalNetworkInUse");
    }
  }
  n.external = external;
  n.vni.reset();  // an internal network gets a VNI allocated; an external one has none
  // The MTU pinned for the old type may be over the new type's maximum: the default again.
  if (n.mtu && *n.mtu > s.topo.settings.underlay_mtu - (external ? 0 : 50))
    n.mtu.reset();
}

std::string create(ApiState& s, const WriteRequest& w) {
  json b = parseBody(w.http, "network");
  allowOnly(b,
            with(kCommonAttrs, {"admin_state_up", "router:external", "mtu", "provider:network_type",
                                "provider:physical_network", "provider:segmentation_id", "shared",
                                "port_security_enabled", "availability_zone_hints", "is_default"}));
  // No dns_domain nor qos_policy_id: Neutron without dns-integration or qos refuses them as
  // unrecognized, and dvr does neither.
  std::string id = newId(s, "network");
  NetworkSpec n;
  n.name = id;
  n.id = id;
  n.external = boolean(b, "router:external", false);
  if (auto vni = integer(b, "provider:segmentation_id")) {
    if (*vni < 1 || *vni > 16777215)  // VXLAN's 24 bits; 0 is not a segment
      validators::invalidInput("segmentation_id out of range (1 through 16777215)");
    n.vni = uint32_t(*vni);
  }
  if (auto mtu = integer(b, "mtu")) {
    checkMtu(s, *mtu, n.external);
    n.mtu = int(*mtu);
  }
  s.topo.networks.push_back(n);
  setAttrs(s, "networks", id, b,
           with(kCommonAttrs, {"admin_state_up", "port_security_enabled", "shared"}), true);
  return id;
}

void update(ApiState& s, const WriteRequest& w) {
  NetworkSpec& n = existingNetwork(s, w.id);
  json b = parseBody(w.http, "network");
  allowOnly(b,
            with(kCommonAttrs,
                 {"admin_state_up", "port_security_enabled", "shared", "router:external", "mtu"}),
            {"provider:segmentation_id", "id"});
  if (b.contains("router:external"))
    setExternal(s, n, boolean(b, "router:external", n.external));
  if (auto mtu = integer(b, "mtu")) {
    checkMtu(s, *mtu, n.external);
    n.mtu = int(*mtu);
  }
  setAttrs(s, "networks", w.id, b,
           with(kCommonAttrs, {"admin_state_up", "port_security_enabled", "shared"}), false);
}

void remove(ApiState& s, const std::string& id) {
  existingNetwork(s, id);
  std::string users;
  for (const auto& v : s.topo.vms) {
    if (v.network == id)
      users += (users.empty() ? "" : ", ") + v.name;
  }
  for (const auto& rt : s.topo.routers) {
    if (rt.gateway_network == id)
      users += (users.empty() ? "" : ", ") + rt.gateway_port.id.value_or(rt.name);
    for (const auto& itf : rt.interfaces) {  // a distributed interface on one of its subnets
      const SubnetSpec* sn = findSubnet(s, itf.subnet);
      if (sn && sn->network == id)
        users += (users.empty() ? "" : ", ") + itf.port.id.value_or(rt.name);
    }
  }
  if (!users.empty()) {
    throw conflict("Unable to complete operation on network " + id +
                       ". There are one or more ports still in use on the network, id for "
                       "these ports is: " +
                       users + ".",
                   "NetworkInUse");
  }
  std::erase_if(s.topo.subnets, [&](const SubnetSpec& sn) { return sn.network == id; });
  std::erase_if(s.topo.networks, [&](const NetworkSpec& n) { return n.name == id; });
  std::erase_if(s.topo.floating_ips, [&](const FloatingIpSpec& f) { return f.network == id; });
  s.eraseAttrs("networks", id);
}

}  // namespace

WriteOutcome writeNetwork(ApiState& s, const WriteRequest& w) {
  return write({create, update, remove,
                [](const View& v, const std::string& id) {
                  return json{{"network", v.network(*v.c.findNetwork(id))}};
                }},
               s, w);
}

}  // namespace dvr::server
