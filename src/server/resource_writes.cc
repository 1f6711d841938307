#include "server/resource_writes.h"

namespace dvr::server {

WriteOutcome write(const ResourceWrites& kind, ApiState& s, const WriteRequest& w) {
  if (w.method == "DELETE") {
    kind.remove(s, w.id);
    return {204, {}, nullptr};
  }
  bool creating = w.method == "POST";
  std::string id = w.id;
  if (creating)
    id = kind.create(s, w);
  else
    kind.update(s, w);
  return {creating ? 201 : 200, {}, [show = kind.show, id](const View& v) { return show(v, id); }};
}

}  // namespace dvr::server
