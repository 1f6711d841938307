// The CLI's pictures: `dvr trace … --svg/--png` and `dvr draw`, written through
// draw/graphviz.h; each file written is printed, so scripts can pick it up.
#pragma once

#include <string>

namespace dvr::cli {

struct PictureFiles {
  std::string svg, png;
  bool any() const { return !svg.empty() || !png.empty(); }
};

void writePictures(const std::string& dot, const PictureFiles& files);

}  // namespace dvr::cli
