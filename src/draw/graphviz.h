// Lays DOT text out and writes it as SVG or PNG, in this process, with Graphviz's own
// libraries (libgvc, libcgraph from Debian): no program to run, nothing to install
// beside the library. Throws std::runtime_error naming Graphviz's complaint.
#pragma once

#include <string>

namespace dvr::draw {

enum class Format { Svg, Png };

// The picture as bytes (SVG text or PNG data).
std::string render(const std::string& dot, Format format);
// Writes it to `path`.
void renderToFile(const std::string& dot, Format format, const std::string& path);

}  // namespace dvr::draw
