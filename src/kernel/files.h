// Small files the kernel layer keeps for the programs it runs (daemon configurations,
// link-state files): read whole, written whole.
#pragma once

#include <optional>
#include <string>

namespace dvr::kernel {

// The file's bytes, or nothing when it cannot be read.
std::optional<std::string> readFile(const std::string& path);
// Whole or not at all (a temporary file renamed over it): a reader never sees half of
// it. Throws KernelError.
void writeFile(const std::string& path, const std::string& content);

}  // namespace dvr::kernel
