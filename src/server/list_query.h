// The query string of a GET on a collection or a resource, as Neutron reads it: filters
// (?attr=value, OR within one attribute; tags, tags-any, not-tags, not-tags-any), fields=,
// and the pagination and sorting parameters limit, marker, sort_key, sort_dir,
// page_reverse. A filter on an attribute the resource does not have is Neutron's 400
// "[attr] is invalid attribute for filtering"; a bad limit, marker, sort_key or sort_dir
// is Neutron's 400 too. Pagination and sorting themselves are not done: the whole list
// is answered, in the order it was made.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace dvr::server {

using Query = std::multimap<std::string, std::string>;

// Throws ApiError 400 for a query Neutron refuses on `collection` ("networks", …).
void checkListQuery(const std::string& collection, const Query& query);

// The items that pass the query's filters, each cut to its fields= (all when none).
nlohmann::json filtered(const std::string& collection, const nlohmann::json& items,
                        const Query& query);

}  // namespace dvr::server
