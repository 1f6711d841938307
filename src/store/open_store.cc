#include <stdexcept>
#include <string>

#include "store/store.h"

namespace dvr::store {

std::unique_ptr<Store> openSqliteStore(const std::string& path);
std::unique_ptr<Store> openPostgresStore(const std::string& url);

std::string newerSchemaMessage(const std::string& url, long version) {
  return "--db " + url + ": the database's schema version is " + std::to_string(version) +
         ", this dvr server knows versions up to " + std::to_string(kSchemaVersion) +
         ": run the newer dvr server that wrote it (nothing was changed)";
}

std::unique_ptr<Store> openStore(const std::string& url) {
  if (url.rfind("sqlite:", 0) == 0)
    return openSqliteStore(url.substr(7));
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0)
    return openPostgresStore(url);
  throw std::runtime_error("--db " + url + ": expected sqlite:PATH or postgresql://...");
}

}  // namespace dvr::store
