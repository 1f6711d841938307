#include "plan/render.h"

#include "plan/fast_path.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "plan/nft_tables.h"

namespace dvr::plan {

std::string nsLabel(const std::string& ns) {
  return ns.empty() ? "host namespace" : "netns " + ns;
}

std::string linkLine(const Link& l) {
  std::string out = l.name;
  if (l.kind == LinkKind::Veth)
    out += "@" + l.peer;
  if (l.mtu)
    out += ": mtu " + std::to_string(l.mtu);
  else
    out += ":";
  if (!l.master.empty())
    out += " master " + l.master;
  if (l.mac)
    out += " link/ether " + l.mac->str();
  switch (l.kind) {
    case LinkKind::Bridge:
      out += " type bridge";
      if (l.nf_call_iptables)
        out += " nf_call_iptables 1";  // as ip -d link shows it
      break;
    case LinkKind::Vxlan:
      out += " type vxlan id " + std::to_string(l.vni) + " local " + l.local_ip.str() +
             " dstport " + std::to_string(kVxlanPort) + " nolearning";
      break;
    case LinkKind::Veth:
      out += " type veth peer " + l.peer + " (" + nsLabel(l.peer_ns) + ")";
      break;
    case LinkKind::Adopted:
      out += " (existing device, enslaved only)";
      break;
  }
  return out;
}

std::string addressLine(const Address& a) {
  return "inet " + a.cidr.str() + " dev " + a.dev;
}

std::string routeLine(const Route& r) {
  std::string out = r.dst.len == 0 ? "default" : (r.dst.len == 32 ? r.dst.addr.str() : r.dst.str());
  if (r.via)
    out += " via " + r.via->str();
  out += " dev " + r.dev;
  if (r.table != kMainTable)
    out += " table " + std::to_string(r.table);
  return out + " proto dvr";
}

std::string ruleLine(const Rule& r) {
  std::string out = std::to_string(r.priority) + ":\tfrom " +
                    (r.from ? (r.from->len == 32 ? r.from->addr.str() : r.from->str()) : "all");
  if (!r.iif.empty())
    out += " iif " + r.iif;
  return out + " lookup " + std::to_string(r.table) + " proto dvr";
}

std::string neighbourLine(const Neighbour& n) {
  if (n.proxy)
    return n.ip.str() + " dev " + n.dev + " proxy";
  return n.ip.str() + " dev " + n.dev + " lladdr " + n.mac.str() + " PERMANENT";
}

std::string fdbLine(const FdbEntry& f) {
  return f.mac.str() + " dev " + f.dev + " dst " + f.dst.str() + " self permanent";
}

namespace {

template <class T, class F>
void section(std::string& out, const std::string& ns, const char* title,
             const std::vector<T>& items, F line) {
  std::string body;
  for (const auto& item : items) {
    if (item.ns == ns)
      body += "  " + line(item) + "\n";
  }
  if (!body.empty())
    out += std::string("$ ") + title + "\n" + body;
}

}  // namespace

template <class T, class Key>
std::vector<T> sortedBy(std::vector<T> items, Key key) {
  std::sort(items.begin(), items.end(), [&](const T& a, const T& b) { return key(a) < key(b); });
  return items;
}

std::string renderText(const HostPlan& plan) {
  // Sorted like the kernel tools list them; the plan itself keeps generation order.
  auto sysctls = sortedBy(plan.sysctls, [](const Sysctl& s) { return s.keyTuple(); });
  auto links = sortedBy(plan.links, [](const Link& l) { return l.key(); });
  auto addresses = sortedBy(plan.addresses, [](const Address& a) { return a.key(); });
  auto routes = sortedBy(plan.routes, [](const Route& r) { return r.key(); });
  auto rules = sortedBy(plan.rules, [](const Rule& r) { return r.key(); });
  std::string out =
      "# dvr plan for host " + plan.host + " (DVR MAC " + plan.dvr_mac.host_mac.str() + ")\n";
  out += "$ ip netns\n";
  for (const auto& ns : plan.namespaces)
    out += "  " + ns + "\n";
  auto tables = nftTables(plan);
  std::vector<std::string> all{""};
  all.insert(all.end(), plan.namespaces.begin(), plan.namespaces.end());
  for (const auto& ns : all) {
    out += "\n## " + nsLabel(ns) + "\n";
    section(out, ns, "sysctl", sysctls, [](const Sysctl& s) { return s.key + " = " + s.value; });
    section(out, ns, "ip -d link", links, linkLine);
    section(out, ns, "ip addr", addresses, addressLine);
    section(out, ns, "ip rule", rules, ruleLine);
    section(out, ns, "ip route show table all", routes, routeLine);
    std::vector<Neighbour> neigh, proxy;
    for (const auto& n : plan.neighbours)
      (n.proxy ? proxy : neigh).push_back(n);
    section(out, ns, "ip neigh", neigh, neighbourLine);
    section(out, ns, "ip neigh show proxy", proxy, neighbourLine);
    section(out, ns, "arping -U (gratuitous ARP when put in place)", plan.announcements,
            [](const Announcement& a) { return a.ip.str() + " dev " + a.dev; });
    if (ns.empty() && (!plan.fast_path.empty() || !plan.fast_path.left_out.empty())) {
      out += "$ tc filter show; bpftool map dump (fast path)\n";
      std::string fp = renderFastPath(plan);
      size_t start = 0;
      while (start < fp.size()) {
        size_t end = fp.find('\n', start);
        out += "  " + fp.substr(start, end - start) + "\n";
        start = end + 1;
      }
    }
    if (ns.empty() && !plan.fdb.empty()) {
      out += "$ bridge fdb (static)\n";
      for (const auto& f : plan.fdb)
        out += "  " + fdbLine(f) + "\n";
    }
    for (const auto& t : tables) {
      if (t.ns != ns)
        continue;
      out += "$ nft list table " + t.family + " " + t.name + "\n";
      std::string text = t.text();
      size_t start = 0;
      while (start < text.size()) {
        size_t end = text.find('\n', start);
        out += "  " + text.substr(start, end - start) + "\n";
        start = end + 1;
      }
    }
  }
  for (const auto& d : plan.daemons) {
    out += "\n## daemon " + d.name + " (" + nsLabel(d.ns) + ")";
    if (d.reload == Daemon::Reload::kRestart)
      out += ", restarted to reload";
    out += "\n$";
    for (const auto& a : d.argv)
      out += " " + a;
    out += "\n";
    for (const auto& [file, content] : d.files) {
      out += "$ cat {dir}/" + file + "\n";
      for (size_t start = 0; start < content.size();) {
        size_t end = content.find('\n', start);
        out += "  " + content.substr(start, end - start) + "\n";
        start = end == std::string::npos ? content.size() : end + 1;
      }
    }
    if (const auto& w = d.link_watch) {
      out += "  {dir}/" + w->file + ": 1 while down:";
      for (const auto& l : w->links)
        out += " " + l;
      if (w->address)
        out += " (the device holding " + w->address->str() + ")";
      out += "\n";
    }
  }
  return out;
}

std::string renderJson(const HostPlan& plan) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["host"] = plan.host;
  j["dvr_mac"] = plan.dvr_mac.host_mac.str();
  j["namespaces"] = plan.namespaces;
  auto& sysctls = j["sysctls"] = ordered_json::array();
  for (const auto& s : plan.sysctls)
    sysctls.push_back({{"netns", s.ns}, {"key", s.key}, {"value", s.value}});
  auto& links = j["links"] = ordered_json::array();
  for (const auto& l : plan.links) {
    ordered_json o{{"netns", l.ns}, {"ifname", l.name}, {"kind", linkKindName(l.kind)}};
    if (l.mac)
      o["address"] = l.mac->str();
    if (l.mtu)
      o["mtu"] = l.mtu;
    if (!l.master.empty())
      o["master"] = l.master;
    if (l.kind == LinkKind::Veth)
      o["peer"] = {{"ifname", l.peer}, {"netns", l.peer_ns}};
    if (l.kind == LinkKind::Vxlan)
      o["vxlan"] = {
          {"id", l.vni}, {"local", l.local_ip.str()}, {"port", kVxlanPort}, {"learning", false}};
    links.push_back(std::move(o));
  }
  auto& addrs = j["addresses"] = ordered_json::array();
  for (const auto& a : plan.addresses)
    addrs.push_back({{"netns", a.ns}, {"dev", a.dev}, {"local", a.cidr.str()}});
  auto& routes = j["routes"] = ordered_json::array();
  for (const auto& r : plan.routes) {
    ordered_json o{{"netns", r.ns},
                   {"table", r.table},
                   {"dst", r.dst.len == 0 ? "default" : r.dst.str()},
                   {"dev", r.dev}};
    if (r.via)
      o["gateway"] = r.via->str();
    routes.push_back(std::move(o));
  }
  auto& rules = j["rules"] = ordered_json::array();
  for (const auto& r : plan.rules) {
    ordered_json o{{"netns", r.ns},
                   {"priority", r.priority},
                   {"src", r.from ? r.from->str() : "all"},
                   {"table", r.table}};
    if (!r.iif.empty())
      o["iif"] = r.iif;
    rules.push_back(std::move(o));
  }
  auto& neigh = j["neighbours"] = ordered_json::array();
  for (const auto& n : plan.neighbours) {
    ordered_json o{{"netns", n.ns}, {"dev", n.dev}, {"dst", n.ip.str()}};
    if (n.proxy)
      o["proxy"] = true;
    else
      o["lladdr"] = n.mac.str();
    neigh.push_back(std::move(o));
  }
  auto& announce = j["announcements"] = ordered_json::array();
  for (const auto& a : plan.announcements)
    announce.push_back({{"netns", a.ns}, {"dev", a.dev}, {"local", a.ip.str()}});
  auto& daemons = j["daemons"] = ordered_json::array();
  for (const auto& d : plan.daemons) {
    ordered_json x = {{"name", d.name},
                      {"netns", d.ns},
                      {"argv", d.argv},
                      {"files", d.files},
                      {"reload", d.reload == Daemon::Reload::kRestart ? "restart" : "sighup"}};
    if (const auto& w = d.link_watch) {
      x["link_watch"] = {{"file", w->file}, {"links", w->links}};
      if (w->address)
        x["link_watch"]["address"] = w->address->str();
    }
    daemons.push_back(std::move(x));
  }
  auto& fdb = j["fdb"] = ordered_json::array();
  for (const auto& f : plan.fdb)
    fdb.push_back({{"dev", f.dev}, {"mac", f.mac.str()}, {"dst", f.dst.str()}});
  auto& nft = j["nftables"] = ordered_json::array();
  for (const auto& t : nftTables(plan))
    nft.push_back(
        {{"netns", t.ns}, {"family", t.family}, {"table", t.name}, {"ruleset", t.text()}});
  // Only with --datapath fast, so that the default JSON stays as it was.
  const FastPath& fp = plan.fast_path;
  if (!fp.empty() || !fp.left_out.empty()) {
    auto& f = j["fast_path"] = ordered_json::object();
    auto& attach = f["filters"] = ordered_json::array();
    for (const auto& a : fp.attach)
      attach.push_back({{"dev", a.dev}, {"kind", "ingress"}, {"program", a.program}});
    auto& fips = f["floating_ips"] = ordered_json::array();
    for (const auto& e : fp.fips) {
      auto local = ordered_json::array();
      for (const auto& c : e.keep_local)
        local.push_back(c.str());
      fips.push_back({{"floating_ip", e.floating.str()},
                      {"fixed_ip", e.fixed.str()},
                      {"vm_dev", e.vm_dev},
                      {"ext_dev", e.ext_dev},
                      {"vm_mac", e.vm_mac.str()},
                      {"qr_mac", e.qr_mac.str()},
                      {"fg_mac", e.fg_mac.str()},
                      {"next_hop", e.next_hop.str()},
                      {"next_hop_from", e.fip_ns + " dev " + e.fg_dev},
                      {"out_mtu", e.out_mtu},
                      {"in_mtu", e.in_mtu},
                      {"namespace_path_destinations", local}});
    }
    auto& left = f["namespace_path_only"] = ordered_json::array();
    for (const auto& [port, why] : fp.left_out)
      left.push_back({{"port", port}, {"why", why}});
  }
  return j.dump(2) + "\n";
}

}  // namespace dvr::plan
