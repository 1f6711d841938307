#include "kernel/files.h"

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "kernel/unique_fd.h"

namespace dvr::kernel {

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeFile(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush())
      throw KernelError("write " + tmp, EIO);
  }
  checkErrno(std::rename(tmp.c_str(), path.c_str()) == 0, "rename " + tmp);
}

}  // namespace dvr::kernel
