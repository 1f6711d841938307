// The HTTP/1.1 side of `dvr server`, on Boost.Beast over one Asio event loop.
//
// The loop thread only moves bytes: it accepts, reads requests, writes answers and
// keeps the timers. Requests run on a small pool of worker threads (they take the
// database's time); an agent's long-poll holds no thread at all while it waits: it is a
// parked entry woken by the API's change listener or by its deadline timer. So a
// thousand agents waiting cost a thousand sockets and timers, and the API's workers stay
// free for the `openstack` CLI. A slow or idle client costs a socket until its read
// timeout; past the connection limit a new client is answered 503 at once.
#include "server/http_server.h"

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/resource.h>
#include <array>
#include <atomic>
#include <iostream>
#include <list>
#include <map>
#include <mutex>

#include "observe/metrics.h"
#include "server/api_error.h"
#include "server/authenticator.h"
#include "server/neutron_api.h"
#include "store/store.h"

namespace dvr::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string errorJson(int status, const char* type, const std::string& message) {
  return errorText(ApiError(status, type, message));
}

int hexValue(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// %XX (and, in a query, '+') decoded, as httplib did before.
std::string decode(std::string_view text, bool query) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hexValue(text[i + 1]) >= 0 &&
        hexValue(text[i + 2]) >= 0) {
      out += char(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2]));
      i += 2;
    } else if (query && text[i] == '+') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

ApiRequest toRequest(const http::request<http::string_body>& req) {
  ApiRequest r;
  r.method = std::string(req.method_string().data(), req.method_string().size());
  std::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  r.path = decode(target.substr(0, q), false);
  if (q != std::string_view::npos) {
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
      size_t amp = rest.find('&');
      std::string_view pair = rest.substr(0, amp);
      size_t eq = pair.find('=');
      if (!pair.empty())
        r.query.emplace(decode(pair.substr(0, eq), true),
                        eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1), true));
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    }
  }
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (char& c : name)
      c = char(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(field.value());
  }
  r.body = req.body();
  r.context = noauthContext(r);
  return r;
}

// A path as a metric label: ids become "{id}", so that routes, not resources, are counted.
std::string routeOf(const std::string& path) {
  static const char* kKnown[] = {"/",
                                 "/v2.0",
                                 "/v2.0/extensions",
                                 "/dvr/v1/topology",
                                 "/dvr/v1/host-macs",
                                 "/dvr/v1/agents",
                                 "/metrics"};
  for (const char* k : kKnown) {
    if (path == k)
      return path;
  }
  std::vector<std::string> parts;
  for (size_t at = 1; at <= path.size();) {
    size_t end = path.find('/', at);
    if (end == std::string::npos)
      end = path.size();
    parts.push_back(path.substr(at, end - at));
    at = end + 1;
  }
  if (parts.size() >= 2 && parts.size() <= 4 && parts[0] == "v2.0") {
    std::string collection = parts[1];
    if (collection.size() > 5 && collection.ends_with(".json"))
      collection.resize(collection.size() - 5);
    static const char* kCollections[] = {"networks",    "subnets",         "ports",
                                         "routers",     "floatingips",     "agents",
                                         "extensions",  "security-groups", "security-group-rules",
                                         "subnetpools", "quotas"};
    for (const char* c : kCollections) {
      if (collection == c) {
        std::string out = "/v2.0/" + collection;
        if (parts.size() >= 3)
          out += "/{id}";
        if (parts.size() == 4)
          out += "/" + (parts[3].size() <= 32 ? parts[3] : std::string("{action}"));
        return out;
      }
    }
  }
  if (parts.size() == 4 && parts[0] == "dvr" && parts[1] == "v1" && parts[2] == "agents")
    return "/dvr/v1/agents/{host}";
  return "other";
}

class Session;

// What every connection shares: the API, the worker pool, the parked long-polls.
struct Hub {
  Hub(NeutronApi& a, Authenticator& au, const ApiLimits& l, asio::io_context& io)
      : api(a), auth(au), limits(l), ioc(io), pool(size_t(l.worker_threads)) {}
  NeutronApi& api;
  Authenticator& auth;  // on the workers: it may wait for Keystone
  ApiLimits limits;
  asio::io_context& ioc;
  asio::thread_pool pool;
  std::shared_ptr<std::atomic<int>> connections = std::make_shared<std::atomic<int>>(0);
  observe::Registry metrics;

