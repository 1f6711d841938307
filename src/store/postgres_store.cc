// PostgreSQL through libpq, for several `dvr server`s over one database. Each API call
// is one transaction that locks the state row (SELECT ... FOR UPDATE), so servers take
// turns allocating and never hand out the same address.
#include <libpq-fe.h>

#include <mutex>
#include <stdexcept>

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
      throw std::runtime_error(std::string("PostgreSQL: ") + err);
    }
    return r;
  }
  void run(const char* sql, std::initializer_list<std::string> params = {}) {
    PQclear(exec(sql, params));
  }

 private:
  PGconn* conn_;
};

class PgTransaction : public Transaction {
 public:
  explicit PgTransaction(Pg& pg) : pg_(pg) {}
  Snapshot read() override { return readRow(pg_, true); }
  uint64_t revision() override { return readRevision(pg_, true); }
  void write(const std::string& document) override {
    pg_.run("UPDATE state SET revision = revision + 1, document = $1 WHERE id = 1", {document});
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
    PGresult* r = pg.exec(lock ? "SELECT revision FROM state WHERE id = 1 FOR UPDATE"
                               : "SELECT revision FROM state WHERE id = 1");
    uint64_t rev = PQntuples(r) == 1 ? std::stoull(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return rev;
  }
  static Snapshot readRow(Pg& pg, bool lock) {
    PGresult* r = pg.exec(lock ? "SELECT revision, document FROM state WHERE id = 1 FOR UPDATE"
                               : "SELECT revision, document FROM state WHERE id = 1");
    Snapshot s;
    if (PQntuples(r) == 1)
      s = {std::stoull(PQgetvalue(r, 0, 0)), PQgetvalue(r, 0, 1)};
    PQclear(r);
    return s;
  }

 private:
  Pg& pg_;
};

class PostgresStore : public Store {
 public:
  explicit PostgresStore(const std::string& url) : pg_(url) {
    pg_.run(
        "CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), revision BIGINT "
        "NOT NULL,"
        " document TEXT NOT NULL)");
    pg_.run(
        "INSERT INTO state (id, revision, document) VALUES (1, 0, '') ON CONFLICT (id) DO NOTHING");
    pg_.run(
        "CREATE TABLE IF NOT EXISTS dvr_host_macs (host VARCHAR(255) PRIMARY KEY,"
        " mac_address VARCHAR(32) UNIQUE NOT NULL)");
  }

  void transact(const std::function<void(Transaction&)>& fn) override {
    std::lock_guard<std::mutex> lock(mu_);  // one connection: one transaction at a time
    pg_.run("BEGIN");
    try {
      PgTransaction tx(pg_);
      fn(tx);
      pg_.run("COMMIT");
    } catch (...) {
      pg_.run("ROLLBACK");
      throw;
    }
  }

  Snapshot read() override {
    std::lock_guard<std::mutex> lock(mu_);
    return PgTransaction::readRow(pg_, false);
  }
  uint64_t revision() override {
    std::lock_guard<std::mutex> lock(mu_);
    return PgTransaction::readRevision(pg_, false);
  }

 private:
  std::mutex mu_;
  Pg pg_;
};

}  // namespace

std::unique_ptr<Store> openPostgresStore(const std::string& url) {
  return std::make_unique<PostgresStore>(url);
}

}  // namespace dvr::store
