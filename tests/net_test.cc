#include <gtest/gtest.h>

#include "model/net.h"

namespace dvr {

TEST(Net, ParsesAndPrintsIpv4) {
  EXPECT_EQ(Ipv4::parse("192.168.74.104")->str(), "192.168.74.104");
  EXPECT_EQ(Ipv4::parse("10.16.0.1")->value(),
            168820737u);  // Neutron's SNAT table for qr 10.16.0.1
  for (const char* bad :
       {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "a.b.c.d", "1.2.3.4 "}) {
    EXPECT_FALSE(Ipv4::parse(bad)) << bad;
  }
}

TEST(Net, CidrContainsAndOverlaps) {
  auto c = *Cidr::parse("10.16.0.1/24");
  EXPECT_EQ(c.network().str(), "10.16.0.0/24");
  EXPECT_TRUE(c.contains(*Ipv4::parse("10.16.0.200")));
  EXPECT_FALSE(c.contains(*Ipv4::parse("10.16.1.1")));
  EXPECT_TRUE(Cidr::parse("10.0.0.0/8")->overlaps(c));
  EXPECT_FALSE(Cidr::parse("10.16.1.0/24")->overlaps(c));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::parse("10.0.0.0"));
}

TEST(Net, ParsesAndPrintsMac) {
  EXPECT_EQ(Mac::parse("FA:16:3E:AC:30:FF")->str(), "fa:16:3e:ac:30:ff");
  EXPECT_FALSE(Mac::parse("fa:16:3e:ac:30"));
  EXPECT_FALSE(Mac::parse("fa-16-3e-ac-30-ff"));
  EXPECT_FALSE(Mac::parse("fa:16:3e:ac:30:fg"));
}

}  // namespace dvr
