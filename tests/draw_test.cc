// Pictures, read back from the SVG Graphviz writes: the hops' boxes and the numbered
// arrows between them, in the order of the text trace, with its devices and rewrites.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "draw/dot.h"
#include "draw/graphviz.h"
#include "ipam/resolve.h"
#include "ipam/synthetic.h"
#include "model/topology_yaml.h"
#include "plan/cloud_index.h"
#include "plan/planner.h"
#include "trace/tracer.h"

namespace dvr {
namespace {

struct Seed {
  model::Cloud cloud = ipam::resolve(
      model::loadTopologyFile(std::string(DVR_SOURCE_DIR) + "/examples/seed.yaml"), "seed");
  plan::CloudIndex index{cloud};
  std::vector<plan::HostPlan> plans = plan::planAll(index);
};

std::string unescape(std::string s) {
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"&gt;", ">"}, {"&lt;", "<"}, {"&quot;", "\""}, {"&#45;", "-"}, {"&amp;", "&"}}) {
    for (size_t at; (at = s.find(from)) != std::string::npos;)
      s.replace(at, from.size(), to);
  }
  return s;
}

// What an SVG from Graphviz holds: each node's texts by its id (the <title>), and each
// edge as (from, to, label).
struct Svg {
  std::map<std::string, std::vector<std::string>> node_texts;
  struct Edge {
    std::string from, to, label;
  };
  std::vector<Edge> edges;
};

// Graphviz writes each node and edge as <g id=".." class="node|edge"><title>..</title>
// … <text …>..</text> … </g>, without nested groups.
std::vector<std::string> between(const std::string& s, const std::string& open_prefix,
                                 const std::string& close) {
  std::vector<std::string> out;
  for (size_t at = 0; (at = s.find(open_prefix, at)) != std::string::npos;) {
    size_t start = s.find('>', at) + 1;
    size_t end = s.find(close, start);
    out.push_back(s.substr(start, end - start));
    at = end;
  }
  return out;
}

Svg parse(const std::string& svg) {
  Svg out;
  for (const char* kind : {"node", "edge"}) {
    std::string marker = std::string("class=\"") + kind + "\">";
    for (size_t at = 0; (at = svg.find(marker, at)) != std::string::npos;) {
      size_t end = svg.find("</g>", at);
      std::string body = svg.substr(at, end - at);
      at = end;
      auto titles = between(body, "<title", "</title>");
      if (titles.empty())
        continue;
      std::string name = unescape(titles.front());
      std::vector<std::string> texts;
      for (auto& t : between(body, "<text", "</text>"))
        texts.push_back(unescape(t));
      if (std::string(kind) == "node") {
        out.node_texts[name] = texts;
        continue;
      }
      auto arrow = name.find("->");
      auto node = [](std::string n) { return n.substr(0, n.find(':')); };
      out.edges.push_back({node(name.substr(0, arrow)), node(name.substr(arrow + 2)),
                           texts.empty() ? "" : texts.front()});
    }
  }
  return out;
}

// The boxes along the forward path, first to last, following the arrows from the one
// no arrow enters.
std::vector<std::string> forwardChain(const Svg& svg) {
  std::map<std::string, std::string> next;
  std::set<std::string> entered;
  for (const auto& e : svg.edges) {
    if (e.from[0] == 'f') {
      next[e.from] = e.to;
      entered.insert(e.to);
    }
  }
  std::string at;
  for (const auto& [id, texts] : svg.node_texts) {
    if (id[0] == 'f' && !entered.count(id))
      at = id;
  }
  std::vector<std::string> chain;
  while (!at.empty() && chain.size() <= svg.node_texts.size()) {
    chain.push_back(at);
    auto it = next.find(at);
    at = it == next.end() ? "" : it->second;
  }
  return chain;
}

std::string label(const Svg& svg, const std::string& from, const std::string& to) {
  for (const auto& e : svg.edges) {
    if (e.from == from && e.to == to)
      return e.label;
  }
  return "";
}

// `what` in the box's texts at or after `from` (a position in their concatenation, in
// the order Graphviz wrote them); moves `from` past it.
bool containsFrom(const std::vector<std::string>& texts, const std::string& what, size_t& from) {
  std::string all;
  for (const auto& t : texts)
    all += t + "\n";
  size_t at = all.find(what, from);
  if (at == std::string::npos)
    return false;
  from = at + what.size();
  return true;
}

