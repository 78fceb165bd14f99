// The batch file `augur step` reads (images F32 [N, C, H, W], labels I64 [N]).
#include <cstdint>

#include "apps/batch_file.h"
#include "fuzz_util.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = augur::fuzz::write_file("batch.safetensors", data, size);
  try {
    const augur::HostBatch b = augur::read_batch(path);
    if (b.images_nhwc.size() != size_t(b.n * b.c * b.h * b.w) || b.labels.size() != size_t(b.n))
      __builtin_trap();  // the reader's own promise
  } catch (const augur::Error&) {
  }
  return 0;
}
