// parseNftListing reads back what nft 1.0.6 prints for dvr's tables (the listings below
// are nft's own output, copied from `nft list table`), elements as dvr writes them.
#include <gtest/gtest.h>

#include "kernel/nft_listing.h"
#include "plan/nft_tables.h"

namespace dvr::kernel {
namespace {

TEST(NftListing, ReadsTheTagAndWrappedMapElements) {
  const std::string text =
      "table ip dvr {\n"
      "\tcomment \"dvr:0123456789abcdef\"\n"
      "\tmap fip_dnat {\n"
      "\t\ttype ipv4_addr : ipv4_addr\n"
      "\t\telements = { 192.168.0.1 : 10.0.0.1, 192.168.0.2 : 10.0.0.2,\n"
      "\t\t\t     192.168.0.3 : 10.0.0.3 }\n"
      "\t}\n"
      "\n"
      "\tmap fip_snat {\n"
      "\t\ttype ipv4_addr : ipv4_addr\n"
      "\t}\n"
      "\n"
      "\tchain fip_prerouting {\n"
      "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
      "\t\tiifname \"rfp-242fcb80-e\" dnat to ip daddr map @fip_dnat\n"
      "\t}\n"
      "}\n";
  ObservedNftTable t = parseNftListing("ip", text);
  EXPECT_EQ(t.family, "ip");
  EXPECT_EQ(t.tag, "dvr:0123456789abcdef");
  plan::FloatingIpNat f;
  f.floating = *Ipv4::parse("192.168.0.3");
  f.fixed = *Ipv4::parse("10.0.0.3");
  EXPECT_EQ(t.elements["fip_dnat"],
            (std::set<std::string>{"192.168.0.1 : 10.0.0.1", "192.168.0.2 : 10.0.0.2",
                                   plan::nft_element::fipDnat(f)}));
  ASSERT_TRUE(t.elements.count("fip_snat"));  // an empty map is still there
  EXPECT_TRUE(t.elements["fip_snat"].empty());
  EXPECT_EQ(t.elements.size(), 2u);
}

TEST(NftListing, ReadsBridgeSetsAsDvrWritesThem) {
  const std::string text =
      "table bridge dvr {\n"
      "\tcomment \"dvr:fedcba9876543210\"\n"
      "\tset tunnel_devs {\n"
      "\t\ttype ifname\n"
      "\t\telements = { \"vxlan-1001\",\n"
      "\t\t\t     \"vxlan-1002\" }\n"
      "\t}\n"
      "\n"
      "\tset gateway_arp {\n"
      "\t\ttype ifname . ipv4_addr\n"
      "\t\telements = { \"tap1\" . 10.0.0.1,\n"
      "\t\t\t     \"tap2\" . 10.0.0.2 }\n"
      "\t}\n"
      "\n"
      "\tmap gateway_mac_of_port {\n"
      "\t\ttype ether_addr : ether_addr\n"
      "\t\telements = { fa:16:3e:00:00:01 : fa:16:3e:00:00:02,\n"
      "\t\t\t     fa:16:3e:00:00:03 : fa:16:3e:00:00:04 }\n"
      "\t}\n"
      "\n"
      "\tset gateway_macs {\n"
      "\t\ttype ether_addr\n"
      "\t\telements = { fa:16:3e:00:00:01 }\n"
      "\t}\n"
      "\n"
      "\tchain dvr_forward {\n"
      "\t\ttype filter hook forward priority filter; policy accept;\n"
      "\t\toifname @tunnel_devs ether saddr @gateway_macs ether saddr set fa:16:3f:86:5c:5c\n"
      "\t}\n"
      "}\n";
  ObservedNftTable t = parseNftListing("bridge", text);
  EXPECT_EQ(t.tag, "dvr:fedcba9876543210");
  EXPECT_EQ(t.elements["tunnel_devs"],
            (std::set<std::string>{plan::nft_element::ifname("vxlan-1001"),
                                   plan::nft_element::ifname("vxlan-1002")}));
  EXPECT_EQ(
      t.elements["gateway_arp"],
      (std::set<std::string>{plan::nft_element::gatewayArp("tap1", *Ipv4::parse("10.0.0.1")),
                             plan::nft_element::gatewayArp("tap2", *Ipv4::parse("10.0.0.2"))}));
  EXPECT_EQ(t.elements["gateway_mac_of_port"],
            (std::set<std::string>{plan::nft_element::macToMac(*Mac::parse("fa:16:3e:00:00:01"),
                                                               *Mac::parse("fa:16:3e:00:00:02")),
                                   "fa:16:3e:00:00:03 : fa:16:3e:00:00:04"}));
  EXPECT_EQ(t.elements["gateway_macs"], (std::set<std::string>{"fa:16:3e:00:00:01"}));
  EXPECT_EQ(t.elements.size(), 4u);
}

TEST(NftListing, ATableWithoutCommentHasNoTag) {
  ObservedNftTable t = parseNftListing("ip", "table ip dvr {\n}\n");
  EXPECT_EQ(t.tag, "");
  EXPECT_TRUE(t.elements.empty());
}

// A tagged chain's rules are read as their comments, besides its tag rule, wherever the
// tag rule is: a rule inserted before it by hand (here tcp/23 in in-p) shows too, as a
// rule without a comment, and so does one replaced by hand (in-p's last).
TEST(NftListing, ReadsEachChainsRuleCommentsBesidesItsTag) {
  const std::string text =
      "table inet dvr {\n"
      "\tcomment \"dvr:0000000000000001\"\n"
      "\tset rg-g {\n"
      "\t\ttype ipv4_addr\n"
      "\t\tflags interval\n"
      "\t}\n"
      "\n"
      "\tchain sg-in-g {\n"
      "\t\tcounter packets 0 bytes 0 comment \"dvr:00000000000000aa\"\n"
      "\t\ttcp dport 22 accept comment \"r1\"\n"
      "\t\tudp dport 53 ip saddr @rg-g accept comment \"r2\"\n"
      "\t}\n"
      "\n"
      "\tchain in-p {\n"
      "\t\ttcp dport 23 accept\n"
      "\t\tcounter packets 0 bytes 0 comment \"dvr:00000000000000bb\"\n"
      "\t\tct state established,related accept comment \"#00000001\"\n"
      "\t\tct state invalid drop comment \"#00000002\"\n"
      "\t\tjump sg-in-g comment \"#00000003\"\n"
      "\t\tcounter packets 0 bytes 0 accept\n"
      "\t}\n"
      "\n"
      "\tchain ingress {\n"
      "\t\ttype filter hook forward priority filter; policy accept;\n"
      "\t\tcounter packets 0 bytes 0\n"
      "\t}\n"
      "}\n";
  ObservedNftTable t = parseNftListing("inet", text);
  EXPECT_EQ(t.chain_tags["sg-in-g"], "dvr:00000000000000aa");
  EXPECT_EQ(t.chain_tags["in-p"], "dvr:00000000000000bb");
  using Comments = std::vector<std::string>;
  EXPECT_EQ(t.chain_rules["sg-in-g"], (Comments{"r1", "r2"}));
  EXPECT_EQ(t.chain_rules["in-p"], (Comments{"", "#00000001", "#00000002", "#00000003", ""}));
  EXPECT_EQ(t.chain_rules["ingress"], (Comments{""}));
  EXPECT_TRUE(t.elements.count("rg-g"));
}

}  // namespace
}  // namespace dvr::kernel
