// A range of a flat parameter arena and whether weight decay applies to it: what the layer
// code describes (BatchNorm and bias parameters may be excluded) and the optimizer reads.
#pragma once

#include <cstdint>

namespace augur {

struct DecayRange {
  int64_t offset = 0;
  int64_t count = 0;
  bool decay = true;
};

}  // namespace augur
