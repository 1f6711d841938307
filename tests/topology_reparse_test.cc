// The agent's file source parses again only the VM entries that changed
// (model/topology_reparse.h): what it gives must be what a whole parse gives, lines
// included, for files that change in every way an editor or `dvr lab apply` changes them;
// and what it cannot read alone, or any problem, goes to the whole parse.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model/error.h"
#include "model/topology_json.h"
#include "model/topology_reparse.h"
#include "model/topology_yaml.h"

namespace dvr::model {
namespace {

std::string head() {
  return "hosts:\n  - {name: h1, tunnel_ip: 172.16.0.11}\n"
         "networks:\n  - name: net\n    subnets: [{name: sub, cidr: 10.0.0.0/16}]\n"
         "security_groups:\n  - name: web\n    rules:\n      - {direction: egress}\n";
}

std::string vm(int i, const std::string& extra = "") {
  return "  - {name: vm" + std::to_string(i) + ", network: net, host: h1, ip: 10.0.2." +
         std::to_string(i + 1) + ", security_groups: [web]" + extra + "}\n";
}

std::string file(int n, const std::string& after = "", const std::string& before = "") {
  std::string y = head() + before + "vms:\n";
  for (int i = 0; i < n; ++i)
    y += vm(i);
  return y + after;
}

void same(TopologyReparser& r, const std::string& text) {
  Topology whole = parseTopology(text, "t.yaml");
  Topology again = r.parse(text, "t.yaml");
  EXPECT_EQ(toJson(again), toJson(whole)) << text;
  ASSERT_EQ(again.vms.size(), whole.vms.size());
  for (size_t i = 0; i < whole.vms.size(); ++i)
    EXPECT_EQ(again.vms[i].line, whole.vms[i].line) << whole.vms[i].name;
}

TEST(TopologyReparse, OneVmMoreIsTheOnlyEntryRead) {
  TopologyReparser r;
  same(r, file(50));
  EXPECT_EQ(r.lastRead(), 50u);
  same(r, file(51));
  EXPECT_EQ(r.lastRead(), 1u);
  same(r, file(50));  // and back: nothing new to read
  EXPECT_EQ(r.lastRead(), 0u);
}

TEST(TopologyReparse, ChangedMovedAndMultiLineEntriesGiveWhatTheWholeParseGives) {
  TopologyReparser r;
  same(r, file(20));
  // A line more above the VMs moves every entry's line; a section after them; one entry
  // changed; a block-style entry over several lines, with a comment.
  std::string text =
      file(20, "floating_ips:\n  - {network: net, vm: vm3}\n", "# the VMs, one a line\n\n");
  size_t at = text.find(vm(7));
  text.replace(at, vm(7).size(), vm(7, ", mac: 02:00:00:00:00:07"));
  text += "";
  text.insert(text.find("floating_ips:"),
              "  # the database\n  - name: db\n    network: net\n    host: h1\n"
              "    allowed_address_pairs:\n      - {ip_address: 10.0.9.0/24}\n\n");
  same(r, text);
  EXPECT_EQ(r.lastRead(), 2u);  // vm7 and db
}

TEST(TopologyReparse, WhatItCannotReadAloneIsParsedWhole) {
  TopologyReparser r;
  same(r, file(3));
  // An alias into the vms section, and a flow-style section: whole parses.
  std::string anchored = head();
  anchored.replace(anchored.find("name: h1"), 8, "name: &h h1");
  same(r, anchored + "vms:\n  - {name: a, network: net, host: *h}\n");
  same(r, head() + "vms: [{name: a, network: net, host: h1}]\n");
  EXPECT_EQ(r.lastRead(), 0u);
}

TEST(TopologyReparse, AProblemIsReportedAsTheWholeParseReportsIt) {
  TopologyReparser r;
  same(r, file(5));
  std::string bad = file(5, vm(5, ", colour: red"));
  std::string whole, again;
  try {
    parseTopology(bad, "t.yaml");
  } catch (const InputError& e) {
    whole = e.what();
  }
  try {
    r.parse(bad, "t.yaml");
  } catch (const InputError& e) {
    again = e.what();
  }
  EXPECT_FALSE(whole.empty());
  EXPECT_EQ(again, whole);
}

}  // namespace
}  // namespace dvr::model