  // GET /metrics: requests by method, route and status, their latency, what waits.
  std::string exposition() {
    size_t parked = 0;
    {
      std::lock_guard<std::mutex> lock(waiters_mu);
      parked = waiters.size();
    }
    metrics.gauge("dvr_server_long_polls_waiting", "Agents' long-polls parked on the event loop.")
        .set(double(parked));
    metrics.gauge("dvr_server_connections", "Open client connections.")
        .set(double(connections->load()));
    metrics.gauge("dvr_server_revision", "The state's revision, as this server last saw it.")
        .set(double(api.revisionSeen()));
    metrics
        .gauge("dvr_server_database_errors",
               "Requests refused with 503 because the database failed.")
        .set(double(databaseErrors()));
    return metrics.exposition();
  }
  // One answered request.
  void count(const std::string& method, const std::string& route, int status, double seconds) {
    metrics
        .counter("dvr_server_requests_total", "Requests answered, by method, route and status.",
                 {{"method", method}, {"route", route}, {"status", std::to_string(status)}})
        .inc();
    metrics
        .histogram("dvr_server_request_duration_seconds", "Time to answer, by route.",
                   {{"route", route}})
        .observe(seconds);
  }

  // A parked long-poll. Steps run on the pool, one at a time per poll (`mu`).
  struct Waiter {
    std::shared_ptr<Session> session;
    NeutronApi::TopologyPoll poll;
    bool keep_alive;
    asio::steady_timer timer;
    std::mutex mu;
    bool done = false;
    Waiter(std::shared_ptr<Session> s, NeutronApi::TopologyPoll p, bool k, asio::io_context& io)
        : session(std::move(s)), poll(std::move(p)), keep_alive(k), timer(io) {}
  };
  std::mutex waiters_mu;
  std::list<std::shared_ptr<Waiter>> waiters;
  std::map<std::string, int> waiting_per_host;

