// Reading a Neutron request body: the resource wrapper, the attributes a call accepts, and
// typed arguments. Every failure is Neutron's 400 naming the attribute.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "server/neutron_api.h"

namespace dvr::server {

// The JSON body, or its `wrapper` object ({"network": {...}}) with its attributes
// converted and checked as Neutron's attribute map says (server/attribute_map.h);
// nullptr: the whole body, unchecked.
nlohmann::json parseBody(const ApiRequest& req, const char* wrapper);

// Whether arrays and objects in the JSON text nest more than `limit` levels: checked on
// the raw text before parsing, so that no recursion over a value (copying, printing,
// comparing, a client's parser reading it back) can run out of stack.
bool nestedDeeperThan(std::string_view text, int limit);

// Refuses attributes outside `allowed` (and, by name, those that are read-only).
void allowOnly(const nlohmann::json& body, const std::set<std::string>& allowed,
               const std::set<std::string>& read_only = {});

std::string str(const nlohmann::json& body, const char* key, const std::string& fallback = "");
bool boolean(const nlohmann::json& body, const char* key, bool fallback);
std::optional<long> integer(const nlohmann::json& body, const char* key);

// Attributes every resource takes.
extern const std::set<std::string> kCommonAttrs;
std::set<std::string> with(std::set<std::string> a, std::initializer_list<const char*> more);

}  // namespace dvr::server
