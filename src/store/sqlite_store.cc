// SQLite (WAL) through SQLiteCpp. BEGIN IMMEDIATE takes the write lock up front, so two
// servers or threads never allocate from the same state.
#include <SQLiteCpp/SQLiteCpp.h>

#include <mutex>
#include <stdexcept>

#include "store/store.h"

namespace dvr::store {
namespace {

class SqliteTransaction : public Transaction {
 public:
  explicit SqliteTransaction(SQLite::Database& db) : db_(db) {}
  Snapshot read() override {
    SQLite::Statement q(db_, "SELECT revision, document FROM state WHERE id = 1");
    if (!q.executeStep())
      return {};
    return {uint64_t(q.getColumn(0).getInt64()), q.getColumn(1).getString()};
  }
  uint64_t revision() override {
    SQLite::Statement q(db_, "SELECT revision FROM state WHERE id = 1");
    return q.executeStep() ? uint64_t(q.getColumn(0).getInt64()) : 0;
  }
  void write(const std::string& document) override {
    SQLite::Statement q(db_, "UPDATE state SET revision = revision + 1, document = ? WHERE id = 1");
    q.bind(1, document);
    q.exec();
  }
  std::map<std::string, std::string> hostMacs() override {
    std::map<std::string, std::string> out;
    SQLite::Statement q(db_, "SELECT host, mac_address FROM dvr_host_macs");
    while (q.executeStep())
      out[q.getColumn(0).getString()] = q.getColumn(1).getString();
    return out;
  }
  void setHostMac(const std::string& host, const std::string& mac) override {
    SQLite::Statement q(db_, "INSERT INTO dvr_host_macs (host, mac_address) VALUES (?, ?)");
    q.bind(1, host);
    q.bind(2, mac);
    q.exec();
  }

 private:
  SQLite::Database& db_;
};

class SqliteStore : public Store {
 public:
  explicit SqliteStore(const std::string& path)
      : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX) {
    db_.exec("PRAGMA journal_mode=WAL");
    db_.exec("PRAGMA synchronous=NORMAL");
    db_.setBusyTimeout(10000);
    db_.exec(
        "CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER "
        "NOT NULL,"
        " document TEXT NOT NULL);"
        "INSERT OR IGNORE INTO state (id, revision, document) VALUES (1, 0, '');"
        "CREATE TABLE IF NOT EXISTS dvr_host_macs (host VARCHAR(255) PRIMARY KEY,"
        " mac_address VARCHAR(32) UNIQUE NOT NULL);");
  }

  void transact(const std::function<void(Transaction&)>& fn) override {
    std::lock_guard<std::mutex> lock(mu_);  // one connection: one transaction at a time
    db_.exec("BEGIN IMMEDIATE");
    try {
      SqliteTransaction tx(db_);
      fn(tx);
      db_.exec("COMMIT");
    } catch (...) {
      db_.exec("ROLLBACK");
      throw;
    }
  }

  Snapshot read() override {
    std::lock_guard<std::mutex> lock(mu_);
    SqliteTransaction tx(db_);
    return tx.read();
  }
  uint64_t revision() override {
    std::lock_guard<std::mutex> lock(mu_);
    SqliteTransaction tx(db_);
    return tx.revision();
  }

 private:
  std::mutex mu_;
  SQLite::Database db_;
};

}  // namespace

std::unique_ptr<Store> openSqliteStore(const std::string& path) {
  return std::make_unique<SqliteStore>(path);
}

}  // namespace dvr::store
