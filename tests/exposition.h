// A strict reader of Prometheus' text exposition format (0.0.4), for tests: every line
// is a HELP, a TYPE or a sample of a declared family; histograms' buckets are cumulative
// and end at +Inf with the count. Throws std::runtime_error naming the line it refuses.
#pragma once

#include <cmath>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>

namespace dvr::test {

struct Exposition {
  std::map<std::string, std::string> types;  // family -> counter/gauge/histogram
  std::map<std::string, double> samples;     // 'name{labels}' as written -> value
  double value(const std::string& sample) const {
    auto it = samples.find(sample);
    return it == samples.end() ? NAN : it->second;
  }
};

inline Exposition parseExposition(const std::string& text) {
  Exposition e;
  static const std::regex help(R"re(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*)re");
  static const std::regex type(
      R"re(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))re");
  static const std::regex sample(
      R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\})? (\S+))re");
  std::istringstream in(text);
  std::string line;
  int n = 0;
  std::map<std::string, double> last_bucket;
  while (std::getline(in, line)) {
    ++n;
    std::smatch m;
    auto fail = [&](const std::string& why) {
      throw std::runtime_error("line " + std::to_string(n) + ": " + why + ": " + line);
    };
    if (std::regex_match(line, m, help))
      continue;
    if (std::regex_match(line, m, type)) {
      e.types[m[1]] = m[2];
      continue;
    }
    if (!std::regex_match(line, m, sample))
      fail("not a sample");
    std::string name = m[1];
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s = suffix;
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
          e.types.count(name.substr(0, name.size() - s.size())) &&
          e.types[name.substr(0, name.size() - s.size())] == "histogram")
        family = name.substr(0, name.size() - s.size());
    }
    if (!e.types.count(family))
      fail("no TYPE for " + family);
    std::string v = m[m.size() - 1];
    double value = v == "+Inf" ? INFINITY : v == "-Inf" ? -INFINITY : std::stod(v);
    std::string labels = m[2];
    e.samples[name + labels] = value;
    if (name != family && name.ends_with("_bucket")) {
      std::string series =
          family + std::regex_replace(labels, std::regex(R"re(,?le="[^"]*")re"), "");
      if (value < last_bucket[series])
        fail("buckets are not cumulative");
      last_bucket[series] = value;
    }
  }
  return e;
}

}  // namespace dvr::test
