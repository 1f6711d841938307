// A `dvr server` process on a free loopback port with a fresh SQLite file, for tests
// that drive it with HTTP and with Debian's `openstack` CLI. Removed in the destructor.
#pragma once

#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "lab_support.h"

namespace dvr::testing {

inline int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class ServerProcess {
 public:
  ServerProcess()
      : port_(freePort()), db_("/tmp/dvr-api-test-" + std::to_string(::getpid()) + ".db") {
    cleanup();
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string bind = "127.0.0.1:" + std::to_string(port_);
      std::string db = "sqlite:" + db_;
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::execl(kDvr.c_str(), "dvr", "server", "--bind", bind.c_str(), "--db", db.c_str(), nullptr);
      _exit(127);
    }
    httplib::Client c(url());
    for (int i = 0; i < 200 && !c.Get("/"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~ServerProcess() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    cleanup();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The real client, without Keystone (../shared/reference/openstack-client.md).
  Result openstack(const std::string& args) const {
    return sh(
        "env -u OS_CLOUD -u OS_AUTH_URL -u OS_TOKEN NO_PROXY=127.0.0.1 openstack --os-auth-type "
        "none --os-endpoint " +
        url() + " " + args);
  }

 private:
  void cleanup() {
    for (const char* suffix : {"", "-wal", "-shm"})
      ::unlink((db_ + suffix).c_str());
  }
  int port_;
  std::string db_;
  pid_t pid_ = -1;
};

}  // namespace dvr::testing
