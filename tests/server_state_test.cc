// The server's state as the agents and the database see it: the slice of the pinned
// topology that travels to one host (planning the host from its slice must give exactly
// the plan from the whole), and the rows a write stores.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "ipam/synthetic.h"
#include "model/topology_json.h"
#include "plan/render.h"
#include "server/api_state.h"
#include "server/host_slice.h"
#include "support.h"

namespace dvr {
namespace {

// The topology as the server keeps it: objects named by their ids, every allocation
// pinned, hosts with their DVR MACs.
model::Topology pinnedLikeTheServer(model::Topology topo) {
  model::Cloud cloud = ipam::resolve(topo, "test");
  auto netId = [&](const std::string& name) { return cloud.findNetwork(name)->id; };
  auto subnetId = [&](const std::string& name) { return cloud.findSubnet(name)->id; };
  auto vmId = [&](const std::string& name) { return cloud.findVm(name)->id; };
  for (auto& f : topo.floating_ips) {
    f.network = netId(f.network);
    if (f.vm)
      f.vm = vmId(*f.vm);
  }
  for (auto& v : topo.vms) {
    v.port_id = vmId(v.name);
    v.name = vmId(v.name);
    v.network = netId(v.network);
    if (v.subnet)
      v.subnet = subnetId(*v.subnet);
  }
  for (auto& r : topo.routers) {
    r.id = cloud.findRouter(r.name)->id;
    r.name = *r.id;
    if (r.gateway_network)
      r.gateway_network = netId(*r.gateway_network);
    for (auto& i : r.interfaces)
      i.subnet = subnetId(i.subnet);
  }
  for (auto& s : topo.subnets) {
    s.id = subnetId(s.name);
    s.name = *s.id;
    s.network = netId(s.network);
  }
  for (auto& h : topo.hosts) {
    std::map<std::string, std::string> uplinks;
    for (const auto& [net, dev] : h.uplinks)
      uplinks[netId(net)] = dev;
    h.uplinks = uplinks;
    h.dvr_mac = cloud.findHost(h.name)->dvr_mac;
  }
  for (auto& e : topo.external_hosts)
    e.network = netId(e.network);
  for (auto& g : topo.fip_gateways)
    g.network = netId(g.network);
  for (auto& d : topo.dhcp_ports)
    d.network = netId(d.network);
  for (auto& ll : topo.link_locals)
    ll.router = cloud.findRouter(ll.router)->id;
  for (auto& n : topo.networks) {
    n.id = netId(n.name);
    n.name = *n.id;
  }
  server::ApiState s;
  s.topo = topo;
  s.pinAllocations(ipam::resolve(topo, "renamed"));
  return s.topo;
}

// Returns how many VMs the smallest slice holds, for the caller to check it filters.
size_t expectSlicesPlanLikeTheWhole(const model::Topology& topo) {
  model::Topology pinned = pinnedLikeTheServer(topo);
  model::Cloud whole = ipam::resolve(pinned, "whole");
  plan::CloudIndex index(whole);
  size_t smallest = SIZE_MAX;
  for (const auto& h : whole.hosts) {
    model::Topology slice = server::hostSlice(pinned, index, h.name);
    smallest = std::min(smallest, slice.vms.size());
    model::Cloud part = ipam::resolve(slice, "slice of " + h.name);
    plan::CloudIndex part_index(part);
    EXPECT_EQ(plan::renderJson(plan::planHost(part_index, h.name)),
              plan::renderJson(plan::planHost(index, h.name)))
        << h.name;
  }
  return smallest;
}

TEST(HostSlice, SeedHostsPlanFromTheirSliceAsFromTheWhole) {
  expectSlicesPlanLikeTheWhole(model::loadTopologyFile(testing::sourcePath("examples/seed.yaml")));
}

TEST(HostSlice, DhcpHostsPlanFromTheirSliceAsFromTheWhole) {
  expectSlicesPlanLikeTheWhole(model::loadTopologyFile(testing::sourcePath("examples/dhcp.yaml")));
}

class GeneratedSlices : public ::testing::TestWithParam<uint64_t> {};

TEST_P(GeneratedSlices, PlanAsFromTheWholeAndHoldLess) {
  ipam::SyntheticSize size{
      .hosts = 12, .routers = 15, .vms = 120, .floating_ips = 30, .seed = GetParam()};
  // The network node holds every router's SNAT, so it needs every port; a compute host not.
  EXPECT_LT(expectSlicesPlanLikeTheWhole(ipam::syntheticTopology(size)), 120u);
}

TEST_P(GeneratedSlices, WithDhcpHostsPlanAsFromTheWhole) {
  ipam::SyntheticSize size{
      .hosts = 12, .routers = 15, .vms = 120, .floating_ips = 30, .seed = GetParam()};
  model::Topology topo = ipam::syntheticTopology(size);
  topo.hosts[1].dhcp = topo.hosts[2].dhcp = true;
  expectSlicesPlanLikeTheWhole(topo);
}

INSTANTIATE_TEST_SUITE_P(Seeds, GeneratedSlices, ::testing::Values(1, 2, 3, 4, 5));

// A host's VMs' rules match the members of their remote groups wherever those are: the
// members (with their networks) travel to the host, and groups nobody there names do not.
TEST(HostSlice, RemoteGroupMembersTravelToTheHostsThatMatchThem) {
  model::Topology topo = model::loadTopologyFile(testing::sourcePath("examples/seed.yaml"));
  topo.security_groups = {
      {.name = "web", .rules = {{.ingress = true, .protocol = 6, .remote_group = "db"}}},
      {.name = "db", .rules = {{.ingress = false}}},
      {.name = "other", .rules = {{.ingress = true}}}};
  for (auto& v : topo.vms) {
    if (v.name == "vm4")  // compute02, net-b
      v.security_groups = {"web"};
    if (v.name == "vm2")  // compute01, net-111: no router of compute02's
      v.security_groups = {"db"};
    if (v.name == "vm3")
      v.security_groups = {"other"};
    v.port_security = !v.security_groups.empty();
  }
  expectSlicesPlanLikeTheWhole(topo);

  model::Topology pinned = pinnedLikeTheServer(topo);
  model::Cloud whole = ipam::resolve(pinned, "whole");
  plan::CloudIndex index(whole);
  model::Topology slice = server::hostSlice(pinned, index, "compute02");
  std::set<std::string> vms, groups;
  for (const auto& v : slice.vms)
    vms.insert(v.name);
  for (const auto& g : slice.security_groups)
    groups.insert(g.name);
  model::Cloud file = ipam::resolve(topo, "file");
  EXPECT_TRUE(vms.count(file.findVm("vm2")->id));  // a member of db, which web's rule names
  EXPECT_FALSE(vms.count(file.findVm("vm3")->id));
  EXPECT_EQ(groups, (std::set<std::string>{"web", "db"}));
}

// The rows a server writes, applied as the databases do (an update keeps its place, a
// new row goes last), load back into the state that wrote them, order included.
class RowTable {
 public:
  void apply(const std::vector<store::RowChange>& changes) {
    for (const auto& c : changes) {
      auto it = std::find_if(rows_.begin(), rows_.end(),
                             [&](const store::Row& r) { return r.key == c.key; });
      if (!c.body) {
        if (it != rows_.end())
          rows_.erase(it);
      } else if (it != rows_.end()) {
        it->body = *c.body;
      } else {
        rows_.push_back({c.key, *c.body});
      }
    }
  }
  const std::vector<store::Row>& rows() const { return rows_; }

