// The `dvr` command. Subcommands are wired here; each one's work lives in its component.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "agent/agent.h"
#include "agent/api_client.h"
#include "agent/cloud_source.h"
#include "cli/credentials.h"
#include "cli/pictures.h"
#include "cli/server_limits.h"
#include "cli/status.h"
#include "draw/dot.h"
#include "ipam/resolve.h"
#include "kernel/bpf_fastpath.h"
#include "lab/lab.h"
#include "model/error.h"
#include "model/topology_json.h"
#include "observe/log.h"
#include "plan/cloud_index.h"
#include "plan/fast_path.h"
#include "plan/planner.h"
#include "plan/render.h"
#include "server/agent_credential.h"
#include "server/http_server.h"
#include "trace/fast_path_note.h"
#include "trace/render.h"
#include "trace/tracer.h"

namespace {

int validate(const std::string& file) {
  auto cloud = dvr::ipam::loadCloudFile(file);
  size_t vms = 0;
  for (const auto& p : cloud.ports)
    vms += p.device_owner == dvr::model::kOwnerCompute;
  std::cout << file << ": valid: " << cloud.hosts.size() << " hosts, " << cloud.networks.size()
            << " networks, " << cloud.routers.size() << " routers, " << vms << " VMs, "
            << cloud.floating_ips.size() << " floating IPs\n";
  return 0;
}

int plan(const std::string& file, const std::string& host, bool json, const std::string& datapath) {
  auto cloud = dvr::ipam::loadCloudFile(file);
  if (!cloud.findHost(host)) {
    throw dvr::InputError(file, {{"--host", "no host named '" + host + "' in the topology", 0}});
  }
  dvr::plan::CloudIndex index(cloud);
  auto p = dvr::plan::planHost(index, host);
  if (datapath == "fast")
    dvr::plan::addFastPath(index, p);
  std::cout << (json ? dvr::plan::renderJson(p) : dvr::plan::renderText(p));
  return 0;
}

// The cloud of a topology file, or the one a server holds (`--server URL`): its whole
// topology with every allocation pinned, resolved as a file would be.
dvr::model::Cloud cloudOf(const std::string& file, const std::string& server,
                          const dvr::cli::ServerCredentials& credentials) {
  if (file.empty() == server.empty())
    throw dvr::InputError("dvr", {{"FILE / --server", "give a topology file or --server URL", 0}});
  if (server.empty())
    return dvr::ipam::loadCloudFile(file);
  dvr::agent::ApiClient client(server, {std::chrono::seconds(3), std::chrono::seconds(30)});
  client.setHeaders(dvr::cli::credentialHeaders(credentials));
  auto res = client.get("/dvr/v1/topology?since=0");
  if (!res)
    throw std::runtime_error("cannot reach " + server);
  if (res->status != 200)
    throw std::runtime_error(server + " answered " + std::to_string(res->status) + ": " +
                             res->body);
  auto topo = dvr::model::topologyFromJson(nlohmann::json::parse(res->body).at("topology"));
  return dvr::ipam::resolve(topo, server);
}

int trace(const std::string& file, const std::string& server, const dvr::trace::TraceRequest& req,
          bool json, const dvr::cli::PictureFiles& pictures, const std::string& datapath,
          const dvr::cli::ServerCredentials& credentials) {
  auto cloud = cloudOf(file, server, credentials);
  dvr::plan::CloudIndex index(cloud);
  auto plans = dvr::plan::planAll(index);
  if (datapath == "fast") {
    for (auto& p : plans)
      dvr::plan::addFastPath(index, p);
  }
  auto result = dvr::trace::tracePacket(cloud, plans, req);
  dvr::trace::noteFastPath(result, plans);
  std::cout << (json ? dvr::trace::renderJson(result) : dvr::trace::renderText(result));
  if (pictures.any())
    dvr::cli::writePictures(dvr::draw::traceDot(result, plans, {.with_reply = req.with_reply}),
                            pictures);
  return result.forward.delivered ? 0 : 3;
}

// One host's plan, or the whole cloud without a host.
int draw(const std::string& file, const std::string& server, const std::string& host,
         const dvr::cli::PictureFiles& pictures, const dvr::cli::ServerCredentials& credentials) {
  if (!pictures.any())
    throw dvr::InputError("dvr draw", {{"--svg/--png", "name at least one file to write", 0}});
  auto cloud = cloudOf(file, server, credentials);
  dvr::plan::CloudIndex index(cloud);
  if (!host.empty()) {
    if (!cloud.findHost(host))
      throw dvr::InputError(file, {{"--host", "no host named '" + host + "' in the topology", 0}});
    dvr::cli::writePictures(dvr::draw::hostPlanDot(dvr::plan::planHost(index, host)), pictures);
  } else {
    dvr::cli::writePictures(dvr::draw::cloudDot(cloud, dvr::plan::planAll(index)), pictures);
  }
  return 0;
}

// The server's dvr_host_macs table, printed as the seed shows Neutron's.
int hostMacs(const std::string& url, const dvr::cli::ServerCredentials& credentials) {
  dvr::agent::ApiClient client(url, {std::chrono::seconds(3), std::chrono::seconds(30)});
  client.setHeaders(dvr::cli::credentialHeaders(credentials));
  auto res = client.get("/dvr/v1/host-macs");
  if (!res)
    throw std::runtime_error("cannot reach " + url);
  if (res->status != 200)
    throw std::runtime_error(url + " answered " + std::to_string(res->status) + ": " + res->body);
  auto rows = nlohmann::json::parse(res->body).at("dvr_host_macs");
  size_t width = 4;
  for (const auto& r : rows)
    width = std::max(width, r.at("host").get<std::string>().size());
  std::cout << std::left << std::setw(int(width) + 2) << "host"
            << "mac_address\n";
  for (const auto& r : rows) {
    std::cout << std::setw(int(width) + 2) << r.at("host").get<std::string>()
              << r.at("mac_address").get<std::string>() << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dvr: a distributed virtual router (OpenStack Neutron DVR) on the Linux kernel"};
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.require_subcommand(1);
  std::string file, host;
  bool json = false;

  auto* validate_cmd = app.add_subcommand("validate", "check a topology file");
  validate_cmd->add_option("file", file, "topology (YAML)")->required();

  auto* plan_cmd = app.add_subcommand("plan", "print the kernel state a host must have");
  plan_cmd->add_option("file", file, "topology (YAML)")->required();
  plan_cmd->add_option("--host", host, "host name")->required();
  plan_cmd->add_flag("--json", json, "JSON instead of ip/bridge/nft-style text");
  std::string datapath = "namespaces";
  auto datapaths = CLI::IsMember({"namespaces", "fast"});
  plan_cmd->add_option("--datapath", datapath, "namespaces, or fast: with the eBPF fast path")
      ->check(datapaths);

  dvr::trace::TraceRequest req;
  std::string proto = "icmp";
  bool no_reply = false;
  auto* trace_cmd =
      app.add_subcommand("trace", "walk a packet through the hosts' plans, hop by hop");
  std::string picture_server;
  dvr::cli::ServerCredentials credentials;  // to a server that requires one
  trace_cmd->add_option("file", file, "topology (YAML)");
  trace_cmd->add_option("--server", picture_server, "trace the cloud a dvr server holds");
  dvr::cli::addCredentialOptions(trace_cmd, credentials);
  trace_cmd->add_option("--from", req.from, "VM or external host (name or IP)")->required();
  trace_cmd->add_option("--to", req.to, "VM, external host or IP")->required();
  trace_cmd->add_option("--proto", proto, "icmp, tcp or udp")
      ->check(CLI::IsMember({"icmp", "tcp", "udp"}));
  trace_cmd->add_option("--dport", req.dport, "destination port (tcp/udp)");
  trace_cmd->add_flag("--no-reply", no_reply, "do not trace the reply");
  trace_cmd
      ->add_option("--datapath", datapath,
                   "fast: say which hops the eBPF fast path skips (as `dvr agent --datapath`)")
      ->check(datapaths);
  trace_cmd->add_flag("--json", json, "JSON output");
  dvr::cli::PictureFiles pictures;
  trace_cmd->add_option("--svg", pictures.svg, "also draw the trace as SVG into this file");
  trace_cmd->add_option("--png", pictures.png, "also draw the trace as PNG into this file");

  auto* draw_cmd = app.add_subcommand("draw", "draw one host's plan, or the whole cloud");
  draw_cmd->add_option("file", file, "topology (YAML)");
  draw_cmd->add_option("--server", picture_server, "draw the cloud a dvr server holds");
  dvr::cli::addCredentialOptions(draw_cmd, credentials);
  draw_cmd->add_option("--host", host, "the host to draw (default: the whole cloud)");
  draw_cmd->add_option("--svg", pictures.svg, "SVG file to write");
  draw_cmd->add_option("--png", pictures.png, "PNG file to write");

  dvr::agent::AgentOptions agent_opts;
  auto* agent_cmd =
      app.add_subcommand("agent", "make this host's kernel match its plan, and follow changes");
  agent_cmd->add_option("--host", agent_opts.host, "this host's name in the topology")->required();
  auto* topo_opt =
      agent_cmd->add_option("--topology", file, "topology (YAML), followed as it changes");
  dvr::agent::ServerSourceOptions agent_server;
  std::vector<std::string> uplinks;
  auto* server_opt = agent_cmd->add_option("--server", agent_server.url,
                                           "follow a dvr server instead (http://HOST:PORT)");
  topo_opt->excludes(server_opt);
  agent_cmd->add_option("--mode", agent_server.mode, "with --server: dvr or dvr_snat")
      ->check(CLI::IsMember({"dvr", "dvr_snat"}));
  agent_cmd->add_option("--tunnel-ip", agent_server.tunnel_ip,
                        "with --server: this host's VXLAN endpoint");
  std::string agent_key_file;
  agent_cmd->add_option("--agent-key-file", agent_key_file,
                        "with --server: this host's agent key (from `dvr agent-key`)");
  agent_cmd->add_option("--uplink", uplinks, "with --server: NETWORK=DEVICE (NETWORK may be '*')");
  agent_cmd->add_flag("--dhcp", agent_server.dhcp,
                      "with --server: also be a DHCP agent (serve networks' DHCP with dnsmasq)");

  dvr::server::ServerOptions server_opts;
  std::string macs_url = "http://127.0.0.1:9696";
  auto* macs_cmd =
      app.add_subcommand("host-macs", "the server's dvr_host_macs table: each host's DVR MAC");
  macs_cmd->add_option("--server", macs_url, "the dvr server (default http://127.0.0.1:9696)");
  dvr::cli::addCredentialOptions(macs_cmd, credentials);
  auto* status_cmd = app.add_subcommand(
      "status", "every agent: mode, liveness, revision applied, last reconcile, DVR MAC");
  status_cmd->add_option("--server", macs_url, "the dvr server (default http://127.0.0.1:9696)");
  dvr::cli::addCredentialOptions(status_cmd, credentials);
  auto* server_cmd = app.add_subcommand("server", "serve the Neutron v2.0 API over a database");
  server_cmd->add_option("--bind", server_opts.bind, "HOST:PORT (default 127.0.0.1:9696)");
  server_cmd->add_option("--db", server_opts.db, "sqlite:PATH (default sqlite:dvr.db)");
  server_cmd->add_option("--agent-down-time", server_opts.agent_down_time,
                         "seconds without a heartbeat before an agent is down (default " +
                             std::to_string(dvr::server::kDefaultAgentDownTime) + ")");
  server_cmd->add_flag("--l3-ha", server_opts.l3_ha,
                       "routers created without 'ha' are HA (Neutron's l3_ha; default off)");
  dvr::cli::addServerLimitOptions(*server_cmd, server_opts);
  server_cmd
      ->add_option("--auth", server_opts.auth.mode,
                   "noauth (default: every caller is an admin) or keystone")
      ->check(CLI::IsMember({"noauth", "keystone"}));
  server_cmd->add_option("--auth-url", server_opts.auth.auth_url,
                         "with --auth keystone: Keystone's v3 URL (default $OS_AUTH_URL); the "
                         "server's own credentials come from OS_USERNAME, OS_PASSWORD, "
                         "OS_PROJECT_NAME, OS_*_DOMAIN_NAME");
  server_cmd
      ->add_option("--token-cache-time", server_opts.auth.token_cache_seconds,
                   "seconds a validated token is trusted without asking Keystone again, "
                   "at most until it expires (default 300)")
      ->check(CLI::Range(0, 86400));
  server_cmd->add_option("--agent-secret-file", server_opts.auth.agent_secret_file,
                         "the deployment's agent secret: agents must send their host's key");
  std::string key_secret, key_host;
  auto* key_cmd = app.add_subcommand(
      "agent-key", "print a host's agent key, derived from the deployment's agent secret");
  key_cmd->add_option("--secret-file", key_secret, "the server's --agent-secret-file")->required();
  key_cmd->add_option("--host", key_host, "the agent's host name")->required();
  agent_cmd->add_flag("--once", agent_opts.once,
                      "reconcile once, print the number of changes, exit");
  agent_cmd->add_option("--ready-file", agent_opts.ready_file,
                        "written after each successful reconcile");
  agent_cmd->add_option("--metrics-bind", agent_opts.metrics_bind,
                        "serve Prometheus metrics at http://ADDR:PORT/metrics");
  agent_cmd
      ->add_option("--datapath", agent_opts.datapath,
                   "namespaces (the default), or fast: the eBPF floating-IP fast path too")
      ->check(datapaths);

  auto* fastpath_cmd = app.add_subcommand(
      "fastpath", "this host's fast-path counters: packets fast-pathed, fallen back and why");
  auto* lab_cmd =
      app.add_subcommand("lab", "a multi-host cloud on this machine (hosts are namespaces)");
  lab_cmd->require_subcommand(1);
  auto* lab_up = lab_cmd->add_subcommand(
      "up", "build the cloud of a topology file and start an agent per host");
  lab_up->add_option("file", file, "topology (YAML)")->required();
  bool lab_api = false;
  lab_up->add_flag("--api", lab_api,
                   "run dvr server on the controller and build the cloud through its API");
  std::string lab_datapath = "namespaces";
  lab_up->add_option("--datapath", lab_datapath, "the agents' --datapath")->check(datapaths);
  std::string plug_vm, plug_port;
  auto* lab_plug = lab_cmd->add_subcommand(
      "plug", "plug a new VM into a port made through the API (--api labs)");
  lab_plug->add_option("name", plug_vm, "VM name")->required();
  lab_plug->add_option("--port", plug_port, "port id")->required();
  auto* lab_down = lab_cmd->add_subcommand("down", "remove everything the lab made");
  auto* lab_apply =
      lab_cmd->add_subcommand("apply", "change the running cloud to a new topology file");
  lab_apply->add_option("file", file, "topology (YAML)")->required();
  auto* lab_status = lab_cmd->add_subcommand("status", "hosts, agents, VMs and namespaces");
  std::string lab_node;
  std::vector<std::string> lab_argv;
  auto* lab_exec =
      lab_cmd->add_subcommand("exec", "run a command in a lab host, VM, gateway or external host");
  lab_exec->add_option("name", lab_node, "host, VM or node")->required();
  lab_exec->add_option("command", lab_argv, "command and arguments (after --)")->required();

  CLI11_PARSE(app, argc, argv);
  dvr::observe::setLogLevel(log_level);
  try {
    if (*validate_cmd)
      return validate(file);
    if (*fastpath_cmd) {
      auto c = dvr::kernel::readFastPathCounters();
      if (c.empty()) {
        std::cerr << "dvr fastpath: nothing pinned at " << dvr::kernel::kFastPathPinDir
                  << " (the agent runs --datapath namespaces, or has no floating IP here)\n";
        return 1;
      }
      std::cout << dvr::kernel::renderFastPathCounters(c);
      for (const auto& line : dvr::kernel::readFastPathEntries())
        std::cout << line << "\n";
      return 0;
    }
    if (*plan_cmd)
      return plan(file, host, json, datapath);
    if (*lab_cmd) {
      if (*lab_up) {
        dvr::lab::up(file, std::filesystem::read_symlink("/proc/self/exe").string(), lab_api,
                     lab_datapath);
        std::cout << dvr::lab::status();
      } else if (*lab_plug) {
        dvr::lab::plug(plug_vm, plug_port);
      } else if (*lab_down) {
        dvr::lab::down();
      } else if (*lab_apply) {
        dvr::lab::apply(file);
      } else if (*lab_status) {
        std::cout << dvr::lab::status();
      } else if (*lab_exec) {
        return dvr::lab::exec(lab_node, lab_argv);
      }
      return 0;
    }
    if (*server_cmd)
      return dvr::server::runServer(server_opts);
    if (*key_cmd) {
      std::string why;
      auto secret = dvr::server::readAgentSecret(key_secret, why);
      if (!secret)
        throw dvr::InputError("dvr agent-key", {{"--secret-file", why, 0}});
      std::cout << dvr::server::agentKey(*secret, key_host) << "\n";
      return 0;
    }
    if (*macs_cmd)
      return hostMacs(macs_url, credentials);
    if (*status_cmd) {
      int rc = dvr::cli::status(macs_url, dvr::cli::credentialHeaders(credentials));
      // The fast path's per-program counters live in this host's kernel, not in the
      // server: shown for the host `dvr status` runs on, when its programs are pinned.
      auto c = dvr::kernel::readFastPathCounters();
      if (!c.empty())
        std::cout << "\nfast path on this host (" << dvr::kernel::kFastPathPinDir << "):\n"
                  << dvr::kernel::renderFastPathCounters(c);
      return rc;
    }
    if (*agent_cmd) {
      if (agent_server.url.empty() && file.empty()) {
        throw dvr::InputError("dvr agent",
                              {{"options", "give --topology FILE or --server URL", 0}});
      }
      std::unique_ptr<dvr::agent::CloudSource> source;
      if (!agent_server.url.empty()) {
        if (agent_server.tunnel_ip.empty())
          throw dvr::InputError("dvr agent", {{"--tunnel-ip", "required with --server", 0}});
        agent_server.host = agent_opts.host;
        if (!agent_key_file.empty()) {
          std::string why;
          auto key = dvr::server::readAgentKey(agent_key_file, why);
          if (!key)
            throw dvr::InputError("dvr agent", {{"--agent-key-file", why, 0}});
          agent_server.agent_key = *key;
        }
        for (const auto& u : uplinks) {
          auto eq = u.find('=');
          if (eq == std::string::npos)
            throw dvr::InputError("dvr agent", {{"--uplink " + u, "expected NETWORK=DEVICE", 0}});
          agent_server.uplinks[u.substr(0, eq)] = u.substr(eq + 1);
        }
        source = dvr::agent::serverSource(agent_server);
      } else {
        source = dvr::agent::topologyFileSource(file);
      }
      return dvr::agent::runAgent(agent_opts, *source);
    }
    if (*trace_cmd) {
      req.proto = proto == "tcp"   ? dvr::trace::Proto::Tcp
                  : proto == "udp" ? dvr::trace::Proto::Udp
                                   : dvr::trace::Proto::Icmp;
      req.with_reply = !no_reply;
      return trace(file, picture_server, req, json, pictures, datapath, credentials);
    }
    if (*draw_cmd)
      return draw(file, picture_server, host, pictures, credentials);
  } catch (const dvr::InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 1;
}
