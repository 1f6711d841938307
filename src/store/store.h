// Where the API server keeps the cloud: one row per resource (a network, a port, a
// resource's Neutron attributes, an agent …: a key and a JSON body), a revision, and the
// dvr_host_macs table. A write stores only the rows that changed, so its cost follows
// the change, not the cloud. Every API call runs in one transaction; writers are
// serialized by the database, so allocations cannot collide and a failed call leaves
// nothing behind.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dvr::store {

// A failure of the database itself (disk full, I/O error, lost connection, a lock held
// too long), as opposed to a request it refused: the message names the back end and its
// cause. Every Store and Transaction call throws it for such failures.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Row {
  std::string key, body;
};

struct Snapshot {
  uint64_t revision = 0;
  std::vector<Row> rows;  // in the order they were first written
};

struct RowChange {
  std::string key;
  std::optional<std::string> body;  // nullopt: delete the row
};

class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual Snapshot read() = 0;
  virtual uint64_t revision() = 0;  // without the document: lets the server use its cache
  // Inserts, updates (keeping the row's place in the order) and deletes rows; bumps the
  // revision.
  virtual void write(const std::vector<RowChange>& changes) = 0;
  virtual std::map<std::string, std::string> hostMacs() = 0;
  virtual void setHostMac(const std::string& host, const std::string& mac) = 0;  // UNIQUE mac
};

// A running watch of the store; stops when destroyed.
class Watch {
 public:
  virtual ~Watch() = default;
};

class Store {
 public:
  virtual ~Store() = default;
  // Calls `changed` (from another thread) when another process commits a write: another
  // server over the same database. PostgreSQL: LISTEN/NOTIFY, at once. SQLite: the
  // revision is checked every 100 ms.
  virtual std::unique_ptr<Watch> watch(std::function<void()> changed) = 0;
  // Runs `fn` in one transaction: committed if it returns, rolled back if it throws.
  virtual void transact(const std::function<void(Transaction&)>& fn) = 0;
  virtual Snapshot read() = 0;  // a consistent read without taking the writer's lock
  virtual uint64_t revision() = 0;
};

// The layout of the tables this build reads and writes, recorded in the database's
// dvr_schema table. Opening a database migrates an older layout in place, in one
// transaction, and refuses a newer one, naming both versions and changing nothing.
// Version 1 is the layout of the builds before the version was recorded (revision,
// resources, dvr_host_macs): such a database is version 1 once opened.
inline constexpr int kSchemaVersion = 1;

// The refusal of a database of a newer layout than this build's.
std::string newerSchemaMessage(const std::string& url, long version);

// "sqlite:PATH" (default "sqlite:dvr.db") or "postgresql://…". Throws naming what failed.
std::unique_ptr<Store> openStore(const std::string& url);

}  // namespace dvr::store
