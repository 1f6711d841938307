#include "plan/keepalived.h"

#include "plan/conntrackd.h"

namespace dvr::plan {

std::string keepalivedConfig(const std::string& host, const VrrpInstance& v) {
  std::string c = "# keepalived for HA router " + v.router_id + " on " + host +
                  ", written by dvr (changes are overwritten)\n";
  c += "global_defs {\n";
  c += "    router_id " + host + "\n";
  c += "    script_user root\n";
  c += "    vrrp_garp_master_delay 1\n";
  c += "    vrrp_garp_master_repeat 3\n";
  c += "    vrrp_garp_lower_prio_repeat 3\n";
  c += "}\n";
  // Written by dvr's kernel layer (plan::LinkWatch): non-zero while an uplink is down.
  c += "vrrp_track_file " + std::string(kUplinksDownFile) + " {\n";
  c += "    file \"{dir}/" + std::string(kUplinksDownFile) + "\"\n";
  c += "    weight 0\n";
  c += "}\n";
  c += "vrrp_instance VR_" + std::to_string(v.vrid) + " {\n";
  c += "    state BACKUP\n";
  c += "    nopreempt\n";
  c += "    version 3\n";
  c += "    interface " + v.interface + "\n";
  c += "    virtual_router_id " + std::to_string(v.vrid) + "\n";
  c += "    priority " + std::to_string(kVrrpPriority) + "\n";
  c += std::string("    advert_int ") + kVrrpAdvertInt + "\n";
  c += "    unicast_src_ip " + v.address.str() + "\n";
  c += "    track_file {\n";
  c += "        " + std::string(kUplinksDownFile) + "\n";
  c += "    }\n";
  c += "    unicast_peer {\n";
  for (Ipv4 p : v.peers)
    c += "        " + p.str() + "\n";
  c += "    }\n";
  auto vip = [](const Address& a) { return "        " + a.cidr.str() + " dev " + a.dev + "\n"; };
  c += "    virtual_ipaddress {\n";
  if (!v.vips.empty())
    c += vip(v.vips.front());
  c += "    }\n";
  if (v.vips.size() > 1) {
    c += "    virtual_ipaddress_excluded {\n";
    for (size_t i = 1; i < v.vips.size(); ++i)
      c += vip(v.vips[i]);
    c += "    }\n";
  }
  // conntrackd's daemon directory is this one's sibling (kernel/daemons.h).
  std::string notify = "/bin/sh {dir}/../" + conntrackdName(v) + "/notify.sh ";
  c += "    notify_master \"" + notify + "primary\"\n";
  c += "    notify_backup \"" + notify + "backup\"\n";
  bool default_route = v.default_route && v.default_route->via;
  if (default_route || !v.routes.empty()) {
    c += "    virtual_routes {\n";
    if (default_route)
      c += "        0.0.0.0/0 via " + v.default_route->via->str() + " dev " + v.default_route->dev +
           "\n";
    for (const Route& r : v.routes)
      c += "        " + r.dst.str() + " via " + r.via->str() + " dev " + r.dev + "\n";
    c += "    }\n";
  }
  c += "}\n";
  return c;
}

Daemon keepalivedDaemon(const std::string& host, const VrrpInstance& v) {
  Daemon d;
  d.name = "keepalived-" + v.router_id;
  d.ns = v.ns;
  // In the foreground (the kernel layer supervises it), VRRP only, logging to its log.
  d.argv = {"keepalived",
            "--dont-fork",
            "--log-console",
            "--log-detail",
            "--vrrp",
            "--use-file",
            "{dir}/keepalived.conf",
            "--pid",
            "{dir}/keepalived.pid",
            "--vrrp_pid",
            "{dir}/vrrp.pid"};
  d.files["keepalived.conf"] = keepalivedConfig(host, v);
  d.link_watch = LinkWatch{.file = kUplinksDownFile, .links = v.uplinks, .address = v.tunnel_ip};
  return d;
}

}  // namespace dvr::plan
