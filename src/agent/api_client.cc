#include "agent/api_client.h"

#include <httplib.h>

namespace dvr::agent {
namespace {

std::optional<ApiReply> reply(const httplib::Result& res) {
  if (!res)
    return std::nullopt;
  return ApiReply{res->status, res->body};
}

}  // namespace

ApiClient::ApiClient(std::string url, ApiTimeouts timeouts)
    : url_(std::move(url)), http_(std::make_unique<httplib::Client>(url_)) {
  http_->set_connection_timeout(timeouts.connect.count());
  http_->set_read_timeout(timeouts.read.count());
  http_->set_keep_alive(true);
  http_->set_tcp_nodelay(true);
}

ApiClient::~ApiClient() = default;

void ApiClient::setHeaders(const std::map<std::string, std::string>& headers) {
  httplib::Headers h;
  for (const auto& [k, v] : headers)
    h.emplace(k, v);
  http_->set_default_headers(h);
}

std::optional<ApiReply> ApiClient::get(const std::string& path) {
  return reply(http_->Get(path));
}

std::optional<ApiReply> ApiClient::post(const std::string& path, const std::string& json) {
  return reply(http_->Post(path, json, "application/json"));
}

std::optional<ApiReply> ApiClient::put(const std::string& path, const std::string& json) {
  return reply(http_->Put(path, json, "application/json"));
}

std::optional<ApiReply> ApiClient::del(const std::string& path) {
  return reply(http_->Delete(path));
}

}  // namespace dvr::agent
