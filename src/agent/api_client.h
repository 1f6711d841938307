// A small client of a dvr server's HTTP API (the Neutron API and the agents' endpoints),
// shared by the agent, `dvr host-macs` and the lab. It keeps its connection between
// requests and waits as long as its caller says. It does not retry: callers that must
// outlive a server restart (the agent) retry themselves.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace httplib {
class Client;
}

namespace dvr::agent {

struct ApiTimeouts {
  std::chrono::seconds connect{2};
  std::chrono::seconds read{30};  // a long-poll's must exceed the wait it asks for
};

struct ApiReply {
  int status = 0;
  std::string body;
};

class ApiClient {
 public:
  ApiClient(std::string url, ApiTimeouts timeouts);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // The server's answer, or nullopt when it could not be reached or did not answer in time.
  std::optional<ApiReply> get(const std::string& path);
  std::optional<ApiReply> post(const std::string& path, const std::string& json);
  std::optional<ApiReply> put(const std::string& path, const std::string& json);
  std::optional<ApiReply> del(const std::string& path);

  const std::string& url() const { return url_; }

  // Sent with every request from now on (an agent's credential headers).
  void setHeaders(const std::map<std::string, std::string>& headers);

 private:
  std::string url_;
  std::unique_ptr<httplib::Client> http_;  // keeps httplib.h out of this header
};

}  // namespace dvr::agent
