// Neutron's extra_dhcp_opt extension through the API, as Tempest's
// test_extra_dhcp_options and the openstack CLI use it: options given on create and
// update, shown by show and list, an update merging by name and IP version (a null
// value deletes one), and each malformed option refused with Neutron's 400, changing
// nothing. SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <set>

#include "api_fixture.h"

namespace dvr {
namespace {

using nlohmann::json;

class ExtraDhcpOptsApi : public testing::Api {
 protected:
  std::string network() {
    std::string net =
        id(call("POST", "/v2.0/networks", R"({"network":{"name":"n"}})", 201), "network");
    call("POST", "/v2.0/subnets",
         json{{"subnet", {{"network_id", net}, {"cidr", "10.9.0.0/24"}, {"ip_version", 4}}}}.dump(),
         201);
    return net;
  }
  // "name=value/version" of each option a port shows.
  std::set<std::string> shown(const json& port) {
    std::set<std::string> out;
    for (const auto& o : port.at("extra_dhcp_opts"))
      out.insert(o["opt_name"].get<std::string>() + "=" + o["opt_value"].get<std::string>() + "/" +
                 std::to_string(o["ip_version"].get<int>()));
    return out;
  }
  json show(const std::string& port) { return call("GET", "/v2.0/ports/" + port, "", 200)["port"]; }
};

// Tempest's options (PXE boot), without ip_version.
const json kPxe =
    json::array({{{"opt_name", "bootfile-name"}, {"opt_value", "pxelinux.0"}},
                 {{"opt_name", "tftp-server"}, {"opt_value", "123.123.123.123"}},
                 {{"opt_name", "server-ip-address"}, {"opt_value", "123.123.123.45"}}});
const std::set<std::string> kPxeShown{"bootfile-name=pxelinux.0/4", "tftp-server=123.123.123.123/4",
                                      "server-ip-address=123.123.123.45/4"};

TEST_P(ExtraDhcpOptsApi, OptionsGivenOnCreateAreShownByShowAndList) {
  json ext = call("GET", "/v2.0/extensions/extra_dhcp_opt", "", 200);
  EXPECT_EQ(ext["extension"]["alias"], "extra_dhcp_opt");
  std::string net = network();
  json made = call("POST", "/v2.0/ports",
                   json{{"port", {{"network_id", net}, {"extra_dhcp_opts", kPxe}}}}.dump(), 201);
  std::string port = id(made, "port");
  EXPECT_EQ(shown(made["port"]), kPxeShown);
  EXPECT_EQ(shown(show(port)), kPxeShown);
  bool listed = false;
  json list = call("GET", "/v2.0/ports", "", 200);
  for (const auto& p : list["ports"]) {
    if (p["id"] == port) {
      listed = true;
      EXPECT_EQ(shown(p), kPxeShown);
    }
  }
  EXPECT_TRUE(listed) << list.dump();
  // A port made without options shows an empty list, as Neutron's.
  json plain = call("POST", "/v2.0/ports", json{{"port", {{"network_id", net}}}}.dump(), 201);
  EXPECT_EQ(plain["port"]["extra_dhcp_opts"], json::array());
}

TEST_P(ExtraDhcpOptsApi, UpdateMergesByNameAndVersionAndNullDeletes) {
  std::string net = network();
  std::string port =
      id(call("POST", "/v2.0/ports", json{{"port", {{"network_id", net}}}}.dump(), 201), "port");
  call("PUT", "/v2.0/ports/" + port,
       json{{"port", {{"name", "renamed"}, {"extra_dhcp_opts", kPxe}}}}.dump(), 200);
  json p = show(port);
  EXPECT_EQ(p["name"], "renamed");
  EXPECT_EQ(shown(p), kPxeShown);
  call("PUT", "/v2.0/ports/" + port,
       json{{"port",
             {{"extra_dhcp_opts",
               {{{"opt_name", "bootfile-name"}, {"opt_value", "ipxe.efi"}},
                {{"opt_name", "tftp-server"}, {"opt_value", nullptr}},
                {{"opt_name", "mtu"}, {"opt_value", "1400"}, {"ip_version", "4"}}}}}}}
           .dump(),
       200);
  EXPECT_EQ(shown(show(port)),
            (std::set<std::string>{"bootfile-name=ipxe.efi/4", "server-ip-address=123.123.123.45/4",
                                   "mtu=1400/4"}));
  // An update without the attribute keeps them.
  call("PUT", "/v2.0/ports/" + port, json{{"port", {{"name", "again"}}}}.dump(), 200);
  EXPECT_EQ(shown(show(port)).size(), 3u);
}

TEST_P(ExtraDhcpOptsApi, MalformedOptionsAreRefusedChangingNothing) {
  std::string net = network();
  std::string port =
      id(call("POST", "/v2.0/ports",
              json{{"port", {{"network_id", net}, {"extra_dhcp_opts", kPxe}}}}.dump(), 201),
         "port");
  struct Case {
    json opts;
    std::string reason;
  };
  const std::vector<Case> cases{
      {"bootfile-name", "'bootfile-name' is not a list"},
      {json::array({"x"}), "'x' is not a dictionary"},
      {json::array({{{"opt_name", "a"}}}), "Validation of dictionary's keys failed"},
      {json::array({{{"opt_name", "a"}, {"opt_value", "b"}, {"colour", "red"}}}),
       "Validation of dictionary's keys failed"},
      {json::array({{{"opt_name", ""}, {"opt_value", "b"}}}), "'' Blank strings are not permitted"},
      {json::array({{{"opt_name", std::string(65, 'n')}, {"opt_value", "b"}}}),
       "exceeds maximum length of 64"},
      {json::array({{{"opt_name", "a"}, {"opt_value", std::string(256, 'v')}}}),
       "exceeds maximum length of 255"},
      {json::array({{{"opt_name", "a"}, {"opt_value", "b"}, {"ip_version", 5}}}),
       "'5' is not in [4, 6]"},
      {json::array({{{"opt_name", "a"}, {"opt_value", "b"}, {"ip_version", "four"}}}),
       "'four' is not an integer"},
  };
  for (const auto& c : cases) {
    for (bool create : {true, false}) {
      std::string before = everything();
      json body{{"port", {{"extra_dhcp_opts", c.opts}}}};
      if (create)
        body["port"]["network_id"] = net;
      json e = call(create ? "POST" : "PUT", create ? "/v2.0/ports" : "/v2.0/ports/" + port,
                    body.dump(), 400);
      std::string message = e["NeutronError"]["message"];
      EXPECT_EQ(message.rfind("Invalid input for extra_dhcp_opts. Reason: ", 0), 0u) << message;
      EXPECT_NE(message.find(c.reason), std::string::npos) << message;
      EXPECT_EQ(everything(), before) << c.opts.dump();
    }
  }
  EXPECT_EQ(shown(show(port)), kPxeShown);
}

INSTANTIATE_TEST_SUITE_P(Backends, ExtraDhcpOptsApi, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace dvr
