// Prints a trace hop by hop (text, or JSON for tools). Rewritten header fields are
// marked with '*', so the seed's MAC/IP rewrites stand out.
#pragma once

#include <string>

#include "trace/tracer.h"

namespace dvr::trace {

std::string renderText(const TraceResult& result);
std::string renderJson(const TraceResult& result);

}  // namespace dvr::trace
