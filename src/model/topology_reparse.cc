#include "model/topology_reparse.h"

#include <optional>
#include <string_view>
#include <vector>

#include "model/error.h"
#include "model/topology_yaml.h"

namespace dvr::model {
namespace {

struct Entry {
  size_t first_line;  // 0-based, in the file
  std::string text;   // its lines, each with its '\n'
};

struct Split {
  std::string rest;  // the file with its vms section emptied, every other line in place
  std::vector<Entry> vms;
};

size_t indentOf(std::string_view line) {
  size_t i = line.find_first_not_of(' ');
  return i == std::string_view::npos ? line.size() : i;
}

bool blankOrComment(std::string_view line) {
  size_t i = indentOf(line);
  return i == line.size() || line[i] == '#' || line[i] == '\n' || line[i] == '\r';
}

// The file's top-level `vms:` block sequence, entry by entry; nullopt for anything else.
std::optional<Split> split(const std::string& text) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    lines.emplace_back(text.data() + start, end - start);
    start = end;
  }
  size_t header = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    if (l.rfind("---", 0) == 0 || l.rfind("...", 0) == 0 || l.rfind("%", 0) == 0)
      return std::nullopt;  // documents, directives

    while (!l.empty() && (l.back() == '\n' || l.back() == ' ' || l.back() == '\r'))
      l.remove_suffix(1);
    if (l == "vms:") {
      if (header != lines.size())
        return std::nullopt;  // twice: parseTopology says so
      header = i;
    }
  }
  if (header == lines.size())
    return std::nullopt;
  size_t end = header + 1;  // the section: up to the next top-level line
  while (end < lines.size() && (lines[end].empty() || lines[end][0] == ' ' ||
                                lines[end][0] == '\n' || lines[end][0] == '#'))
    ++end;
  Split s;
  size_t indent = std::string::npos;
  std::string pending;  // blank and comment lines not placed yet
  size_t pending_from = 0;
  for (size_t i = header + 1; i < end; ++i) {
    std::string_view l = lines[i];
    // What an entry read alone could mean otherwise: anchors, aliases, tags, block
    // scalars, tabs (a '#' inside a quoted string is harmless: the entry is parsed whole).
    if (l.find_first_of("&*!|>\t%") != std::string_view::npos)
      return std::nullopt;
    // Blank and comment lines go with the entry that follows them (the last one's, with
    // the last): an entry's text is what an edit of it changes.
    if (blankOrComment(l)) {
      if (pending.empty())
        pending_from = i;
      pending += l;
      continue;
    }
    size_t at = indentOf(l);
    bool starts = l.compare(at, 2, "- ") == 0;
    if (indent == std::string::npos) {
      if (!starts)
        return std::nullopt;
      indent = at;
    }
    if (starts && at == indent) {
      s.vms.push_back({pending.empty() ? i : pending_from, pending + std::string(l)});
    } else if (at > indent && !s.vms.empty()) {
      s.vms.back().text += pending;
      s.vms.back().text += l;
    } else {
      return std::nullopt;
    }
    pending.clear();
  }
  if (!s.vms.empty())
    s.vms.back().text += pending;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i == header)
      s.rest += "vms: []\n";
    else if (i > header && i < end)
      s.rest += "\n";
    else
      s.rest += lines[i];
  }
  return s;
}

}  // namespace

Topology TopologyReparser::parse(const std::string& yaml_text, const std::string& source) {
  last_read_ = 0;
  std::optional<Split> s = split(yaml_text);
  if (!s) {
    vms_.clear();
    return parseTopology(yaml_text, source);
  }
  try {
    Topology topo = parseTopology(s->rest, source);
    std::unordered_map<std::string, VmSpec> kept;
    kept.reserve(s->vms.size());
    topo.vms.reserve(s->vms.size());
    for (Entry& e : s->vms) {
      auto it = vms_.find(e.text);
      VmSpec vm;
      if (it != vms_.end()) {
        vm = it->second;
      } else {
        // The entry alone, under a header line of its own.
        Topology one = parseTopology("vms:\n" + e.text, source);
        if (one.vms.size() != 1)
          throw InputError(source, {});
        vm = std::move(one.vms.front());
        vm.line -= 2;  // from the entry's first line
        ++last_read_;
      }
      VmSpec placed = vm;
      placed.line = int(e.first_line) + 1 + vm.line;
      kept.emplace(std::move(e.text), std::move(vm));
      topo.vms.push_back(std::move(placed));
    }
    vms_ = std::move(kept);
    return topo;
  } catch (const InputError&) {
    // Whatever is wrong, say it as the whole file's parse does (its lines, its names).
    vms_.clear();
    last_read_ = 0;
    return parseTopology(yaml_text, source);
  }
}

}  // namespace dvr::model
