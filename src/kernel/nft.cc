#include "kernel/nft.h"

#include <nftables/libnftables.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>

#include "kernel/netns.h"

namespace dvr::kernel {
namespace {

// One element as dvr renders it (plan/nft_tables.cc): ifnames quoted, " . " between
// concatenated parts, " : " between a map's key and value.
std::string renderPart(const nlohmann::json& v, const std::string& type) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  return type == "ifname" ? "\"" + s + "\"" : s;
}

std::string renderKey(const nlohmann::json& key, const nlohmann::json& type) {
  if (key.is_object() && key.contains("concat")) {
    std::string out;
    const auto& parts = key["concat"];
    for (size_t i = 0; i < parts.size(); ++i) {
      out += (i ? " . " : "") +
             renderPart(parts[i], type.is_array() ? type[i].get<std::string>() : "");
    }
    return out;
  }
  return renderPart(key, type.is_string() ? type.get<std::string>() : "");
}

}  // namespace

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
  if (nft_run_cmd_from_buffer(ctx_, script.c_str()) != 0) {
    std::string err = nft_ctx_get_error_buffer(ctx_);
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
  auto tables = nlohmann::json::parse(runCapture("list tables", true), nullptr, false);
  if (tables.is_discarded() || !tables.contains("nftables"))
    return out;
  static const std::regex kTag("comment \"(dvr:[0-9a-f]+)\"");
  for (const auto& item : tables["nftables"]) {
    if (!item.contains("table") || item["table"]["name"] != name)
      continue;
    std::string family = item["table"]["family"];
    ObservedNftTable t;
    t.family = family;
    std::smatch m;
    std::string text = runCapture("list table " + family + " " + name, false);
    if (std::regex_search(text, m, kTag))
      t.tag = m[1];
    auto listing = nlohmann::json::parse(runCapture("list table " + family + " " + name, true),
                                         nullptr, false);
    if (!listing.is_discarded()) {
      for (const auto& obj : listing["nftables"]) {
        const nlohmann::json* set = obj.contains("set")   ? &obj["set"]
                                    : obj.contains("map") ? &obj["map"]
                                                          : nullptr;
        if (!set)
          continue;
        auto& elems = t.elements[(*set)["name"].get<std::string>()];
        if (!set->contains("elem"))
          continue;
        for (const auto& e : (*set)["elem"]) {
          if (obj.contains("map") && e.is_array()) {
            elems.insert(renderKey(e[0], (*set)["type"]) + " : " + renderKey(e[1], (*set)["map"]));
          } else {
            elems.insert(renderKey(e, (*set)["type"]));
          }
        }
      }
    }
    out[family] = std::move(t);
  }
  return out;
}

}  // namespace dvr::kernel
