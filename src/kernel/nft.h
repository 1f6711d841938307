// nftables for one network namespace through libnftables: each script is one kernel
// transaction (all or nothing). The context is created inside the namespace and stays
// bound to it.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

struct nft_ctx;

namespace dvr::kernel {

struct ObservedNftTable {
  std::string family;
  std::string tag;  // the table's comment ("dvr:<hash of its structure>")
  std::map<std::string, std::set<std::string>>
      elements;  // set/map name -> elements, rendered as dvr renders them
};

class Nft {
 public:
  Nft(int netns_fd, std::string ns_label);
  ~Nft();
  Nft(const Nft&) = delete;
  Nft& operator=(const Nft&) = delete;

  // Runs `script` as one transaction; throws naming the namespace and nft's error.
  void run(const std::string& script);
  // The table `name` of each family that has one.
  std::map<std::string, ObservedNftTable> listTables(const std::string& name);

 private:
  std::string runCapture(const std::string& cmd, bool json);
  nft_ctx* ctx_ = nullptr;
  std::string label_;
};

}  // namespace dvr::kernel
