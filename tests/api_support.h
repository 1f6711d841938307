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
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

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

// A fresh database for one server: a SQLite file, or a PostgreSQL database of its own
// (created with createdb, dropped with dropdb; needs scripts/start-postgres.sh).
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& backend) : backend_(backend) {
    std::string tag = std::to_string(::getpid()) + "_" + std::to_string(counter()++);
    if (backend == "postgresql") {
      name_ = "dvrtest_" + tag;
      ok_ = std::getenv("DVR_TEST_PG") && sh("createdb " + name_).rc == 0;
      url_ = "postgresql:///" + name_ + "?host=/var/run/postgresql";
    } else {
      name_ = "/tmp/dvr-api-test-" + tag + ".db";
      url_ = "sqlite:" + name_;
      ok_ = true;
    }
  }
  ~TestDatabase() {
    if (backend_ == "postgresql") {
      if (ok_)
        sh("dropdb --force " + name_);
    } else {
      for (const char* suffix : {"", "-wal", "-shm"})
        ::unlink((name_ + suffix).c_str());
    }
  }
  bool ok() const { return ok_; }
  const std::string& url() const { return url_; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string backend_, name_, url_;
  bool ok_ = false;
};

class ServerProcess {
 public:
  // Starts nothing when `db_url` is empty (a skipped back end). `extra` are more
  // `dvr server` options; `in_child` runs in the server's process before it starts (to
  // set a resource limit, say); with `log`, the server's stderr goes to that file.
  explicit ServerProcess(const std::string& db_url, std::vector<std::string> extra = {},
                         std::function<void()> in_child = nullptr, std::string log = "")
      : port_(freePort()) {
    if (db_url.empty())
      return;
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string bind = "127.0.0.1:" + std::to_string(port_);
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      if (!log.empty())
        ::dup2(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
      if (in_child)
        in_child();
      std::vector<std::string> args{"dvr", "server", "--bind", bind, "--db", db_url};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(kDvr.c_str(), argv.data());
      _exit(127);
    }
    httplib::Client c(url());
    for (int i = 0; i < 300 && !c.Get("/"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~ServerProcess() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Whether the server process is still running (it has not crashed).
  bool alive() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  // The real client, without Keystone (../shared/reference/openstack-client.md).
  Result openstack(const std::string& args) const {
    return sh(
        "env -u OS_CLOUD -u OS_AUTH_URL -u OS_TOKEN NO_PROXY=127.0.0.1 openstack --os-auth-type "
        "none --os-endpoint " +
        url() + " " + args);
  }

 private:
  int port_;
  pid_t pid_ = -1;
};

}  // namespace dvr::testing
