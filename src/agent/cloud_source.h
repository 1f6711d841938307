// Where an agent learns the cloud from. Today a topology file; the API server (a later
// issue) is another implementation of the same seam.
#pragma once

#include <memory>
#include <string>

#include "model/cloud.h"

namespace dvr::agent {

class CloudSource {
 public:
  virtual ~CloudSource() = default;
  // The current cloud. Throws InputError when the source holds bad input.
  virtual model::Cloud load() = 0;
  // Blocks until the source may have changed (no fixed polling delay), `timeout_ms`
  // passed (-1: no timeout), or `stop_fd` became readable. Returns false when stopped.
  virtual bool waitForChange(int stop_fd, int timeout_ms) = 0;
};

// Follows a topology file with inotify: a write or an atomic rename both count.
std::unique_ptr<CloudSource> topologyFileSource(const std::string& path);

}  // namespace dvr::agent
