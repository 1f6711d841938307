// Neutron's error contract: an HTTP status and {"NeutronError": {type, message, detail}}.
#pragma once

#include <stdexcept>
#include <string>

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

}  // namespace dvr::server
