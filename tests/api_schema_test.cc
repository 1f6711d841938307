// Upgrades keep the cloud: a database written before the schema version was recorded
// (tests/data/dvr-before-schema-version.db, made by that build through the API) opens
// with every resource as that build showed it, and is recorded as version 1; a database
// of a newer layout is refused, naming both versions, and left as it was.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "api_support.h"
#include "store/store.h"

namespace dvr {
namespace {

using nlohmann::json;

const std::string kOld = std::string(DVR_SOURCE_DIR) + "/tests/data/dvr-before-schema-version.db";

// A copy of the committed database, removed afterwards.
struct OldDatabase {
  std::string path = "/tmp/dvr-schema-test-" + std::to_string(::getpid()) + ".db";
  OldDatabase() {
    std::filesystem::copy_file(kOld, path, std::filesystem::copy_options::overwrite_existing);
  }
  ~OldDatabase() {
    for (const char* suffix : {"", "-wal", "-shm"})
      ::unlink((path + suffix).c_str());
  }
};

long schemaVersion(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  if (!db.tableExists("dvr_schema"))
    return 0;
  return long(db.execAndGet("SELECT version FROM dvr_schema").getInt64());
}

TEST(ApiSchema, ADatabaseFromBeforeSchemaVersionsKeepsEveryResource) {
  OldDatabase old;
  ASSERT_EQ(schemaVersion(old.path), 0);
  std::ifstream in(std::string(DVR_SOURCE_DIR) + "/tests/data/dvr-before-schema-version.json");
  json want = json::parse(in);
  // That build showed every port with port security, but filtered none: its VM ports open
  // unfiltered, as they ran, and say so.
  // Nor had it extra_dhcp_opts: each port shows none.
  for (auto& p : want["ports"]) {
    if (p["device_owner"] == "compute:nova" || p["device_owner"] == "")
      p["port_security_enabled"] = false;
    p["extra_dhcp_opts"] = json::array();
  }
  {
    testing::ServerProcess server("sqlite:" + old.path);
    httplib::Client http(server.url());
    for (const char* c : {"networks", "subnets", "ports", "routers", "floatingips"}) {
      httplib::Result r = http.Get(std::string("/v2.0/") + c);
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      EXPECT_EQ(json::parse(r->body)[c], want[c]) << c;
    }
    httplib::Result macs = http.Get("/dvr/v1/host-macs");
    ASSERT_TRUE(macs);
    EXPECT_EQ(json::parse(macs->body)["dvr_host_macs"], want["dvr_host_macs"]);
    json agents = json::parse(http.Get("/v2.0/agents")->body)["agents"];
    std::vector<std::string> hosts;
    for (const auto& a : agents)
      hosts.push_back(a["host"].get<std::string>() + " " +
                      a["configurations"]["agent_mode"].get<std::string>());
    std::sort(hosts.begin(), hosts.end());
    EXPECT_EQ(json(hosts), want["agents"]);
    // And it goes on working: a write on the old state.
    std::string net = want["networks"][1]["id"];
    httplib::Result port =
        http.Post("/v2.0/ports", json{{"port", {{"network_id", net}}}}.dump(), "application/json");
    ASSERT_TRUE(port);
    EXPECT_EQ(port->status, 201) << port->body;
  }
  EXPECT_EQ(schemaVersion(old.path), store::kSchemaVersion);
}

TEST(ApiSchema, ANewerSchemaIsRefusedNamingBothVersionsAndLeftAsItWas) {
  OldDatabase newer;
  {
    SQLite::Database db(newer.path, SQLite::OPEN_READWRITE);
    db.exec("CREATE TABLE dvr_schema (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)");
    db.exec("INSERT INTO dvr_schema VALUES (1, 99)");
  }
  auto bytes = [](const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  std::string before = bytes(newer.path);
  testing::Result r =
      testing::sh(testing::kDvr + " server --bind 127.0.0.1:0 --db sqlite:" + newer.path + " 2>&1");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("the database's schema version is 99, this dvr server knows versions up "
                       "to 1"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(bytes(newer.path), before) << "the refused database was changed";
  EXPECT_EQ(schemaVersion(newer.path), 99);
}

}  // namespace
}  // namespace dvr

namespace dvr {
namespace {

// The same refusal on PostgreSQL, with nothing created in the refused database.
TEST(ApiSchema, ANewerPostgresqlSchemaIsRefusedAndLeftAsItWas) {
  if (!std::getenv("DVR_TEST_PG"))
    GTEST_SKIP() << "DVR_TEST_PG is not set";
  testing::TestDatabase db("postgresql");
  ASSERT_TRUE(db.ok());
  std::string name = db.url().substr(db.url().find(":///") + 4);
  name = name.substr(0, name.find('?'));
  std::string psql = "psql -qtA -h /var/run/postgresql -d " + name + " -c ";
  ASSERT_EQ(
      testing::sh(psql + "\"CREATE TABLE dvr_schema (id INTEGER PRIMARY KEY, version BIGINT NOT "
                         "NULL); INSERT INTO dvr_schema VALUES (1, 7)\"")
          .rc,
      0);
  testing::Result r =
      testing::sh(testing::kDvr + " server --bind 127.0.0.1:0 --db '" + db.url() + "' 2>&1");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("the database's schema version is 7, this dvr server knows versions up "
                       "to 1"),
            std::string::npos)
      << r.out;
  testing::Result tables =
      testing::sh(psql +
                  "\"SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE "
                  "schemaname = 'public'\"");
  EXPECT_EQ(tables.out, "dvr_schema\n") << "the refused database was changed";
}

}  // namespace
}  // namespace dvr
