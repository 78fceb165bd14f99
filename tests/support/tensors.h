// Moving test data between std::vector and tensors on any device: the runtime's helpers,
// under the names the tests use.
#pragma once

#include "runtime/host_data.h"

namespace augur::test {

using augur::make_tensor;
using augur::to_vector;

}  // namespace augur::test
