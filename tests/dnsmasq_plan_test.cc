// The dnsmasq a network's DHCP runs (plan/dnsmasq.h): what a DHCP client on the network
// is told follows from these files, so they are checked line by line: a lease per port
// (its MAC, its address), nothing for other MACs (static range), the subnet's router,
// DNS and MTU, each port's extra options tagged to that port alone; and a change of
// ports changes the files only, never the command line (a SIGHUP, not a restart).
#include <gtest/gtest.h>

#include "plan/dnsmasq.h"

namespace dvr::plan {
namespace {

DhcpServer server() {
  DhcpServer s;
  s.network_id = "net-a";
  s.subnet_id = "sub-a";
  s.ns = qdhcpNs("net-a");
  s.device = "tap11111111-11";
  s.cidr = *Cidr::parse("10.16.0.0/24");
  s.gateway = *Ipv4::parse("10.16.0.1");
  s.dns_nameservers = {*Ipv4::parse("8.8.8.8"), *Ipv4::parse("1.1.1.1")};
  s.mtu = 1450;
  s.hosts = {{"p1",
              *Mac::parse("fa:16:3e:00:00:01"),
              *Ipv4::parse("10.16.0.5"),
              {{"bootfile-name", "pxelinux.0"}, {"66", "10.16.0.9"}}},
             {"p2", *Mac::parse("fa:16:3e:00:00:02"), *Ipv4::parse("10.16.0.6"), {}}};
  return s;
}

TEST(DnsmasqPlan, EachPortGetsItsAddressAndNoOtherMacGetsOne) {
  EXPECT_EQ(dnsmasqHosts(server()),
            "fa:16:3e:00:00:01,host-10-16-0-5,10.16.0.5,set:port-p1\n"
            "fa:16:3e:00:00:02,host-10-16-0-6,10.16.0.6,set:port-p2\n");
  Daemon d = dnsmasqDaemon(server());
  EXPECT_EQ(d.name, "dnsmasq-net-a");
  EXPECT_EQ(d.ns, "qdhcp-net-a");
  // static: dnsmasq leases only the hosts file's MACs.
  EXPECT_NE(std::find(d.argv.begin(), d.argv.end(),
                      "--dhcp-range=set:subnet-sub-a,10.16.0.0,static,255.255.255.0,86400s"),
            d.argv.end());
  EXPECT_NE(std::find(d.argv.begin(), d.argv.end(), "--interface=tap11111111-11"), d.argv.end());
  EXPECT_EQ(d.files.at("host"), dnsmasqHosts(server()));
}

TEST(DnsmasqPlan, OptionsGiveRouterDnsMtuAndEachPortsExtraOptions) {
  EXPECT_EQ(dnsmasqOpts(server()),
            "tag:subnet-sub-a,option:router,10.16.0.1\n"
            "tag:subnet-sub-a,option:dns-server,8.8.8.8,1.1.1.1\n"
            "tag:subnet-sub-a,option:mtu,1450\n"
            "tag:port-p1,option:bootfile-name,pxelinux.0\n"
            "tag:port-p1,66,10.16.0.9\n");
  DhcpServer no_gw = server();
  no_gw.gateway.reset();
  no_gw.dns_nameservers.clear();
  no_gw.hosts.clear();
  EXPECT_EQ(dnsmasqOpts(no_gw),
            "tag:subnet-sub-a,option:router\n"
            "tag:subnet-sub-a,option:mtu,1450\n");
}

TEST(DnsmasqPlan, APortChangeRewritesTheFilesButNotTheCommandLine) {
  DhcpServer more = server();
  more.hosts.push_back({"p3",
                        *Mac::parse("fa:16:3e:00:00:03"),
                        *Ipv4::parse("10.16.0.7"),
                        {{"tftp-server", "10.16.0.9"}}});
  Daemon before = dnsmasqDaemon(server()), after = dnsmasqDaemon(more);
  EXPECT_EQ(before.argv, after.argv);  // the kernel layer SIGHUPs on file changes only
  EXPECT_NE(before.files, after.files);
  EXPECT_NE(after.files.at("opts").find("tag:port-p3,option:tftp-server,10.16.0.9\n"),
            std::string::npos);
}

}  // namespace
}  // namespace dvr::plan
