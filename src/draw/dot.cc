#include "draw/dot.h"

#include <map>
#include <set>

#include "plan/names.h"
#include "plan/render.h"

namespace dvr::draw {

std::string htmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

// Readable at 100 %: one font, sizes an operator's terminal would use.
const char* kGraphStyle =
    "  graph [fontname=\"DejaVu Sans\" fontsize=12 nodesep=0.25 ranksep=0.45 pad=0.3];\n"
    "  node [shape=plain fontname=\"DejaVu Sans\" fontsize=11];\n"
    "  edge [fontname=\"DejaVu Sans\" fontsize=10];\n";
const char* kForward = "#1f5fbf";
const char* kReply = "#c8641e";
const char* kDrop = "#c0392b";

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

// A device as the plans know it: its MAC and addresses.
struct Device {
  std::string mac;
  std::vector<std::string> addresses;
};

class Plans {
 public:
  explicit Plans(const std::vector<plan::HostPlan>& plans) {
    for (const auto& p : plans)
      by_host_[p.host] = &p;
  }
  Device device(const std::string& host, const std::string& ns, const std::string& dev) const {
    Device d;
    auto it = by_host_.find(host);
    if (it == by_host_.end() || dev.empty())
      return d;
    if (const plan::Link* l = it->second->findLink(ns, dev); l && l->mac)
      d.mac = l->mac->str();
    for (const auto& a : it->second->addresses) {
      if (a.ns == ns && a.dev == dev)
        d.addresses.push_back(a.cidr.str());
    }
    return d;
  }

 private:
  std::map<std::string, const plan::HostPlan*> by_host_;
};

// The namespace a hop's devices live in: "bridge X (host namespace)" and outside hosts
// are the host's own, dvr's namespaces name themselves.
std::string namespaceOf(const trace::Hop& hop) {
  for (const char* prefix : {"qrouter-", "fip-", "snat-"}) {
    if (hop.where.rfind(prefix, 0) == 0)
      return hop.where;
  }
  return "";
}

std::string deviceRow(const std::string& port, const std::string& dev, const Device& d,
                      const char* side) {
  std::string text = "<b>" + htmlEscape(dev) + "</b>";
  for (const auto& a : d.addresses)
    text += "<br/>" + htmlEscape(a);
  if (!d.mac.empty())
    text += "<br/>" + htmlEscape(d.mac);
  return "<tr><td port=\"" + port + "\" border=\"1\" bgcolor=\"#f4f4f4\" align=\"left\">" +
         std::string(side) + " " + text + "</td></tr>";
}

std::string field(const std::string& value, bool changed) {
  return changed
             ? "<b><font color=\"" + std::string(kDrop) + "\">*" + htmlEscape(value) + "</font></b>"
             : htmlEscape(value);
}

// The headers after a hop, rewritten ones marked as the text trace marks them.
std::string headerRows(const trace::Hop& hop) {
  const trace::Packet& p = hop.packet;
  unsigned c = hop.changed;
  std::string out;
  if (hop.encap) {
    out += "<tr><td align=\"left\">outer " + htmlEscape(hop.encap->src.str()) + " &gt; " +
           htmlEscape(hop.encap->dst.str()) + " vni " + std::to_string(hop.encap->vni) +
           "</td></tr>";
    c = 0;
  }
  out += "<tr><td align=\"left\">" + field(p.src_mac.str(), c & trace::kSrcMac) + " &gt; " +
         field(p.dst_mac.str(), c & trace::kDstMac) + "</td></tr>";
  out += "<tr><td align=\"left\">" + field(p.src_ip.str(), c & trace::kSrcIp) + " &gt; " +
         field(p.dst_ip.str(), c & trace::kDstIp) + "</td></tr>";
  return out;
}

struct PathStyle {
  std::string prefix;  // node ids: "f" forward, "r" reply
  const char* colour;
  bool reversed;  // drawn right to left, beside the forward path
};

// Hop boxes by host, and the arrows between them.
void drawPath(const trace::Path& path, const Plans& plans, const PathStyle& style,
              std::map<std::string, std::vector<std::string>>& nodes_by_host,
              std::vector<std::string>& host_order, std::string& edges) {
  for (size_t i = 0; i < path.hops.size(); ++i) {
    const trace::Hop& hop = path.hops[i];
    std::string id = style.prefix + std::to_string(i + 1);
    std::string ns = namespaceOf(hop);
    bool last = i + 1 == path.hops.size();
    std::string label =
        "<table border=\"1\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"3\" "
        "color=\"" +
        std::string(style.colour) + "\">";
    if (!hop.in_dev.empty())
      label += deviceRow("in", hop.in_dev, plans.device(hop.host, ns, hop.in_dev), "in");
    label += "<tr><td><b>" + htmlEscape(hop.where) + "</b></td></tr>";
    label += headerRows(hop);
    if (!hop.out_dev.empty())
      label += deviceRow("out", hop.out_dev, plans.device(hop.host, ns, hop.out_dev), "out");
    if (last) {
      label += "<tr><td><font color=\"" + std::string(path.delivered ? style.colour : kDrop) +
               "\"><b>" + htmlEscape(path.verdict) + "</b></font></td></tr>";
    }
    label += "</table>";
    if (!nodes_by_host.count(hop.host))
      host_order.push_back(hop.host);
    nodes_by_host[hop.host].push_back("    " + id + " [label=<" + label + ">];\n");
    if (i == 0)
      continue;
    std::string from = style.prefix + std::to_string(i);
    std::string tail = path.hops[i - 1].out_dev.empty() ? "" : ":out";
    std::string head = hop.in_dev.empty() ? "" : ":in";
    std::string attrs = "label=" + quoted(" " + std::to_string(i) + " ") + " color=\"" +
                        style.colour + "\" fontcolor=\"" + style.colour + "\" penwidth=1.6";
    // The reply runs the other way: drawn as reversed arrows, it keeps its own lane
    // beside the forward path instead of crossing it.
    if (style.reversed)
      edges += "  " + id + head + " -> " + from + tail + " [" + attrs + " dir=back];\n";
    else
      edges += "  " + from + tail + " -> " + id + head + " [" + attrs + "];\n";
  }
}

}  // namespace

