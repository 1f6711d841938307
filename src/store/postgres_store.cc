// PostgreSQL through libpq, for several `dvr server`s over one database. Each API call
// is one transaction that locks the revision row (SELECT ... FOR UPDATE), so servers
// take turns allocating and never hand out the same address.
#include <libpq-fe.h>

#include <poll.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "store/store.h"

namespace dvr::store {
namespace {

class Pg {
 public:
  explicit Pg(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string err = PQerrorMessage(conn_);
      PQfinish(conn_);
      throw std::runtime_error("--db " + url + ": " + err);
    }
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);  // "already exists, skipping"
  }
  ~Pg() { PQfinish(conn_); }
  // Runs a statement; returns its result (caller frees) or throws naming it.
  PGresult* exec(const char* sql, std::initializer_list<std::string> params = {}) {
    std::vector<const char*> values;
    for (const auto& p : params)
      values.push_back(p.c_str());
    PGresult* r =
        PQexecParams(conn_, sql, int(values.size()), nullptr, values.data(), nullptr, nullptr, 0);
    auto status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      std::string err = PQresultErrorMessage(r);
      PQclear(r);
      throw StoreError(std::string("PostgreSQL: ") + err);
    }
    return r;
  }
  void run(const char* sql, std::initializer_list<std::string> params = {}) {
    PQclear(exec(sql, params));
  }
  // After a lost connection (a restarted or failed-over database), reconnects, so that
  // one outage is not forever.
  void reconnectIfLost() {
    if (PQstatus(conn_) == CONNECTION_BAD)
      PQreset(conn_);
  }
  // A ROLLBACK that cannot fail over the error being reported (the connection may be gone).
  void rollbackQuietly() {
    if (PQtransactionStatus(conn_) == PQTRANS_IDLE)
      return;
    PQclear(PQexec(conn_, "ROLLBACK"));
  }
  PGconn* conn() { return conn_; }

 private:
  PGconn* conn_;
};

class PgTransaction : public Transaction {
 public:
  explicit PgTransaction(Pg& pg) : pg_(pg) {}
  Snapshot read() override { return readRows(pg_, true); }
  uint64_t revision() override { return readRevision(pg_, true); }
  void write(const std::vector<RowChange>& changes) override {
    for (const auto& c : changes) {
      if (c.body) {
        // The upsert keeps an updated row's seq: its place in the order.
        pg_.run(
            "INSERT INTO resources (key, body) VALUES ($1, $2)"
            " ON CONFLICT (key) DO UPDATE SET body = excluded.body",
            {c.key, *c.body});
      } else {
        pg_.run("DELETE FROM resources WHERE key = $1", {c.key});
      }
    }
    pg_.run("UPDATE revision SET value = value + 1 WHERE id = 1");
    pg_.run("NOTIFY dvr_revision");  // delivered to every listener at commit
  }
  std::map<std::string, std::string> hostMacs() override {
    std::map<std::string, std::string> out;
    PGresult* r = pg_.exec("SELECT host, mac_address FROM dvr_host_macs");
    for (int i = 0; i < PQntuples(r); ++i)
      out[PQgetvalue(r, i, 0)] = PQgetvalue(r, i, 1);
    PQclear(r);
    return out;
  }
  void setHostMac(const std::string& host, const std::string& mac) override {
    pg_.run("INSERT INTO dvr_host_macs (host, mac_address) VALUES ($1, $2)", {host, mac});
  }

  static uint64_t readRevision(Pg& pg, bool lock) {
    PGresult* r = pg.exec(lock ? "SELECT value FROM revision WHERE id = 1 FOR UPDATE"
                               : "SELECT value FROM revision WHERE id = 1");
    uint64_t rev = PQntuples(r) == 1 ? std::stoull(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return rev;
  }
  // Outside a transaction, the two statements run in one so that rows match the revision.
  static Snapshot readRows(Pg& pg, bool lock) {
    if (!lock)
      pg.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    Snapshot s;
    try {
      s.revision = readRevision(pg, lock);
      PGresult* r = pg.exec("SELECT key, body FROM resources ORDER BY seq");
      for (int i = 0; i < PQntuples(r); ++i)
        s.rows.push_back({PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)});
      PQclear(r);
    } catch (...) {
      if (!lock)
        pg.rollbackQuietly();
      throw;
    }
    if (!lock)
      pg.run("COMMIT");
    return s;
  }

 private:
  Pg& pg_;
};

