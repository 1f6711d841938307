#include "server/request_args.h"

#include <algorithm>

#include "server/api_error.h"
#include "server/attribute_map.h"

namespace dvr::server {

using nlohmann::json;

json parseBody(const ApiRequest& req, const char* wrapper) {
  if (req.body.empty())
    throw badRequest("Resource body required");
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw badRequest("Failed to parse request: malformed JSON body");
  if (!wrapper)
    return j;
  if (!j.contains(wrapper) || !j[wrapper].is_object()) {
    throw badRequest(std::string("Unable to find '") + wrapper + "' in request body");
  }
  checkAttributes(wrapper, j[wrapper]);
  return j[wrapper];
}

bool nestedDeeperThan(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit)
        return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

void allowOnly(const json& body, const std::set<std::string>& allowed,
               const std::set<std::string>& read_only) {
  std::string unknown;
  for (const auto& [k, v] : body.items()) {
    if (read_only.count(k))
      throw badRequest("Cannot update read-only attribute " + k);
    if (!allowed.count(k))
      unknown += (unknown.empty() ? "" : ", ") + k;
  }
  if (!unknown.empty())
    throw badRequest("Unrecognized attribute(s) '" + unknown + "'");
}

std::string str(const json& body, const char* key, const std::string& fallback) {
  if (!body.contains(key) || body[key].is_null())
    return fallback;
  if (!body[key].is_string())
    throw badRequest(std::string("Invalid input for ") + key + ". Reason: not a string.");
  return body[key].get<std::string>();
}

bool boolean(const json& body, const char* key, bool fallback) {
  if (!body.contains(key) || body[key].is_null())
    return fallback;
  const auto& v = body[key];
  if (v.is_boolean())
    return v.get<bool>();
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    std::transform(s.begin(), s.end(), s.begin(), ::tolower);
    if (s == "true")
      return true;
    if (s == "false")
      return false;
  }
  throw badRequest(std::string("Invalid input for ") + key + ". Reason: '" + v.dump() +
                   "' is not a valid boolean value.");
}

std::optional<long> integer(const json& body, const char* key) {
  if (!body.contains(key) || body[key].is_null())
    return std::nullopt;
  const auto& v = body[key];
  if (v.is_number_integer())
    return v.get<long>();
  if (v.is_string()) {  // the CLI sends numbers as strings ("mtu": "1400")
    try {
      size_t used = 0;
      long n = std::stol(v.get<std::string>(), &used);
      if (used == v.get<std::string>().size())
        return n;
    } catch (const std::exception&) {
    }
  }
  throw badRequest(std::string("Invalid input for ") + key + ". Reason: '" + v.dump() +
                   "' is not an integer.");
}

const std::set<std::string> kCommonAttrs{"name", "description", "project_id", "tenant_id", "tags"};

std::set<std::string> with(std::set<std::string> a, std::initializer_list<const char*> more) {
  for (const char* m : more)
    a.insert(m);
  return a;
}

}  // namespace dvr::server
