// What travels to an agent: the slice of the server's pinned topology that concerns its
// host. Planning the host from its slice must give exactly the plan from the whole.
#include <gtest/gtest.h>

#include "model/synthetic.h"
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

class GeneratedSlices : public ::testing::TestWithParam<uint64_t> {};

TEST_P(GeneratedSlices, PlanAsFromTheWholeAndHoldLess) {
  model::SyntheticSize size{
      .hosts = 12, .routers = 15, .vms = 120, .floating_ips = 30, .seed = GetParam()};
  // The network node holds every router's SNAT, so it needs every port; a compute host not.
  EXPECT_LT(expectSlicesPlanLikeTheWhole(model::syntheticTopology(size)), 120u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, GeneratedSlices, ::testing::Values(1, 2, 3, 4, 5));

}  // namespace
}  // namespace dvr
