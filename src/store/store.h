// Where the API server keeps the cloud: one document (the pinned topology and the
// Neutron attributes dvr does not model) with a revision, plus the dvr_host_macs table.
// Every API call runs in one transaction; writers are serialized by the database, so
// allocations cannot collide and a failed call leaves nothing behind.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace dvr::store {

struct Snapshot {
  uint64_t revision = 0;
  std::string document;  // JSON; "" before the first write
};

class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual Snapshot read() = 0;
  virtual uint64_t revision() = 0;  // without the document: lets the server use its cache
  virtual void write(const std::string& document) = 0;  // bumps the revision
  virtual std::map<std::string, std::string> hostMacs() = 0;
  virtual void setHostMac(const std::string& host, const std::string& mac) = 0;  // UNIQUE mac
};

class Store {
 public:
  virtual ~Store() = default;
  // Runs `fn` in one transaction: committed if it returns, rolled back if it throws.
  virtual void transact(const std::function<void(Transaction&)>& fn) = 0;
  virtual Snapshot read() = 0;  // a consistent read without taking the writer's lock
  virtual uint64_t revision() = 0;
};

// "sqlite:PATH" (default "sqlite:dvr.db") or "postgresql://…". Throws naming what failed.
std::unique_ptr<Store> openStore(const std::string& url);

}  // namespace dvr::store
