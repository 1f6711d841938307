// One error type for bad input: every problem names the object, what is wrong, and
// where (file and line) when the input came from a file. A problem also says what kind it
// is, so that a caller can answer by kind (the API: Neutron's status and error type)
// without reading the message.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace dvr {

enum class ProblemKind {
  Invalid,             // any other wrong input
  IpInUse,             // a fixed IP another port holds
  MacInUse,            // a MAC another port holds
  PoolExhausted,       // no address left in a subnet's allocation pools or a link-local pool
  OutsideSubnet,       // an address outside the subnet (or every subnet) it must be in
  NotExternalNetwork,  // a floating IP on a network that is not external
  NoExternalGateway,   // a floating IP's port has no router with a gateway on its network
  PortHasFloatingIp,   // a port given a second floating IP on the same network
  PortHasNoIp,         // a floating IP for a port that has no fixed IP
};

struct Problem {
  std::string object;   // e.g. "port 'vm1'"
  std::string message;  // e.g. "fixed IP 10.17.0.3 is outside subnet 'sub1' (10.16.0.0/24)"
  int line = 0;         // 1-based line in the source file; 0 when unknown
  ProblemKind kind = ProblemKind::Invalid;
};

// Thrown when input is rejected. Nothing is produced from input that raised it.
class InputError : public std::runtime_error {
 public:
  InputError(std::string source, std::vector<Problem> problems);
  const std::vector<Problem>& problems() const { return problems_; }
  const std::string& source() const { return source_; }

 private:
  static std::string render(const std::string& source, const std::vector<Problem>& problems);
  std::string source_;
  std::vector<Problem> problems_;
};

// Collects problems while checking input; throws them all at once.
class Problems {
 public:
  void add(std::string object, std::string message, int line = 0,
           ProblemKind kind = ProblemKind::Invalid) {
    list_.push_back({std::move(object), std::move(message), line, kind});
  }
  bool empty() const { return list_.empty(); }
  void throwIfAny(const std::string& source) const {
    if (!list_.empty()) {
      throw InputError(source, list_);
    }
  }

 private:
  std::vector<Problem> list_;
};

}  // namespace dvr
