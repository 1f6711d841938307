// Helpers shared by the unit tests: load the seed cloud, plan it, find things in plans.
#pragma once

#include <string>
#include <vector>

#include "ipam/resolve.h"
#include "model/topology_yaml.h"
#include "plan/cloud_index.h"
#include "plan/planner.h"

namespace dvr::testing {

inline std::string sourcePath(const std::string& rel) {
  return std::string(DVR_SOURCE_DIR) + "/" + rel;
}

inline model::Cloud seedCloud() {
  return ipam::loadCloudFile(sourcePath("examples/seed.yaml"));
}

inline std::vector<plan::HostPlan> planAllHosts(const model::Cloud& cloud) {
  plan::CloudIndex index(cloud);
  return plan::planAll(index);
}

inline const plan::HostPlan& planOf(const std::vector<plan::HostPlan>& plans,
                                    const std::string& host) {
  for (const auto& p : plans) {
    if (p.host == host)
      return p;
  }
  throw std::runtime_error("no plan for " + host);
}

}  // namespace dvr::testing
