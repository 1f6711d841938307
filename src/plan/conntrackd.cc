#include "plan/conntrackd.h"

namespace dvr::plan {

std::string conntrackdName(const VrrpInstance& v) {
  return "conntrackd-" + v.router_id;
}

std::string conntrackdConfig(const VrrpInstance& v) {
  std::string c =
      "# conntrackd for HA router " + v.router_id + ", written by dvr (changes are overwritten)\n";
  c += "Sync {\n";
  c += "    Mode FTFW {\n";
  c += "    }\n";
  c += "    Multicast {\n";
  c += std::string("        IPv4_address ") + kConntrackdGroup + "\n";
  c += "        Group " + std::to_string(kConntrackdPort) + "\n";
  c += "        IPv4_interface " + v.address.str() + "\n";
  c += "        Interface " + v.interface + "\n";
  c += "        SndSocketBuffer 1249280\n";
  c += "        RcvSocketBuffer 1249280\n";
  c += "        Checksum on\n";
  c += "    }\n";
  c += "}\n";
  c += "General {\n";
  c += "    HashSize 32768\n";
  c += "    HashLimit 131072\n";
  c += "    LogFile {dir}/conntrackd.log\n";
  c += "    Syslog off\n";
  c += "    LockFile {dir}/lock\n";
  c += "    UNIX {\n";
  c += "        Path {dir}/ctl\n";
  c += "    }\n";
  c += "    NetlinkBufferSize 2097152\n";
  c += "    NetlinkBufferSizeMaxGrowth 8388608\n";
  c += "    Filter From Userspace {\n";
  c += "        Protocol Accept {\n";
  c += "            TCP\n";
  c += "            UDP\n";
  c += "            ICMP\n";
  c += "        }\n";
  // Connections to the router itself (VRRP, the sync) are no one else's.
  c += "        Address Ignore {\n";
  c += "            IPv4_address 127.0.0.1\n";
  c += "            IPv4_address " + v.address.str() + "\n";
  for (Ipv4 p : v.peers)
    c += "            IPv4_address " + p.str() + "\n";
  c += "        }\n";
  c += "    }\n";
  c += "}\n";
  return c;
}

std::string conntrackdNotifyScript() {
  return "#!/bin/sh\n"
         "# keepalived's notify (written by dvr): the host becoming active commits the\n"
         "# flows learned from the active one into its kernel, then is the source of the\n"
         "# state; a standby asks the active one for its state afresh.\n"
         "c=\"conntrackd -C {dir}/conntrackd.conf\"\n"
         "case \"$1\" in\n"
         "  primary) $c -c; $c -f; $c -R; $c -B ;;\n"
         "  backup) $c -n ;;\n"
         "esac\n"
         "exit 0\n";
}

Daemon conntrackdDaemon(const VrrpInstance& v) {
  Daemon d;
  d.name = conntrackdName(v);
  d.ns = v.ns;
  d.argv = {"conntrackd", "-C", "{dir}/conntrackd.conf"};  // in the foreground
  d.files["conntrackd.conf"] = conntrackdConfig(v);
  d.files["notify.sh"] = conntrackdNotifyScript();
  d.reload = Daemon::Reload::kRestart;  // it has no SIGHUP handler
  return d;
}

}  // namespace dvr::plan
