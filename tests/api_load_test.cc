// The server under the clients a cloud brings: slow clients holding connections open,
// and hundreds of agents long-polling at once. What is asserted is that answers arrive
// (not how fast): the API stays usable, and a write wakes exactly the agents it concerns.
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <thread>

#include "api_fixture.h"

namespace dvr {
namespace {

using nlohmann::json;
using testing::Api;

int connectTo(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int portOf(const std::string& url) {
  return std::stoi(url.substr(url.rfind(':') + 1));
}

TEST(ApiLoad, FiveHundredTricklingClientsDoNotBlockOthers) {
  testing::TestDatabase db("sqlite");
  testing::ServerProcess server(db.url(), {"--max-connections", "560"});
  int port = portOf(server.url());
  // 500 clients that send a request one byte at a time.
  std::vector<int> slow;
  for (int i = 0; i < 500; ++i) {
    int fd = connectTo(port);
    ASSERT_GE(fd, 0) << "connection " << i;
    slow.push_back(fd);
  }
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    const std::string request = "GET /v2.0/networks HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    for (size_t byte = 0; !stop; ++byte) {
      for (int fd : slow)
        (void)!::send(fd, &request[std::min(byte, request.size() - 1)], 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  httplib::Client http(server.url());
  http.set_read_timeout(20);
  for (int i = 0; i < 10; ++i) {
    httplib::Result list = http.Get("/v2.0/networks");
    ASSERT_TRUE(list) << "no answer to request " << i << " among 500 slow clients";
    EXPECT_EQ(list->status, 200);
    httplib::Result made =
        http.Post("/v2.0/networks", json{{"network", {{"name", "n" + std::to_string(i)}}}}.dump(),
                  "application/json");
    ASSERT_TRUE(made);
    EXPECT_EQ(made->status, 201) << made->body;
  }
  // Past the connection limit (560: the 500, this client, 59 more) a client is answered
  // 503 at once instead of waiting in the backlog.
  std::vector<pollfd> extra;
  for (int i = 0; i < 100; ++i) {
    int fd = connectTo(port);
    if (fd >= 0)
      extra.push_back({fd, POLLIN, 0});
  }
  int busy = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < until) {
    if (::poll(extra.data(), extra.size(), 200) <= 0)
      continue;
    for (auto& p : extra) {
      if (!(p.revents & POLLIN))
        continue;
      char buf[512] = {};
      ssize_t n = ::recv(p.fd, buf, sizeof buf - 1, 0);
      if (n > 0 && std::string(buf).rfind("HTTP/1.1 503", 0) == 0) {
        EXPECT_NE(std::string(buf).find("\"ServiceUnavailable\""), std::string::npos) << buf;
        ++busy;
      }
      p.events = 0;
      p.revents = 0;
    }
  }
  // 41 exactly, less any of the probe connections the server has not yet seen closed.
  EXPECT_GE(busy, 38);
  EXPECT_LE(busy, 41);
  stop = true;
  trickle.join();
  for (int fd : slow)
    ::close(fd);
  for (auto& p : extra)
    ::close(p.fd);
  EXPECT_TRUE(server.alive());
}

TEST_P(Api, TwoHundredAgentsLongPollWhileTheApiServesAndAWriteWakesOnlyItsHost) {
  Cloud c = basicCloud();
  constexpr int kAgents = 200;
  auto host = [](int i) {
    char name[16];
    std::snprintf(name, sizeof name, "host-%03d", i);
    return std::string(name);
  };
  struct Held {
    std::string digest;
    uint64_t revision;
  };
  std::vector<Held> held;
  for (int i = 0; i < kAgents; ++i) {
    registerAgent(host(i), "dvr",
                  "172.17." + std::to_string(i / 200) + "." + std::to_string(1 + i % 200));
  }
  for (int i = 0; i < kAgents; ++i) {
    json slice = call("GET", "/dvr/v1/topology?since=0&host=" + host(i), "", 200);
    held.push_back({slice["digest"], slice["revision"]});
  }
  // Each agent waits up to 30 s for a slice other than the one it holds.
  std::vector<json> answers(kAgents);
  std::vector<std::atomic<bool>> returned(kAgents);
  std::vector<std::thread> agents;
  for (int i = 0; i < kAgents; ++i) {
    agents.emplace_back([&, i] {
      httplib::Client agent(server.url());
      agent.set_read_timeout(60);
      httplib::Result r = agent.Get("/dvr/v1/topology?since=" + std::to_string(held[i].revision) +
                                    "&wait=30000&host=" + host(i) + "&digest=" + held[i].digest);
      answers[i] = r && r->status == 200 ? json::parse(r->body) : json{{"failed", true}};
      returned[i] = true;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // all of them waiting
  // The API answers meanwhile: the real client's list, and a write.
  testing::Result list = server.openstack("network list -f value -c Name");
  EXPECT_EQ(list.rc, 0) << list.out;
  EXPECT_NE(list.out.find("net1"), std::string::npos);
  std::string port =
      id(call("POST", "/v2.0/ports",
              json{{"port", {{"network_id", c.net}, {"binding:host_id", host(7)}}}}.dump(), 201),
         "port");
  // The write wakes host-007 at once; a second later every other agent still waits.
  agents[7].join();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  int woken = 0;
  for (int i = 0; i < kAgents; ++i)
    woken += i != 7 && returned[i];
  EXPECT_EQ(woken, 0) << "agents whose slice did not change were woken";
  for (int i = 0; i < kAgents; ++i) {
    if (i != 7)
      agents[i].join();
  }
  for (int i = 0; i < kAgents; ++i) {
    ASSERT_FALSE(answers[i].contains("failed")) << host(i) << " got no answer";
    if (i == 7) {
      ASSERT_TRUE(answers[i].contains("topology")) << answers[i].dump();
      bool has_port = false;
      for (const auto& vm : answers[i]["topology"]["vms"])
        has_port = has_port || vm["name"] == port;
      EXPECT_TRUE(has_port);
    } else {
      // Slept through the write (its slice did not change) until its deadline.
      EXPECT_FALSE(answers[i].contains("topology")) << host(i) << ": " << answers[i].dump();
      EXPECT_EQ(answers[i]["digest"], held[i].digest) << host(i);
    }
  }
}

}  // namespace
}  // namespace dvr
