// What dvr needs from the kernel, tried for real in a throwaway network namespace, so that
// a kernel without one of them is named before anything is built.
#pragma once

#include <string>
#include <vector>

namespace dvr::kernel {

struct MissingFeature {
  std::string feature;  // e.g. "VXLAN devices (CONFIG_VXLAN)"
  std::string error;    // the kernel's answer to the attempt
};

// Empty when everything is there. Needs CAP_SYS_ADMIN (a new network namespace).
std::vector<MissingFeature> missingKernelFeatures();

// Throws "this kernel lacks what <who> needs (nothing was changed):" and each missing
// feature with the kernel's answer, one a line.
void requireKernelFeatures(const std::string& who);

}  // namespace dvr::kernel
