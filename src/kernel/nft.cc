#include "kernel/nft.h"

#include <nftables/libnftables.h>
#include <sys/mman.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "kernel/netns.h"
#include "kernel/unique_fd.h"

namespace dvr::kernel {

Nft::Nft(int netns_fd, std::string ns_label) : label_(std::move(ns_label)) {
  ScopedNetns in(netns_fd);
  ctx_ = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx_)
    throw std::runtime_error("nft_ctx_new failed in " + label_);
  nft_ctx_buffer_output(ctx_);
  nft_ctx_buffer_error(ctx_);
}

Nft::~Nft() {
  nft_ctx_free(ctx_);
}

void Nft::run(const std::string& script) {
  nft_ctx_output_set_flags(ctx_, 0);
  // Read from a file, not a buffer: under each error nft 1.0.6 shows a buffer's first
  // line, but a file's failing line, with its number.
  UniqueFd file(::memfd_create("dvr-nft", MFD_CLOEXEC));
  checkErrno(bool(file), "memfd_create");
  for (size_t off = 0; off < script.size();) {
    ssize_t n = ::write(file.get(), script.data() + off, script.size() - off);
    checkErrno(n > 0, "write nft script");
    off += size_t(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(file.get());
  if (nft_run_cmd_from_filename(ctx_, path.c_str()) != 0) {
    std::string err = nft_ctx_get_error_buffer(ctx_);
    for (size_t at; (at = err.find(path + ":")) != std::string::npos;)
      err.replace(at, path.size() + 1, "line ");
    throw std::runtime_error("nft transaction in " + label_ + " failed: " + err);
  }
}

std::string Nft::runCapture(const std::string& cmd, bool json) {
  nft_ctx_output_set_flags(ctx_, json ? NFT_CTX_OUTPUT_JSON : 0);
  int rc = nft_run_cmd_from_buffer(ctx_, cmd.c_str());
  nft_ctx_get_error_buffer(ctx_);  // drain
  std::string out = nft_ctx_get_output_buffer(ctx_);
  nft_ctx_output_set_flags(ctx_, 0);
  return rc == 0 ? out : std::string();
}

std::map<std::string, ObservedNftTable> Nft::listTables(const std::string& name) {
  std::map<std::string, ObservedNftTable> out;
  // Which families hold a table `name` (JSON: a cheap listing of tables only), then each
  // such table as text: its comment is only in the text on nftables 1.0.6, and the text
  // carries the elements too, so one listing per table is enough.
  auto tables = nlohmann::json::parse(runCapture("list tables", true), nullptr, false);
  if (tables.is_discarded() || !tables.contains("nftables"))
    return out;
  for (const auto& item : tables["nftables"]) {
    if (!item.contains("table") || item["table"]["name"] != name)
      continue;
    std::string family = item["table"]["family"];
    out[family] = parseNftListing(family, runCapture("list table " + family + " " + name, false));
  }
  return out;
}

}  // namespace dvr::kernel
