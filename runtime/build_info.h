// Versions of the libraries Augur was compiled against and those loaded at run time, for
// `augur info` and reports.
#pragma once

#include <string>
#include <vector>

namespace augur {

struct LibraryVersion {
  std::string name;
  std::string built;   // from headers at compile time
  std::string loaded;  // reported by the library at run time ("" when it cannot say)
};

std::vector<LibraryVersion> library_versions();
std::string augur_version();
std::string cuda_architectures();
int cuda_driver_version();  // 0 when no driver is installed

}  // namespace augur