std::string traceDot(const trace::TraceResult& result, const std::vector<plan::HostPlan>& plans,
                     const TraceDrawing& how) {
  Plans lookup(plans);
  std::map<std::string, std::vector<std::string>> nodes_by_host;
  std::vector<std::string> host_order;
  std::string edges;
  drawPath(result.forward, lookup, {"f", kForward, false}, nodes_by_host, host_order, edges);
  if (how.with_reply && result.reply)
    drawPath(*result.reply, lookup, {"r", kReply, true}, nodes_by_host, host_order, edges);
  std::string out = "digraph trace {\n  rankdir=LR;\n" + std::string(kGraphStyle);
  std::string title = result.forward.title;
  if (how.with_reply && result.reply)
    title += "   (reply: " + result.reply->title + ")";
  out += "  label=" + quoted(title) + "; labelloc=t;\n";
  int n = 0;
  for (const auto& host : host_order) {
    out += "  subgraph cluster_" + std::to_string(n++) + " {\n    label=" + quoted(host) +
           "; style=rounded; color=\"#888888\";\n";
    for (const auto& node : nodes_by_host[host])
      out += node;
    out += "  }\n";
  }
  return out + edges + "}\n";
}

namespace {

std::string nodeId(const std::string& ns, const std::string& dev) {
  return quoted((ns.empty() ? "host" : ns) + "/" + dev);
}

std::string linkLabel(const plan::Link& l, const plan::HostPlan& p) {
  std::string label = "<table border=\"1\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"3\"";
  label += l.kind == plan::LinkKind::Bridge ? " bgcolor=\"#eef3fb\">" : ">";
  label += "<tr><td><b>" + htmlEscape(l.name) + "</b></td></tr>";
  std::string kind = plan::linkKindName(l.kind);
  if (l.kind == plan::LinkKind::Vxlan)
    kind += " id " + std::to_string(l.vni) + " local " + l.local_ip.str();
  label +=
      "<tr><td>" + htmlEscape(kind) + (l.mtu ? " mtu " + std::to_string(l.mtu) : "") + "</td></tr>";
  for (const auto& a : p.addresses) {
    if (a.ns == l.ns && a.dev == l.name)
      label += "<tr><td>" + htmlEscape(a.cidr.str()) + "</td></tr>";
  }
  if (l.mac)
    label += "<tr><td>" + htmlEscape(l.mac->str()) + "</td></tr>";
  if (l.kind == plan::LinkKind::Vxlan) {
    std::set<std::string> remotes;
    for (const auto& f : p.fdb) {
      if (f.dev == l.name)
        remotes.insert(f.dst.str());
    }
    for (const auto& r : remotes)
      label += "<tr><td>to " + htmlEscape(r) + "</td></tr>";
  }
  return label + "</table>";
}

}  // namespace

