// SQLite (WAL) through SQLiteCpp. BEGIN IMMEDIATE takes the write lock up front, so two
// servers or threads never allocate from the same state.
#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "store/store.h"

namespace dvr::store {
namespace {

class SqliteTransaction : public Transaction {
 public:
  explicit SqliteTransaction(SQLite::Database& db) : db_(db) {}
  Snapshot read() override {
    Snapshot s;
    s.revision = revision();
    SQLite::Statement q(db_, "SELECT key, body FROM resources ORDER BY seq");
    while (q.executeStep())
      s.rows.push_back({q.getColumn(0).getString(), q.getColumn(1).getString()});
    return s;
  }
  uint64_t revision() override {
    SQLite::Statement q(db_, "SELECT value FROM revision WHERE id = 1");
    return q.executeStep() ? uint64_t(q.getColumn(0).getInt64()) : 0;
  }
  void write(const std::vector<RowChange>& changes) override {
    // The upsert keeps an updated row's seq: its place in the order.
    SQLite::Statement put(db_,
                          "INSERT INTO resources (key, body) VALUES (?, ?)"
                          " ON CONFLICT (key) DO UPDATE SET body = excluded.body");
    SQLite::Statement del(db_, "DELETE FROM resources WHERE key = ?");
    for (const auto& c : changes) {
      SQLite::Statement& q = c.body ? put : del;
      q.reset();
      q.bind(1, c.key);
      if (c.body)
        q.bind(2, *c.body);
      q.exec();
    }
    db_.exec("UPDATE revision SET value = value + 1 WHERE id = 1");
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

// Polls the revision on a connection of its own.
class SqliteWatch : public Watch {
 public:
  SqliteWatch(const std::string& path, std::function<void()> changed)
      : db_(path, SQLite::OPEN_READONLY), changed_(std::move(changed)) {
    db_.setBusyTimeout(1000);
    thread_ = std::thread([this] { run(); });
  }
  ~SqliteWatch() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void run() {
    int64_t seen = -1;
    std::unique_lock<std::mutex> lock(mu_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stop_; })) {
      try {
        SQLite::Statement q(db_, "SELECT value FROM revision WHERE id = 1");
        int64_t now = q.executeStep() ? q.getColumn(0).getInt64() : 0;
        if (seen >= 0 && now != seen)
          changed_();
        seen = now;
      } catch (const std::exception&) {
        // busy or not yet created: the next round sees it
      }
    }
  }
  SQLite::Database db_;
  std::function<void()> changed_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

class SqliteStore : public Store {
 public:
  explicit SqliteStore(const std::string& path)
      : path_(path),
        db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX) {
    db_.setBusyTimeout(10000);
    migrate();  // first: a database this build refuses is left exactly as it was
    db_.exec("PRAGMA journal_mode=WAL");
    db_.exec("PRAGMA synchronous=NORMAL");
  }

  void transact(const std::function<void(Transaction&)>& fn) override {
    std::lock_guard<std::mutex> lock(mu_);  // one connection: one transaction at a time
    inTransaction("BEGIN IMMEDIATE", [&] {
      SqliteTransaction tx(db_);
      fn(tx);
    });
  }

  Snapshot read() override {
    std::lock_guard<std::mutex> lock(mu_);
    Snapshot s;
    inTransaction("BEGIN", [&] {  // rows and revision from one snapshot
      SqliteTransaction tx(db_);
      s = tx.read();
    });
    return s;
  }
  uint64_t revision() override {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      SqliteTransaction tx(db_);
      return tx.revision();
    } catch (const SQLite::Exception& e) {
      throw failure(e);
    }
  }
  std::unique_ptr<Watch> watch(std::function<void()> changed) override {
    return std::make_unique<SqliteWatch>(path_, std::move(changed));
  }

 private:
  // Creates the tables of an empty database, records the version of one from before
  // versions were recorded, or refuses one of a newer layout; all in one transaction.
  void migrate() {
    db_.exec("BEGIN IMMEDIATE");
    try {
      db_.exec(
          "CREATE TABLE IF NOT EXISTS dvr_schema (id INTEGER PRIMARY KEY CHECK (id = 1),"
          " version INTEGER NOT NULL)");
      SQLite::Statement q(db_, "SELECT version FROM dvr_schema WHERE id = 1");
      long version = q.executeStep() ? long(q.getColumn(0).getInt64()) : 0;
      q.reset();
      if (version > kSchemaVersion)
        throw std::runtime_error(newerSchemaMessage("sqlite:" + path_, version));
      // Version 1: the layout the builds before versions had (0 here: none recorded).
      db_.exec(
          "CREATE TABLE IF NOT EXISTS revision (id INTEGER PRIMARY KEY CHECK (id = 1),"
          " value INTEGER NOT NULL);"
          "INSERT OR IGNORE INTO revision (id, value) VALUES (1, 0);"
          "CREATE TABLE IF NOT EXISTS resources (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
          " key TEXT UNIQUE NOT NULL, body TEXT NOT NULL);"
          "CREATE TABLE IF NOT EXISTS dvr_host_macs (host VARCHAR(255) PRIMARY KEY,"
          " mac_address VARCHAR(32) UNIQUE NOT NULL);");
      // Later layouts migrate here, one step per version, before the version is set.
      db_.exec("INSERT INTO dvr_schema (id, version) VALUES (1, " + std::to_string(kSchemaVersion) +
               ") ON CONFLICT (id) DO UPDATE SET version = excluded.version");
      db_.exec("COMMIT");
    } catch (...) {
      rollbackIfOpen();
      throw;
    }
  }
  // SQLite's message ("database or disk is full", "disk I/O error") with its extended
  // code, which tells a failed write from a failed read or fsync.
  StoreError failure(const SQLite::Exception& e) {
    std::string cause = e.what();
    if (e.getExtendedErrorCode() != e.getErrorCode())
      cause += " (SQLite extended code " + std::to_string(e.getExtendedErrorCode()) + ")";
    return StoreError("SQLite " + path_ + ": " + cause);
  }
  // Runs `fn` between `begin` and COMMIT. On any failure the transaction is rolled back
  // if it is still open (SQLite ends it by itself on a full disk, and a ROLLBACK then
  // would hide the cause), and SQLite's own errors become StoreError naming the cause.
  void inTransaction(const char* begin, const std::function<void()>& fn) {
    try {
      db_.exec(begin);
      fn();
      db_.exec("COMMIT");
    } catch (const SQLite::Exception& e) {
      StoreError cause = failure(e);  // before the rollback overwrites the OS's error
      rollbackIfOpen();
      throw cause;
    } catch (...) {
      rollbackIfOpen();
      throw;
    }
  }
  void rollbackIfOpen() {
    if (sqlite3_get_autocommit(db_.getHandle()))
      return;
    try {
      db_.exec("ROLLBACK");
    } catch (const SQLite::Exception&) {
      // the cause already being reported is the one that matters
    }
  }
  std::string path_;
  std::mutex mu_;
  SQLite::Database db_;
};

}  // namespace

std::unique_ptr<Store> openSqliteStore(const std::string& path) {
  return std::make_unique<SqliteStore>(path);
}

}  // namespace dvr::store
