// POST/PUT/DELETE /v2.0/subnets
#include <algorithm>

#include "server/api_error.h"
#include "server/request_args.h"
#include "server/resource_writes.h"
#include "server/state_edit.h"
#include "server/subnet_pools.h"
#include "server/validators.h"

namespace dvr::server {

using namespace dvr::model;

namespace {

// What dvr keeps of a subnet without modelling it: dvr serves no DHCP, so DNS servers and
// host routes are stored and shown for the clients that read them.
// (A function: kCommonAttrs lives in another file, whose statics may not be made yet.)
const std::set<std::string>& subnetAttrs() {
  static const std::set<std::string> attrs =
      with(kCommonAttrs, {"enable_dhcp", "dns_nameservers", "host_routes", "subnetpool_id"});
  return attrs;
}

std::string range(const PoolSpec& p) {
  return p.start.str() + "-" + p.end.str();
}

std::vector<PoolSpec> poolsOf(const json& b) {
  std::vector<PoolSpec> pools;
  for (const auto& p : b.value("allocation_pools", json::array())) {
    pools.push_back(
        {ipArg(str(p, "start"), "allocation_pools"), ipArg(str(p, "end"), "allocation_pools")});
  }
  return pools;
}

// What Neutron checks of a new subnet's cidr, gateway and pools (db_base_plugin_v2's
// _validate_subnet, ipam_backend_mixin's validate_allocation_pools), with its errors.
void checkSubnet(const SubnetSpec& sn, bool dhcp) {
  const Cidr& c = sn.cidr;
  uint32_t first = c.addr.value();
  std::string if_dhcp = dhcp ? " if enable_dhcp is True" : "";
  // A routed subnet can be none of these, with or without DHCP.
  if ((first >> 28) == 0xe)
    validators::invalidInput("Multicast IP subnet is not supported" + if_dhcp);
  if ((first >> 24) == 127)
    validators::invalidInput("Loopback IP subnet is not supported" + if_dhcp);
  if ((first >> 24) == 0)
    validators::invalidInput("First IP '0.0.0.0' of network is not supported" + if_dhcp);
  if (dhcp && c.len > 30)
    validators::invalidInput(
        "Subnet has a prefix length that is incompatible with DHCP service enabled");
  if (sn.gateway && (*sn.gateway == c.addr || *sn.gateway == c.broadcast()))
    validators::invalidInput("Gateway is not valid on subnet");
  Ipv4 lowest(first + 1), highest(c.broadcast().value() - 1);
  for (const auto& p : sn.pools) {
    if (p.end < p.start)
      throw badRequest("The allocation pool " + range(p) + " is not valid.",
                       "InvalidAllocationPool");
    if (p.start < lowest || p.end > highest)
      throw badRequest(
          "The allocation pool " + range(p) + " spans beyond the subnet cidr " + c.str() + ".",
          "OutOfBoundsAllocationPool");
  }
  for (size_t i = 0; i < sn.pools.size(); ++i) {
    for (size_t j = i + 1; j < sn.pools.size(); ++j) {
      const PoolSpec &a = sn.pools[i], &b = sn.pools[j];
      if (a.start <= b.end && b.start <= a.end)
        throw conflict("Found overlapping allocation pools: " + range(a) + " " + range(b) +
                           " for subnet " + c.str() + ".",
                       "OverlappingAllocationPools");
    }
  }
  // Without gateway_ip the gateway is the subnet's first address, as in Neutron.
  std::optional<Ipv4> gateway =
      sn.no_gateway ? std::nullopt : std::optional(sn.gateway.value_or(lowest));
  if (gateway) {
    for (const auto& p : sn.pools) {
      if (p.start <= *gateway && *gateway <= p.end)
        throw conflict(
            "Gateway ip " + gateway->str() + " conflicts with allocation pool " + range(p) + ".",
            "GatewayConflictWithAllocationPools");
    }
  }
}

// What the network's DHCP server needs of the subnet (the attributes keep the rest):
// enable_dhcp and its IPv4 DNS servers.
void dhcpOf(SubnetSpec& sn, const json& b) {
  if (b.contains("enable_dhcp") && !b["enable_dhcp"].is_null())
    sn.enable_dhcp = boolean(b, "enable_dhcp", true);
  if (b.contains("dns_nameservers") && b["dns_nameservers"].is_array()) {
    sn.dns_nameservers.clear();
    for (const auto& d : b["dns_nameservers"]) {
      if (auto ip = d.is_string() ? Ipv4::parse(d.get<std::string>()) : std::nullopt)
        sn.dns_nameservers.push_back(*ip);
    }
  }
}

std::string create(ApiState& s, const WriteRequest& w) {
  json b = parseBody(w.http, "subnet");
  allowOnly(
      b, with(kCommonAttrs, {"network_id", "ip_version", "cidr", "gateway_ip", "allocation_pools",
                             "enable_dhcp", "dns_nameservers", "host_routes", "service_types",
                             "subnetpool_id", "prefixlen", "segment_id"}));
  std::string net = str(b, "network_id");
  if (net.empty())
    throw badRequest("Failed to parse request. Required attribute 'network_id' not specified");
  existingNetwork(s, net);
  if (!b.contains("ip_version"))
    throw badRequest("Failed to parse request. Required attribute 'ip_version' not specified");
  if (integer(b, "ip_version").value_or(4) != 4)
    throw badRequest("dvr serves IPv4 subnets only (ip_version 4)");
  std::string cidr = str(b, "cidr");
  std::string pool = str(b, "subnetpool_id");
  if (cidr.empty() && pool.empty())
    throw badRequest("Failed to parse request. Required attribute 'cidr' not specified");
  std::optional<Cidr> parsed;
  if (!cidr.empty()) {
    parsed = Cidr::parse(cidr);
    if (!parsed)
      throw badRequest("Invalid input for cidr. Reason: '" + cidr + "' is not a valid IP subnet.");
  }
  if (!pool.empty())  // carved from the pool (server/subnet_pools.h)
    parsed = subnetFromPool(s, pool, parsed, integer(b, "prefixlen"));
  else if (b.contains("prefixlen"))
    throw badRequest("Invalid input for operation: prefixlen is only given with subnetpool_id.",
                     "InvalidInput");
  std::string id = newId(s, "subnet");
  SubnetSpec sn;
  sn.name = id;
  sn.id = id;
  sn.network = net;
  sn.cidr = *parsed;  // canonical: the attribute map refused host bits
  if (b.contains("gateway_ip") && b["gateway_ip"].is_null())
    sn.no_gateway = true;
  else if (b.contains("gateway_ip"))
    sn.gateway = ipArg(str(b, "gateway_ip"), "gateway_ip");
  sn.pools = poolsOf(b);
  checkSubnet(sn, boolean(b, "enable_dhcp", true));
  // Neutron's words: clients (Tempest among them) try the next cidr on exactly this error.
  for (const auto& other : s.topo.subnets) {
    if (other.network == net && other.cidr.overlaps(sn.cidr))
      validators::invalidInput("Requested subnet with cidr: " + sn.cidr.str() +
                               " for network: " + net + " overlaps with another subnet");
  }
  dhcpOf(sn, b);
  s.topo.subnets.push_back(sn);
  setAttrs(s, "subnets", id, b, subnetAttrs(), true);
  return id;
}

// gateway_ip: a new address (checked as on create, and not held by a port) or null. The
// router interface at the old gateway would have to move with it; Neutron refuses that too.
void updateGateway(ApiState& s, SubnetSpec& sn, const json& gateway) {
  std::optional<Ipv4> ip;
  if (!gateway.is_null())
    ip = ipArg(gateway.is_string() ? gateway.get<std::string>() : gateway.dump(), "gateway_ip");
  if (ip == sn.gateway && sn.no_gateway == !ip)
    return;
  for (const auto& rt : s.topo.routers) {
    for (const auto& itf : rt.interfaces) {
      if (itf.subnet == sn.name && !itf.port.ip && sn.gateway)
        throw conflict("Current gateway ip " + sn.gateway->str() + " already in use by port " +
                           itf.port.id.value_or("") + ". Unable to update.",
                       "GatewayIpInUse");
    }
  }
  if (ip) {
    if (!sn.cidr.contains(*ip))
      validators::invalidInput("Gateway IP " + ip->str() + " is outside subnet " + sn.cidr.str());
    for (const auto& v : s.topo.vms) {
      if (v.network == sn.network && v.ip == ip)
        throw conflict("Gateway ip " + ip->str() + " conflicts with port " + v.name + ".",
                       "GatewayIpInUse");
    }
  }
  sn.gateway = ip;
  sn.no_gateway = !ip;
  checkSubnet(sn, false);  // network/broadcast address, allocation pools
}

void update(ApiState& s, const WriteRequest& w) {
  SubnetSpec& sn = existingSubnet(s, w.id);
  json b = parseBody(w.http, "subnet");
  allowOnly(b,
            with(kCommonAttrs, {"enable_dhcp", "dns_nameservers", "host_routes", "gateway_ip",
                                "allocation_pools"}),
            {"cidr", "network_id", "ip_version", "id"});
  if (b.contains("gateway_ip"))
    updateGateway(s, sn, b["gateway_ip"]);
  if (b.contains("allocation_pools")) {
    // As Neutron: addresses already given out stay where they are, inside the new pools
    // or not (a router's qg-, a floating IP); only new allocations come from them.
    std::vector<PoolSpec> pools = poolsOf(b);
    if (pools.empty())
      validators::invalidInput("allocation_pools: a dvr subnet keeps at least one pool");
    sn.pools = std::move(pools);
    checkSubnet(sn, false);
  }
  dhcpOf(sn, b);
  setAttrs(s, "subnets", w.id, b, subnetAttrs(), false);
}

void remove(ApiState& s, const std::string& id) {
  existingSubnet(s, id);
  bool used = std::any_of(s.topo.vms.begin(), s.topo.vms.end(), [&](const VmSpec& v) {
    return v.subnet == id || std::any_of(v.extra_ips.begin(), v.extra_ips.end(),
                                         [&](const FixedIpSpec& e) { return e.subnet == id; });
  });
  for (const auto& rt : s.topo.routers) {
    for (const auto& itf : rt.interfaces)
      used = used || itf.subnet == id;
  }
  if (used)
    throw conflict("Unable to complete operation on subnet " + id +
                       ": One or more ports have an IP allocation from this subnet.",
                   "SubnetInUse");
  std::erase_if(s.topo.subnets, [&](const SubnetSpec& sn) { return sn.name == id; });
  s.eraseAttrs("subnets", id);
}

}  // namespace

WriteOutcome writeSubnet(ApiState& s, const WriteRequest& w) {
  return write({create, update, remove,
                [](const View& v, const std::string& id) {
                  return json{{"subnet", v.subnet(*v.c.findSubnet(id))}};
                }},
               s, w);
}

}  // namespace dvr::server
