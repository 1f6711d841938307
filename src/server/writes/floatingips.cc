// POST/PUT/DELETE /v2.0/floatingips
#include <algorithm>

#include "server/api_error.h"
#include "server/request_args.h"
#include "server/resource_writes.h"
#include "server/state_edit.h"

namespace dvr::server {

using namespace dvr::model;

namespace {

// port_id: associate with a port, or (null) disassociate.
void associate(ApiState& s, FloatingIpSpec& f, const json& b) {
  if (!b.contains("port_id"))
    return;
  if (b["port_id"].is_null()) {
    f.vm.reset();
    return;
  }
  std::string port = str(b, "port_id");
  const VmSpec& v = existingPort(s, port);
  // fixed_ip_address: one of the port's addresses. dvr NATs a floating IP to the port's
  // first (the only one its data path gives the port), so another one is refused.
  if (b.contains("fixed_ip_address") && !b["fixed_ip_address"].is_null()) {
    Ipv4 fixed = ipArg(str(b, "fixed_ip_address"), "fixed_ip_address");
    bool extra = std::any_of(v.extra_ips.begin(), v.extra_ips.end(),
                             [&](const FixedIpSpec& e) { return e.ip == fixed; });
    if (extra)
      throw badRequest(
          "Bad floatingip request: dvr associates a floating IP with the first fixed "
          "IP of port " +
              port + " (" + (v.ip ? v.ip->str() : "none") + "), not " + fixed.str() + ".",
          "BadRequest");
    if (v.ip != fixed)
      throw badRequest(
          "Bad floatingip request: Port " + port + " does not have fixed ip " + fixed.str() + ".",
          "BadRequest");
  }
  f.vm = port;
}

std::string create(ApiState& s, const WriteRequest& w) {
  json b = parseBody(w.http, "floatingip");
  allowOnly(b, with(kCommonAttrs,
                    {"floating_network_id", "floating_ip_address", "port_id", "fixed_ip_address",
                     "subnet_id", "dns_name", "dns_domain", "qos_policy_id"}));
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
  associate(s, f, b);
  s.topo.floating_ips.push_back(f);
  setAttrs(s, "floatingips", id, b, kCommonAttrs, true);
  return id;
}

void update(ApiState& s, const WriteRequest& w) {
  FloatingIpSpec& f = existingFip(s, w.id);
  json b = parseBody(w.http, "floatingip");
  allowOnly(b, with(kCommonAttrs, {"port_id", "fixed_ip_address", "qos_policy_id"}),
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