  void park(std::shared_ptr<Session> s, NeutronApi::TopologyPoll poll, bool keep_alive);
  void step(const std::shared_ptr<Waiter>& w, bool final);
  void changed();
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Hub& hub)
      : stream_(std::move(socket)), hub_(hub), connections_(hub.connections) {}
  ~Session() { connections_->fetch_sub(1); }

  void start() { readRequest(); }

  // From any thread: the answer goes out on the loop.
  void reply(ApiResponse answer, bool keep_alive) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), answer = std::move(answer),
                                        keep_alive] { self->write(answer, keep_alive); });
  }

 private:
  void readRequest() {
    parser_.emplace();
    parser_->body_limit(hub_.limits.max_body_bytes);
    parser_->header_limit(64 * 1024);
    // The whole request (or, between requests, the idle keep-alive) within the timeout:
    // a client trickling bytes is cut off then, whatever it sends meanwhile.
    stream_.expires_after(std::chrono::seconds(hub_.limits.request_timeout_s));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      lingering_ = true;
      write({413, errorJson(413, "HTTPRequestEntityTooLarge", "Request body too large")}, false);
      return;
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      close();
      return;
    }
    if (ec) {
      write({400, errorJson(400, "HTTPBadRequest", "Malformed request: " + ec.message())}, false);
      return;
    }
    stream_.expires_never();
    http::request<http::string_body> req = parser_->release();
    bool keep_alive = req.keep_alive();
    ApiRequest r = toRequest(req);
    method_ = r.method;
    route_ = routeOf(r.path);
    started_ = std::chrono::steady_clock::now();
    if (r.method == "GET" && r.path == "/metrics") {
      asio::post(hub_.pool,
                 [self = shared_from_this(), r = std::move(r), keep_alive, &hub = hub_]() mutable {
                   if (auto refused = hub.auth.admit(r))  // may ask Keystone: on the pool
                     return self->reply(*refused, keep_alive);
                   ApiResponse m{200, hub.exposition()};
                   m.content_type = "text/plain; version=0.0.4";
                   self->reply(m, keep_alive);
                 });
      return;
    }
    if (r.method == "GET" && r.path == "/dvr/v1/topology") {
      asio::post(hub_.pool,
                 [self = shared_from_this(), r = std::move(r), keep_alive, &hub = hub_]() mutable {
                   if (auto refused = hub.auth.admit(r))
                     return self->reply(*refused, keep_alive);
                   NeutronApi::TopologyPoll poll;
                   if (auto refused = hub.api.parseTopologyQuery(r.query, poll))
                     return self->reply(*refused, keep_alive);
                   if (auto now = hub.api.topologyStep(poll, poll.wait_ms == 0))
                     return self->reply(*now, keep_alive);
                   hub.park(self, std::move(poll), keep_alive);
                 });
      return;
    }
    asio::post(hub_.pool,
               [self = shared_from_this(), r = std::move(r), keep_alive, &hub = hub_]() mutable {
                 if (auto refused = hub.auth.admit(r))
                   return self->reply(*refused, keep_alive);
                 self->reply(route(hub.api, r), keep_alive);
               });
  }

  // dvr's agent endpoints first, then the Neutron API for everything else.
  static ApiResponse route(NeutronApi& api, const ApiRequest& r) {
    static const std::string kAgents = "/dvr/v1/agents/";
    if (r.method == "PUT" && r.path.rfind(kAgents, 0) == 0 && r.path.size() > kAgents.size() &&
        r.path.find('/', kAgents.size()) == std::string::npos)
      return api.registerAgent(r.path.substr(kAgents.size()), r.body);
    if (r.method == "GET" && r.path == "/dvr/v1/host-macs")
      return api.hostMacs();
    if (r.method == "GET" && r.path == "/dvr/v1/agents")
      return api.agentStatus();
    return api.handle(r);
  }

  void write(const ApiResponse& a, bool keep_alive) {
    if (!method_.empty()) {
      hub_.count(
          method_, route_, a.status,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
      method_.clear();
    }
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(a.status), 11);
    if (!a.body.empty()) {
      res->set(http::field::content_type, a.content_type);
      res->body() = a.body;
    }
    for (const auto& [name, value] : a.headers)
      res->set(name, value);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(hub_.limits.request_timeout_s));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !res->keep_alive())
                          return self->close();
                        self->readRequest();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (lingering_)
      return drain();
    stream_.close();
  }
  // After refusing a body still on its way, reads and drops it for a while before
  // closing: closing with unread data would reset the connection, and the client, still
  // sending, would never read the 413.
  void drain() {
    lingering_ = false;
    stream_.expires_after(std::chrono::seconds(5));
    drainSome();
  }
  void drainSome() {
    stream_.async_read_some(asio::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec)
                                return self->stream_.close();
                              self->drainSome();
                            });
  }
  bool lingering_ = false;
  std::array<char, 16384> scratch_;
  std::string method_, route_;  // of the request being answered, for its count
  std::chrono::steady_clock::time_point started_;

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Hub& hub_;
  std::shared_ptr<std::atomic<int>> connections_;
};

void Hub::park(std::shared_ptr<Session> s, NeutronApi::TopologyPoll poll, bool keep_alive) {
  auto w = std::make_shared<Waiter>(std::move(s), std::move(poll), keep_alive, ioc);
  std::shared_ptr<Waiter> oldest;
  {
    std::lock_guard<std::mutex> lock(waiters_mu);
    // An agent waits once; one that reconnected (its old connection not yet seen to be
    // gone) gets its older polls answered, so they cannot pile up.
    if (++waiting_per_host[w->poll.host] > limits.max_waits_per_host) {
      for (const auto& x : waiters) {
        if (x->poll.host == w->poll.host) {
          oldest = x;
          break;
        }
      }
    }
    waiters.push_back(w);
  }
  if (oldest)
    asio::post(pool, [this, oldest] { step(oldest, true); });
  // The timer is only touched on the loop (set here, cancelled by step through the
  // loop too, in that order).
  asio::post(ioc, [this, w] {
    w->timer.expires_after(std::chrono::milliseconds(w->poll.wait_ms));
    w->timer.async_wait([this, w](beast::error_code ec) {
      if (!ec)
        asio::post(pool, [this, w] { step(w, true); });
    });
  });
  // A change between the first look and parking would otherwise be missed.
  asio::post(pool, [this, w] { step(w, false); });
}

void Hub::step(const std::shared_ptr<Waiter>& w, bool final) {
  std::lock_guard<std::mutex> one_at_a_time(w->mu);
  if (w->done)
    return;
  std::optional<ApiResponse> answer = api.topologyStep(w->poll, final);
  if (!answer)
    return;
  w->done = true;
  {
    std::lock_guard<std::mutex> lock(waiters_mu);
    waiters.remove(w);
    if (--waiting_per_host[w->poll.host] <= 0)
      waiting_per_host.erase(w->poll.host);
  }
  asio::post(ioc, [w] { w->timer.cancel(); });
  w->session->reply(std::move(*answer), w->keep_alive);
}

