// Helpers for the root tests that run the seed's cloud with `dvr lab`: run commands in
// lab nodes, capture with tcpdump, rewrite the topology. Each test brings the lab up in
// SetUp and down in TearDown (also after a failure); a lab left by a crashed run is
// removed first.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace dvr::testing {

inline const std::string kDvr = DVR_BINARY;
inline const std::string kSeed = std::string(DVR_SOURCE_DIR) + "/examples/seed.yaml";

struct Result {
  int rc = -1;
  std::string out;
};

// Runs a shell command; stdout and stderr together.
inline Result sh(const std::string& cmd) {
  Result r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p)
    return r;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
    r.out.append(buf, n);
  int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline Result inLab(const std::string& node, const std::string& cmd) {
  return sh(kDvr + " lab exec " + node + " -- " + cmd);
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A shell command running in the background, in its own process group; stop() ends it
// and returns its output.
class Background {
 public:
  explicit Background(const std::string& cmd) {
    path_ = "/tmp/dvr-bg-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      int out = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = ::open((path_ + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(err, 2);
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
      _exit(127);
    }
  }
  ~Background() { stop(); }
  std::string errors() const { return slurp(path_ + ".err"); }
  // Waits up to `ms` for the command to end by itself, then ends it; returns stdout.
  std::string stop(int ms = 0) {
    if (pid_ > 0) {
      for (int waited = 0; waited < ms && ::waitpid(pid_, nullptr, WNOHANG) == 0; waited += 10) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      ::kill(-pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
      text_ = slurp(path_);
      ::unlink(path_.c_str());
      ::unlink((path_ + ".err").c_str());
    }
    return text_;
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  pid_t pid_ = -1;
  std::string path_, text_;
};

// tcpdump -e in a lab node, from construction until stop().
class Capture {
 public:
  Capture(const std::string& node, const std::string& iface, const std::string& filter)
      : bg_(kDvr + " lab exec " + node + " -- timeout 20 tcpdump -lnnei " + iface + " " + filter) {
    for (int i = 0; i < 300 && bg_.errors().find("listening on") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  std::string stop() {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the last packets land
    return bg_.stop();
  }

 private:
  Background bg_;
};

// Every "src > dst" MAC pair tcpdump -e printed, inner VXLAN frames included.
inline std::vector<std::pair<std::string, std::string>> macPairs(const std::string& capture) {
  static const std::regex re("([0-9a-f]{2}(?::[0-9a-f]{2}){5}) > ([0-9a-f]{2}(?::[0-9a-f]{2}){5})");
  std::vector<std::pair<std::string, std::string>> out;
  for (std::sregex_iterator it(capture.begin(), capture.end(), re), end; it != end; ++it) {
    out.emplace_back((*it)[1], (*it)[2]);
  }
  return out;
}

class LabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root (namespaces)";
    for (const std::string& tool : tools()) {
      if (sh("command -v " + tool).rc != 0)
        GTEST_SKIP() << "needs " << tool << " (scripts/install-deps.sh)";
    }
    sh(kDvr + " lab down");
    auto r = sh(kDvr + " lab up " + upOptions() + topologyFile());
    ASSERT_EQ(r.rc, 0) << r.out;
  }
  // Options of `dvr lab up` before the file, e.g. "--datapath fast ".
  virtual std::string upOptions() const { return ""; }
  // The lab's topology, and the programs it needs beyond the project's own.
  virtual std::string topologyFile() const { return kSeed; }
  virtual std::vector<std::string> tools() const { return {}; }
  void TearDown() override {
    if (::geteuid() == 0)
      sh(kDvr + " lab down");
  }
  // Applies the seed with each (from, to) edit made to its text (the first occurrence).
  Result applySeedWith(const std::vector<std::pair<std::string, std::string>>& edits) {
    std::string text = slurp(kSeed);
    for (const auto& [from, to] : edits) {
      auto at = text.find(from);
      if (at == std::string::npos)  // the seed changed under the test: say so, apply nothing
        return {-1, "the seed has no '" + from + "' to edit"};
      text.replace(at, from.size(), to);
    }
    std::string path = "/tmp/dvr-topology-" + std::to_string(::getpid()) + ".yaml";
    std::ofstream(path) << text;
    auto r = sh(kDvr + " lab apply " + path);
    ::unlink(path.c_str());
    return r;
  }
  Result applySeedWith(const std::string& replace_from, const std::string& replace_to) {
    return applySeedWith({{replace_from, replace_to}});
  }
  Result applySeed() { return sh(kDvr + " lab apply " + kSeed); }
  // Waits until `node` can ping `ip` (after a change the agents are applying).
  bool waitPing(const std::string& node, const std::string& ip, int tries = 50) {
    for (int i = 0; i < tries; ++i) {
      if (inLab(node, "ping -c 1 -W 1 " + ip).rc == 0)
        return true;
    }
    return false;
  }
};

}  // namespace dvr::testing
