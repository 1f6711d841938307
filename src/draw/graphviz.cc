#include "draw/graphviz.h"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace dvr::draw {
namespace {

// Graphviz reports through a global error hook: collect it for the exception.
std::mutex g_mu;
std::string g_errors;
int collect(char* message) {
  g_errors += message;
  return 0;
}

}  // namespace

std::string render(const std::string& dot, Format format) {
  std::lock_guard lock(g_mu);  // Graphviz keeps global state
  g_errors.clear();
  agseterrf(collect);
  std::unique_ptr<GVC_t, int (*)(GVC_t*)> gvc(gvContext(), gvFreeContext);
  if (!gvc)
    throw std::runtime_error("graphviz: no context");
  std::unique_ptr<Agraph_t, int (*)(Agraph_t*)> g(agmemread(dot.c_str()), agclose);
  if (!g)
    throw std::runtime_error("graphviz: cannot read the graph: " + g_errors);
  if (gvLayout(gvc.get(), g.get(), "dot") != 0)
    throw std::runtime_error("graphviz: layout failed: " + g_errors);
  char* data = nullptr;
  unsigned int length = 0;
  int rc = gvRenderData(gvc.get(), g.get(), format == Format::Svg ? "svg" : "png", &data, &length);
  std::string out = rc == 0 && data ? std::string(data, length) : std::string();
  gvFreeRenderData(data);
  gvFreeLayout(gvc.get(), g.get());
  if (rc != 0)
    throw std::runtime_error("graphviz: rendering failed: " + g_errors);
  return out;
}

void renderToFile(const std::string& dot, Format format, const std::string& path) {
  std::string bytes = render(dot, format);
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  if (!out)
    throw std::runtime_error("cannot write " + path);
}

}  // namespace dvr::draw
