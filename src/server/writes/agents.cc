// DELETE /v2.0/agents/<id>: forget an agent (it registers itself again when it runs).
#include "ipam/ids.h"
#include "server/api_error.h"
#include "server/resource_writes.h"

namespace dvr::server {

WriteOutcome writeAgent(ApiState& s, const WriteRequest& w) {
  if (w.method != "DELETE")
    throw ApiError(405, "HTTPMethodNotAllowed",
                   "Agents register themselves; only GET and DELETE are allowed");
  std::string host;
  for (const auto& [h, a] : s.agents.items()) {
    // Its DHCP agent's id forgets the host's agent as well: one process runs both.
    if (a.value("id", std::string()) == w.id ||
        (a.value("dhcp", false) && ipam::uuidFor("dhcp-agent:" + h) == w.id))
      host = h;
  }
  if (host.empty())
    throw notFound("Agent " + w.id + " could not be found", "AgentNotFound");
  s.agents.erase(host);
  return {204, {}, nullptr};
}

}  // namespace dvr::server
