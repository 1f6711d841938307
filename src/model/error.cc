#include "model/error.h"

namespace dvr {

InputError::InputError(std::string source, std::vector<Problem> problems)
    : std::runtime_error(render(source, problems)),
      source_(std::move(source)),
      problems_(std::move(problems)) {}

std::string InputError::render(const std::string& source, const std::vector<Problem>& problems) {
  std::string out;
  for (const auto& p : problems) {
    if (!out.empty()) {
      out += '\n';
    }
    out += source;
    if (p.line > 0) {
      out += ":" + std::to_string(p.line);
    }
    out += ": " + p.object + ": " + p.message;
  }
  return out;
}

}  // namespace dvr
