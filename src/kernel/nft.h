// nftables for one network namespace through libnftables: each script is one kernel
// transaction (all or nothing). The context is created inside the namespace and stays
// bound to it.
#pragma once

#include <map>
#include <string>

#include "kernel/kernel_ops.h"
#include "kernel/nft_listing.h"

struct nft_ctx;

namespace dvr::kernel {

class Nft : public NftOps {
 public:
  Nft(int netns_fd, std::string ns_label);
  ~Nft() override;
  Nft(const Nft&) = delete;
  Nft& operator=(const Nft&) = delete;

  // Runs `script` as one transaction; throws naming the namespace and nft's error.
  void run(const std::string& script) override;
  // The table `name` of each family that has one.
  std::map<std::string, ObservedNftTable> listTables(const std::string& name) override;

 private:
  std::string runCapture(const std::string& cmd, bool json);
  nft_ctx* ctx_ = nullptr;
  std::string label_;
};

}  // namespace dvr::kernel