// LISTEN dvr_revision on a connection of its own.
class PgWatch : public Watch {
 public:
  PgWatch(const std::string& url, std::function<void()> changed)
      : pg_(url), changed_(std::move(changed)) {
    pg_.run("LISTEN dvr_revision");
    thread_ = std::thread([this] { run(); });
  }
  ~PgWatch() override {
    stop_ = true;
    thread_.join();
  }

 private:
  void run() {
    pollfd p{PQsocket(pg_.conn()), POLLIN, 0};
    while (!stop_) {
      if (::poll(&p, 1, 200) <= 0)
        continue;  // the timeout only lets the destructor stop the thread
      if (!PQconsumeInput(pg_.conn()))
        return;  // connection lost: waiters fall back on their own timeouts
      bool any = false;
      while (PGnotify* n = PQnotifies(pg_.conn())) {
        any = true;
        PQfreemem(n);
      }
      if (any)
        changed_();
    }
  }
  Pg pg_;
  std::function<void()> changed_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class PostgresStore : public Store {
 public:
  // Creates the tables of an empty database, records the version of one from before
  // versions were recorded, or refuses one of a newer layout; all in one transaction,
  // which an advisory lock keeps from running in two servers starting at once.
  explicit PostgresStore(const std::string& url) : url_(url), pg_(url) {
    pg_.run("BEGIN");
    try {
      pg_.run("SELECT pg_advisory_xact_lock(7369647)");
      pg_.run(
          "CREATE TABLE IF NOT EXISTS dvr_schema (id INTEGER PRIMARY KEY CHECK (id = 1),"
          " version BIGINT NOT NULL)");
      PGresult* r = pg_.exec("SELECT version FROM dvr_schema WHERE id = 1");
      long version = PQntuples(r) == 1 ? std::stol(PQgetvalue(r, 0, 0)) : 0;
      PQclear(r);
      if (version > kSchemaVersion)
        throw std::runtime_error(newerSchemaMessage(url, version));
      // Version 1: the layout the builds before versions had (0 here: none recorded).
      pg_.run(
          "CREATE TABLE IF NOT EXISTS revision (id INTEGER PRIMARY KEY CHECK (id = 1),"
          " value BIGINT NOT NULL)");
      pg_.run("INSERT INTO revision (id, value) VALUES (1, 0) ON CONFLICT (id) DO NOTHING");
      pg_.run(
          "CREATE TABLE IF NOT EXISTS resources (seq BIGSERIAL PRIMARY KEY, key TEXT UNIQUE NOT "
          "NULL, body TEXT NOT NULL)");
      pg_.run(
          "CREATE TABLE IF NOT EXISTS dvr_host_macs (host VARCHAR(255) PRIMARY KEY,"
          " mac_address VARCHAR(32) UNIQUE NOT NULL)");
      // Later layouts migrate here, one step per version, before the version is set.
      pg_.run(
          "INSERT INTO dvr_schema (id, version) VALUES (1, $1)"
          " ON CONFLICT (id) DO UPDATE SET version = excluded.version",
          {std::to_string(kSchemaVersion)});
      pg_.run("COMMIT");
    } catch (...) {
      pg_.rollbackQuietly();
      throw;
    }
  }

  void transact(const std::function<void(Transaction&)>& fn) override {
    std::lock_guard<std::mutex> lock(mu_);  // one connection: one transaction at a time
    pg_.reconnectIfLost();
    pg_.run("BEGIN");
    try {
      PgTransaction tx(pg_);
      fn(tx);
      pg_.run("COMMIT");
    } catch (...) {
      pg_.rollbackQuietly();
      throw;
    }
  }

  Snapshot read() override {
    std::lock_guard<std::mutex> lock(mu_);
    pg_.reconnectIfLost();
    return PgTransaction::readRows(pg_, false);
  }
  uint64_t revision() override {
    std::lock_guard<std::mutex> lock(mu_);
    pg_.reconnectIfLost();
    return PgTransaction::readRevision(pg_, false);
  }
  std::unique_ptr<Watch> watch(std::function<void()> changed) override {
    return std::make_unique<PgWatch>(url_, std::move(changed));
  }

 private:
  std::string url_;
  std::mutex mu_;
  Pg pg_;
};

}  // namespace

std::unique_ptr<Store> openPostgresStore(const std::string& url) {
  return std::make_unique<PostgresStore>(url);
}

}  // namespace dvr::store