 private:
  std::vector<store::Row> rows_;
};

void expectSameState(const server::ApiState& a, const server::ApiState& b) {
  EXPECT_EQ(model::toJson(a.topo).dump(), model::toJson(b.topo).dump());
  EXPECT_EQ(a.attrs, b.attrs);
  EXPECT_EQ(a.agents, b.agents);
}

TEST(StateRows, WritesOnlyWhatChangedAndLoadsBackInOrder) {
  server::ApiState s;
  s.topo = pinnedLikeTheServer(ipam::syntheticTopology({.hosts = 4, .routers = 3, .vms = 20}));
  for (const auto& v : s.topo.vms)
    s.attrs["ports"][v.name] = {{"name", "port of " + v.name}};
  s.agents["compute1"] = {{"agent_mode", "dvr"}};
  RowTable table;
  table.apply(s.changesSince(server::ApiState{}));
  expectSameState(server::ApiState::fromRows(table.rows()), s);

  // Remove a VM in the middle, change another, add one: three topology rows and the
  // removed port's attributes change, nothing else.
  server::ApiState next = s;
  std::string gone = next.topo.vms[5].name;
  next.topo.vms.erase(next.topo.vms.begin() + 5);
  next.attrs["ports"].erase(gone);
  next.topo.vms[7].host += "-moved";
  next.topo.vms.push_back({.name = "new-vm", .network = next.topo.vms[0].network});
  auto changes = next.changesSince(s);
  std::set<std::string> keys;
  for (const auto& c : changes)
    keys.insert(c.key);
  EXPECT_EQ(keys, (std::set<std::string>{"topology/vms/" + gone, "attrs/ports/" + gone,
                                         "topology/vms/" + next.topo.vms[7].name,
                                         "topology/vms/new-vm"}));
  table.apply(changes);
  expectSameState(server::ApiState::fromRows(table.rows()), next);
  EXPECT_TRUE(next.changesSince(next).empty());
}

// A port's further fixed IPs (Neutron's fixed_ips beyond the first) are pinned and held,
// stored and loaded back, and planned (its router's neighbour entries): every host plans
// the same from its slice as from the whole, and the VM's host plans them.
TEST(HostSlice, FurtherFixedIpsArePinnedStoredAndPlannedFromTheSlice) {
  server::ApiState s;
  s.topo = pinnedLikeTheServer(model::loadTopologyFile(testing::sourcePath("examples/seed.yaml")));
  ASSERT_FALSE(s.topo.vms.empty());
  ASSERT_TRUE(s.topo.vms[0].subnet && s.topo.vms[0].ip);
  s.topo.vms[0].extra_ips.push_back({*s.topo.vms[0].subnet, std::nullopt});
  s.pinAllocations(ipam::resolve(s.topo, "extra"));
  ASSERT_EQ(s.topo.vms[0].extra_ips.size(), 1u);
  ASSERT_TRUE(s.topo.vms[0].extra_ips[0].ip) << "allocated, then pinned";
  Ipv4 extra = *s.topo.vms[0].extra_ips[0].ip;
  EXPECT_NE(extra, *s.topo.vms[0].ip);

  server::ApiState without = s;
  without.topo.vms[0].extra_ips.clear();
  model::Cloud whole = ipam::resolve(s.topo, "whole"), plain = ipam::resolve(without.topo, "plain");
  plan::CloudIndex index(whole), plain_index(plain);
  for (const auto& h : whole.hosts) {
    std::string planned = plan::renderJson(plan::planHost(index, h.name));
    if (h.name == s.topo.vms[0].host) {
      EXPECT_NE(planned, plan::renderJson(plan::planHost(plain_index, h.name))) << h.name;
      EXPECT_NE(planned.find("\"" + extra.str() + "\""), std::string::npos) << planned;
    }
    model::Cloud part = ipam::resolve(server::hostSlice(s.topo, index, h.name), "slice");
    plan::CloudIndex part_index(part);
    EXPECT_EQ(plan::renderJson(plan::planHost(part_index, h.name)), planned) << h.name;
  }
  RowTable table;
  table.apply(s.changesSince(server::ApiState{}));
  server::ApiState loaded = server::ApiState::fromRows(table.rows());
  expectSameState(loaded, s);
  ASSERT_EQ(loaded.topo.vms[0].extra_ips.size(), 1u);
  EXPECT_EQ(loaded.topo.vms[0].extra_ips[0].ip, extra);
}

}  // namespace
}  // namespace dvr
