// The query string of a GET on a collection or a resource, as Neutron reads it: filters
// (?attr=value, OR within one attribute; tags, tags-any, not-tags, not-tags-any), fields=,
// and the pagination and sorting parameters limit, marker, sort_key, sort_dir,
// page_reverse. A filter on an attribute the resource does not have is Neutron's 400
// "[attr] is invalid attribute for filtering"; a bad limit, marker, sort_key or sort_dir
// is Neutron's 400 too.
//
// Sorting and pagination as Neutron's `sorting` and `pagination` extensions: the list is
// sorted by the sort_key/sort_dir pairs (creation order without any); with limit=N (N > 0)
// it is cut to N items after the marker (before it with page_reverse=True, still in sort
// order), `id` ending the sort keys so that pages never overlap, and the answer carries
// Neutron's <collection>_links: `next` unless a forward page came out short, `previous`
// unless a reverse page did, each the request's URL with the marker of the page's last
// (first) item.
#pragma once

#include <functional>
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

struct ListPage {
  nlohmann::json items;                            // filtered, sorted, paged, cut to fields=
  nlohmann::json links = nlohmann::json::array();  // <collection>_links; empty: no paging
};

// A list's answer. `url` is the request's scheme, host and path (for the links);
// `missing_marker` is the error for a marker that names no item of `items` (Neutron's
// 404 of the resource's kind).
ListPage listPage(const std::string& collection, const nlohmann::json& items, const Query& query,
                  const std::string& url,
                  const std::function<std::exception_ptr(const std::string&)>& missing_marker);

}  // namespace dvr::server
