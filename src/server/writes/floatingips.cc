// POST/PUT/DELETE /v2.0/floatingips
#include <algorithm>

#include "server/api_error.h"
#include "server/request_args.h"
#include "server/resource_writes.h"
#include "server/state_edit.h"

namespace dvr::server {

using namespace dvr::model;

namespace {

// port_id: associate with a port, or (null) disassociate; fixed_ip_address: which of the
// port's addresses it NATs to (the port's first when none is named).
void associate(ApiState& s, FloatingIpSpec& f, const json& b) {
  if (!b.contains("port_id"))
    return;
  f.fixed_ip.reset();
  if (b["port_id"].is_null()) {
    f.vm.reset();
    return;
  }
  std::string port = str(b, "port_id");
  const VmSpec& v = existingPort(s, port);
  if (b.contains("fixed_ip_address") && !b["fixed_ip_address"].is_null()) {
    Ipv4 fixed = ipArg(str(b, "fixed_ip_address"), "fixed_ip_address");
    bool extra = std::any_of(v.extra_ips.begin(), v.extra_ips.end(),
                             [&](const FixedIpSpec& e) { return e.ip == fixed; });
    if (v.ip != fixed && !extra)
      throw badRequest(
          "Bad floatingip request: Port " + port + " does not have fixed ip " + fixed.str() + ".",
          "BadRequest");
    if (extra)
      f.fixed_ip = fixed;
  }
  f.vm = port;
}

std::string create(ApiState& s, const WriteRequest& w) {
  json b = parseBody(w.http, "floatingip");
  allowOnly(b, with(kCommonAttrs, {"floating_network_id", "floating_ip_address", "port_id",
                                   "fixed_ip_address", "subnet_id"}));
  // No dns_name, dns_domain nor qos_policy_id: refused as Neutron without dns-integration
  // or qos refuses them, since dvr does neither.
  std::string net = str(b, "floating_network_id");
  if (net.empty())
    throw badRequest(
        "Failed to parse request. Required attribute 'floating_network_id' not specified");
  if (!existingNetwork(s, net).external)
    throw badRequest("Bad floatingip request: Network " + net + " is not a valid external network.",
                     "BadRequest");
  if (b.contains("fixed_ip_address") && !b.contains("port_id"))
    throw badRequest("fixed_ip_address cannot be specified without a port_id");
  std::string id = newId(s, "floatingip");
  FloatingIpSpec f;
  f.id = id;
  f.network = net;
  if (b.contains("floating_ip_address"))
    f.address = ipArg(str(b, "floating_ip_address"), "floating_ip_address");
  // subnet_id: a subnet of the network. dvr allocates from the network's first subnet, so
  // another is refused rather than ignored.
  if (std::string sub = str(b, "subnet_id"); !sub.empty()) {
    const SubnetSpec& sn = existingSubnet(s, sub);
    if (sn.network != net)
      throw badRequest(
          "Bad floatingip request: Network " + net + " does not contain subnet " + sub + ".",
          "BadRequest");
    auto first = std::find_if(s.topo.subnets.begin(), s.topo.subnets.end(),
                              [&](const SubnetSpec& x) { return x.network == net; });
    if (f.address && !sn.cidr.contains(*f.address))
      throw badRequest("Bad floatingip request: IP address " + f.address->str() +
                           " is not a valid IP for the specified subnet " + sub + ".",
                       "BadRequest");
    if (first->name != sub && !f.address)
      throw badRequest("Bad floatingip request: dvr allocates floating IPs of network " + net +
                           " from its first subnet " + first->name + ", not " + sub + ".",
                       "BadRequest");
  }
  associate(s, f, b);
  s.topo.floating_ips.push_back(f);
  setAttrs(s, "floatingips", id, b, kCommonAttrs, true);
  return id;
}

void update(ApiState& s, const WriteRequest& w) {
  FloatingIpSpec& f = existingFip(s, w.id);
  json b = parseBody(w.http, "floatingip");
  allowOnly(b, with(kCommonAttrs, {"port_id", "fixed_ip_address"}),
            {"floating_ip_address", "floating_network_id", "id"});
  associate(s, f, b);
  setAttrs(s, "floatingips", w.id, b, kCommonAttrs, false);
}

void remove(ApiState& s, const std::string& id) {
  existingFip(s, id);
  std::erase_if(s.topo.floating_ips, [&](const FloatingIpSpec& f) { return f.id == id; });
  s.eraseAttrs("floatingips", id);
}

}  // namespace

WriteOutcome writeFloatingIp(ApiState& s, const WriteRequest& w) {
  return write({create, update, remove,
                [](const View& v, const std::string& id) {
                  for (const auto& f : v.c.floating_ips) {
                    if (f.id == id)
                      return json{{"floatingip", v.floatingIp(f)}};
                  }
                  return json::object();
                }},
               s, w);
}

}  // namespace dvr::server
