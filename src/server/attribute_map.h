// Neutron's attribute map for the resources dvr serves (network, subnet, port, router,
// floatingip): how each attribute of a request body is converted and validated, as
// neutron_lib/api/definitions declares it. Which attributes a call accepts at all is the
// write's business (request_args.h allowOnly); this only checks the values.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace dvr::server {

// Converts (booleans, integers, lists) and validates every attribute of `body` that the
// map knows for `resource`; throws Neutron's 400 for the first bad one: "Invalid input
// for <attr>. Reason: <reason>." (HTTPBadRequest), or InvalidInput for a failed
// conversion, as Neutron does.
void checkAttributes(const std::string& resource, nlohmann::json& body);

// The collections dvr serves under /v2.0 and each one's resource name in a body
// ("security-groups" -> "security_group"): the dispatch and the policy share it.
extern const std::map<std::string, std::string> kResourceOfCollection;

}  // namespace dvr::server
