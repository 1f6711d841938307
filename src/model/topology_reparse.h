// Reads a topology file again and again as it changes (the agent follows its file): the
// VMs, the part of a file that grows with the cloud, are read one by one and kept by
// their text, so that a file of 1,000 VMs with one more reads that one VM and copies the
// rest, instead of parsing all of it with yaml-cpp on every change (40–60 ms per pass).
//
// Gives what parseTopology gives, lines included, or throws what it throws: a file this
// does not recognize (no block `vms:` section at the top level, anchors, aliases, tags,
// block scalars or tabs in it) and any problem at all are handed to parseTopology whole.
#pragma once

#include <string>
#include <unordered_map>

#include "model/topology.h"

namespace dvr::model {

class TopologyReparser {
 public:
  Topology parse(const std::string& yaml_text, const std::string& source);
  // How many VM entries the last parse read (the others came from the last parse).
  size_t lastRead() const { return last_read_; }

 private:
  // An entry's text -> its VM, `line` counted from the entry's first line (0).
  std::unordered_map<std::string, VmSpec> vms_;
  size_t last_read_ = 0;
};

}  // namespace dvr::model
