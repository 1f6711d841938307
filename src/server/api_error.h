// Neutron's error contract: an HTTP status and {"NeutronError": {type, message, detail}}.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "model/net.h"

namespace dvr::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string type, const std::string& message)
      : std::runtime_error(message), status_(status), type_(std::move(type)) {}
  int status() const { return status_; }
  const std::string& type() const { return type_; }

 private:
  int status_;
  std::string type_;
};

inline ApiError badRequest(const std::string& msg, std::string type = "HTTPBadRequest") {
  return ApiError(400, std::move(type), msg);
}
inline ApiError notFound(const std::string& msg, std::string type = "HTTPNotFound") {
  return ApiError(404, std::move(type), msg);
}
inline ApiError conflict(const std::string& msg, std::string type) {
  return ApiError(409, std::move(type), msg);
}

// {"NeutronError": {type, message, detail}}, as Neutron answers.
inline nlohmann::json errorBody(const ApiError& e) {
  return {{"NeutronError", {{"type", e.type()}, {"message", e.what()}, {"detail", ""}}}};
}

// The body as text. A message may quote what the client sent (a query value, a path) in
// bytes that are not UTF-8; they are replaced rather than failing the answer.
inline std::string errorText(const ApiError& e) {
  return errorBody(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// An IP address argument, or Neutron's 400 for it.
inline Ipv4 ipArg(const std::string& text, const char* what) {
  auto ip = Ipv4::parse(text);
  if (!ip)
    throw badRequest(std::string("Invalid input for ") + what + ". Reason: '" + text +
                     "' is not a valid IP address.");
  return *ip;
}

}  // namespace dvr::server