void Hub::changed() {
  std::vector<std::shared_ptr<Waiter>> all;
  {
    std::lock_guard<std::mutex> lock(waiters_mu);
    all.assign(waiters.begin(), waiters.end());
  }
  for (auto& w : all)
    asio::post(pool, [this, w] { step(w, false); });
}

// Accepts until stopped; past the connection limit a client gets 503 and is closed.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& ioc, tcp::acceptor acceptor, Hub& hub)
      : ioc_(ioc), acceptor_(std::move(acceptor)), hub_(hub) {}
  void accept() {
    acceptor_.async_accept(ioc_,
                           [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                             if (ec == asio::error::operation_aborted)
                               return;
                             if (!ec)
                               self->admit(std::move(socket));
                             self->accept();
                           });
  }

 private:
  void admit(tcp::socket socket) {
    socket.set_option(tcp::no_delay(true));  // no Nagle wait on small answers
    if (hub_.connections->fetch_add(1) >= hub_.limits.max_connections) {
      hub_.connections->fetch_sub(1);
      static const std::string busy = [] {
        std::string body =
            errorJson(503, "ServiceUnavailable", "Too many connections; retry later.");
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
               "Connection: close\r\nRetry-After: 1\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
      }();
      auto s = std::make_shared<tcp::socket>(std::move(socket));
      asio::async_write(*s, asio::buffer(busy), [s](beast::error_code, size_t) {
        beast::error_code ignored;
        s->shutdown(tcp::socket::shutdown_send, ignored);
      });
      return;
    }
    std::make_shared<Session>(std::move(socket), hub_)->start();
  }
  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  Hub& hub_;
};

}  // namespace

int runServer(const ServerOptions& options) {
  auto colon = options.bind.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "error: --bind " << options.bind << ": expected HOST:PORT\n";
    return 2;
  }
  std::string host = options.bind.substr(0, colon);
  int port = std::stoi(options.bind.substr(colon + 1));
  std::string why;
  std::unique_ptr<Authenticator> auth = Authenticator::make(options.auth, why);
  if (!auth) {
    std::cerr << "error: " << why << "\n";
    return 2;
  }
  std::unique_ptr<store::Store> store = store::openStore(options.db);
  NeutronApi api(*store, options.agent_down_time);
  api.setLimits(options.limits);
  api.setL3Ha(options.l3_ha);

  // Every connection is a descriptor: make room for the connection limit, or lower it
  // to what the process may open (and say so).
  ApiLimits limits = options.limits;
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
    rlim_t want = rlim_t(limits.max_connections) + 64;
    if (files.rlim_cur < want) {
      files.rlim_cur = std::min(want, files.rlim_max);
      ::setrlimit(RLIMIT_NOFILE, &files);
    }
    if (files.rlim_cur < want) {
      limits.max_connections = int(files.rlim_cur) - 64;
      std::cerr << "dvr server: the file limit allows " << limits.max_connections
                << " connections (--max-connections " << options.limits.max_connections << ")"
                << std::endl;
    }
  }

  asio::io_context ioc(1);
  tcp::acceptor acceptor(ioc);
  try {
    tcp::endpoint at(asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host),
                     static_cast<unsigned short>(port));
    acceptor.open(at.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(at);
    acceptor.listen(options.limits.listen_backlog);
  } catch (const std::exception& e) {
    std::cerr << "error: cannot listen on " << options.bind << ": " << e.what() << "\n";
    return 1;
  }
  int bound = acceptor.local_endpoint().port();
  Hub hub(api, *auth, limits, ioc);
  api.setChangeListener([&hub] { hub.changed(); });
  std::make_shared<Listener>(ioc, std::move(acceptor), hub)->accept();

  asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](beast::error_code, int) { ioc.stop(); });
  std::cout << "dvr server listening on " << host << ":" << bound << " (" << options.db << ", auth "
            << options.auth.mode << ")" << std::endl;
  for (const std::string& w : auth->startupWarnings(host)) {
    std::cerr << "dvr server: " << w << std::endl;
  }
  ioc.run();
  api.setChangeListener(nullptr);
  hub.pool.stop();
  hub.pool.join();
  return 0;
}

}  // namespace dvr::server