std::string hostPlanDot(const plan::HostPlan& p) {
  std::string out = "graph host {\n  rankdir=LR;\n" + std::string(kGraphStyle);
  out += "  label=" + quoted("host " + p.host) + "; labelloc=t;\n";
  std::map<std::string, std::vector<const plan::Link*>> by_ns;
  for (const auto& l : p.links)
    by_ns[l.ns].push_back(&l);
  int n = 0;
  for (const auto& [ns, links] : by_ns) {
    out += "  subgraph cluster_" + std::to_string(n++) +
           " {\n    label=" + quoted(ns.empty() ? "host namespace" : ns) +
           "; style=rounded; color=\"#888888\";\n";
    for (const plan::Link* l : links)
      out += "    " + nodeId(l->ns, l->name) + " [label=<" + linkLabel(*l, p) + ">];\n";
    out += "  }\n";
  }
  std::set<std::pair<std::string, std::string>> drawn;
  for (const auto& l : p.links) {
    if (!l.master.empty())
      out +=
          "  " + nodeId(l.ns, l.name) + " -- " + nodeId(l.ns, l.master) + " [color=\"#888888\"];\n";
    if (l.kind == plan::LinkKind::Veth &&
        !drawn.count({l.peer_ns + "/" + l.peer, l.ns + "/" + l.name})) {
      drawn.emplace(l.ns + "/" + l.name, l.peer_ns + "/" + l.peer);
      out += "  " + nodeId(l.ns, l.name) + " -- " + nodeId(l.peer_ns, l.peer) + " [color=\"" +
             kForward + "\" penwidth=1.6];\n";
    }
  }
  return out + "}\n";
}

std::string cloudDot(const model::Cloud& cloud, const std::vector<plan::HostPlan>& plans) {
  std::string out = "graph cloud {\n  rankdir=LR;\n" + std::string(kGraphStyle);
  out += "  label=\"cloud\"; labelloc=t;\n";
  for (const auto& net : cloud.networks) {
    out += "  " + quoted("net/" + net.id) + " [shape=box style=\"rounded,filled\" fillcolor=\"" +
           (net.external ? "#fdebd0" : "#eef3fb") + "\" label=" +
           quoted(net.name + (net.external ? " (external)" : " vni " + std::to_string(net.vni))) +
           "];\n";
  }
  int n = 0;
  for (const auto& p : plans) {
    out += "  subgraph cluster_" + std::to_string(n++) + " {\n    label=" + quoted(p.host) +
           "; style=rounded; color=\"#888888\";\n";
    for (const auto& ns : p.namespaces) {
      out += "    " + quoted(p.host + "/" + ns) + " [shape=box label=" + quoted(ns) + "];\n";
    }
    out += "  }\n";
    // A namespace's devices on a network's bridge: the line from it to that network.
    std::set<std::pair<std::string, std::string>> joined;
    for (const auto& l : p.links) {
      if (l.ns.empty() || l.kind != plan::LinkKind::Veth)
        continue;
      const plan::Link* tap = p.findLink(l.peer_ns, l.peer);
      if (!tap || tap->master.empty())
        continue;
      for (const auto& net : cloud.networks) {
        if (tap->master == plan::names::bridge(net.id) && joined.emplace(l.ns, net.id).second)
          out += "  " + quoted(p.host + "/" + l.ns) + " -- " + quoted("net/" + net.id) +
                 " [color=\"#888888\"];\n";
      }
    }
  }
  return out + "}\n";
}

}  // namespace dvr::draw
