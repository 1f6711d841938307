#include "cli/pictures.h"

#include <iostream>

#include "draw/graphviz.h"

namespace dvr::cli {

void writePictures(const std::string& dot, const PictureFiles& files) {
  if (!files.svg.empty()) {
    draw::renderToFile(dot, draw::Format::Svg, files.svg);
    std::cerr << "wrote " << files.svg << "\n";
  }
  if (!files.png.empty()) {
    draw::renderToFile(dot, draw::Format::Png, files.png);
    std::cerr << "wrote " << files.png << "\n";
  }
}

}  // namespace dvr::cli
