// POST/PUT/DELETE /v2.0/subnets
#include <algorithm>

#include "server/api_error.h"
#include "server/request_args.h"
#include "server/resource_writes.h"
#include "server/state_edit.h"

namespace dvr::server {

using namespace dvr::model;

namespace {

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
  if (integer(b, "ip_version").value_or(4) != 4)
    throw badRequest("dvr serves IPv4 subnets only (ip_version 4)");
  std::string cidr = str(b, "cidr");
  if (cidr.empty())
    throw badRequest("Failed to parse request. Required attribute 'cidr' not specified");
  auto parsed = Cidr::parse(cidr);
  if (!parsed)
    throw badRequest("Invalid input for cidr. Reason: '" + cidr + "' is not a valid IP subnet.");
  std::string id = newId(s, "subnet");
  SubnetSpec sn;
  sn.name = id;
  sn.id = id;
  sn.network = net;
  sn.cidr = parsed->network();
  if (b.contains("gateway_ip") && b["gateway_ip"].is_null())
    sn.no_gateway = true;
  else if (b.contains("gateway_ip"))
    sn.gateway = ipArg(str(b, "gateway_ip"), "gateway_ip");
  for (const auto& p : b.value("allocation_pools", json::array())) {
    sn.pools.push_back(
        {ipArg(str(p, "start"), "allocation_pools"), ipArg(str(p, "end"), "allocation_pools")});
  }
  s.topo.subnets.push_back(sn);
  setAttrs(s, "subnets", id, b, with(kCommonAttrs, {"enable_dhcp", "dns_nameservers"}), true);
  return id;
}

void update(ApiState& s, const WriteRequest& w) {
  existingSubnet(s, w.id);
  json b = parseBody(w.http, "subnet");
  allowOnly(b, with(kCommonAttrs, {"enable_dhcp", "dns_nameservers", "host_routes"}),
            {"cidr", "network_id", "ip_version", "id"});
  setAttrs(s, "subnets", w.id, b, with(kCommonAttrs, {"enable_dhcp", "dns_nameservers"}), false);
}

void remove(ApiState& s, const std::string& id) {
  existingSubnet(s, id);
  bool used = std::any_of(s.topo.vms.begin(), s.topo.vms.end(),
                          [&](const VmSpec& v) { return v.subnet == id; });
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