void expectPictureFollowsTrace(const Seed& seed, const std::string& from, const std::string& to) {
  auto result = trace::tracePacket(seed.cloud, seed.plans, {.from = from, .to = to});
  Svg svg = parse(draw::render(draw::traceDot(result, seed.plans), draw::Format::Svg));
  auto chain = forwardChain(svg);
  const auto& hops = result.forward.hops;
  ASSERT_EQ(chain.size(), hops.size()) << from << " -> " << to;
  for (size_t i = 0; i < hops.size(); ++i) {
    const auto& texts = svg.node_texts.at(chain[i]);
    size_t at = 0;
    // In the box's order: the device it came in on, where it is, the headers, out.
    if (!hops[i].in_dev.empty())
      EXPECT_TRUE(containsFrom(texts, hops[i].in_dev, at)) << "hop " << i + 1;
    EXPECT_TRUE(containsFrom(texts, hops[i].where, at)) << "hop " << i + 1;
    const auto& p = hops[i].packet;
    auto mark = [&](unsigned f, Mac m) { return (hops[i].changed & f ? "*" : "") + m.str(); };
    auto markIp = [&](unsigned f, Ipv4 ip) { return (hops[i].changed & f ? "*" : "") + ip.str(); };
    if (!hops[i].encap) {
      EXPECT_TRUE(containsFrom(texts, mark(trace::kSrcMac, p.src_mac), at)) << "hop " << i + 1;
      EXPECT_TRUE(containsFrom(texts, mark(trace::kDstMac, p.dst_mac), at)) << "hop " << i + 1;
      EXPECT_TRUE(containsFrom(texts, markIp(trace::kSrcIp, p.src_ip), at)) << "hop " << i + 1;
      EXPECT_TRUE(containsFrom(texts, markIp(trace::kDstIp, p.dst_ip), at)) << "hop " << i + 1;
    }
    if (!hops[i].out_dev.empty())
      EXPECT_TRUE(containsFrom(texts, hops[i].out_dev, at)) << "hop " << i + 1;
    if (i > 0) {
      EXPECT_EQ(label(svg, chain[i - 1], chain[i]).find(std::to_string(i)), 1u)
          << "arrow into hop " << i + 1;
    }
  }
  EXPECT_NE(svg.node_texts.at(chain.back()).back().find(result.forward.verdict), std::string::npos);
  ASSERT_TRUE(result.reply);
  size_t reply_boxes = 0;
  for (const auto& [id, texts] : svg.node_texts)
    reply_boxes += id[0] == 'r';
  EXPECT_EQ(reply_boxes, result.reply->hops.size());
}

TEST(DrawTrace, SeedCase1ThePictureFollowsTheTraceWithTheDvrMacRewrite) {
  Seed seed;
  expectPictureFollowsTrace(seed, "vm1", "8.8.8.8");
  // The seed's point: compute01's DVR MAC replaces the gateway MAC as the source.
  auto result = trace::tracePacket(seed.cloud, seed.plans, {.from = "vm1", .to = "8.8.8.8"});
  std::string svg = draw::render(draw::traceDot(result, seed.plans), draw::Format::Svg);
  EXPECT_NE(svg.find("*fa:16:3f:86:5c:5c"), std::string::npos);
}

TEST(DrawTrace, SeedCase2ThePictureFollowsTheTraceThroughTheFloatingIpPath) {
  Seed seed;
  expectPictureFollowsTrace(seed, "vm2", "8.8.8.8");
}

TEST(DrawTrace, ADroppedPacketsPictureEndsAtTheDrop) {
  Seed seed;
  auto result = trace::tracePacket(seed.cloud, seed.plans, {.from = "vm3", .to = "10.16.1.3"});
  ASSERT_FALSE(result.forward.delivered);
  Svg svg = parse(draw::render(draw::traceDot(result, seed.plans), draw::Format::Svg));
  auto chain = forwardChain(svg);
  ASSERT_EQ(chain.size(), result.forward.hops.size());
  const auto& last = svg.node_texts.at(chain.back());
  EXPECT_NE(last.back().find("dropped"), std::string::npos) << last.back();
  for (const auto& e : svg.edges)
    EXPECT_NE(e.from, chain.back()) << "an arrow leaves the drop";
}

bool wellFormed(const std::string& svg) {
  size_t open = 0, close = 0;
  for (size_t at = 0; (at = svg.find("<g ", at)) != std::string::npos; ++at)
    ++open;
  for (size_t at = 0; (at = svg.find("</g>", at)) != std::string::npos; ++at)
    ++close;
  return svg.rfind("<?xml", 0) == 0 && svg.find("</svg>") != std::string::npos && open == close;
}

TEST(DrawPlan, SeedHostAndCloudPicturesHoldTheirDevices) {
  Seed seed;
  for (const auto& p : seed.plans) {
    Svg svg = parse(draw::render(draw::hostPlanDot(p), draw::Format::Svg));
    for (const auto& l : p.links) {
      std::string id = (l.ns.empty() ? "host" : l.ns) + "/" + l.name;
      ASSERT_TRUE(svg.node_texts.count(id)) << p.host << ": " << id;
      EXPECT_EQ(svg.node_texts.at(id).front(), l.name);
    }
  }
  std::string cloud =
      unescape(draw::render(draw::cloudDot(seed.cloud, seed.plans), draw::Format::Svg));
  EXPECT_TRUE(wellFormed(cloud)) << cloud;
  EXPECT_NE(cloud.find("snat-13fe8525-da22-42de-aeb6-84f41a3b607d"), std::string::npos);
}

TEST(DrawPlan, AFiftyHostCloudIsDrawn) {
  auto cloud = ipam::resolve(
      ipam::syntheticTopology({.hosts = 50, .routers = 20, .vms = 200, .floating_ips = 40}), "gen");
  plan::CloudIndex index(cloud);
  auto plans = plan::planAll(index);
  std::string svg = draw::render(draw::cloudDot(cloud, plans), draw::Format::Svg);
  EXPECT_TRUE(wellFormed(svg));
  EXPECT_NE(svg.find(plans.back().host), std::string::npos);
}

}  // namespace
}  // namespace dvr
