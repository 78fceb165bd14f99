// CIFAR-10's binary format (records of 1 label byte and 3,072 pixel bytes) as the test split's
// file, read whole and every record's label and pixels fetched.
#include <cstdint>

#include "data/cifar.h"
#include "fuzz_util.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  augur::fuzz::write_file("cifar/test_batch.bin", data, size);
  try {
    augur::data::CifarOptions o;
    o.dir = augur::fuzz::scratch_dir() + "/cifar";
    o.split = augur::data::Split::Test;
    const augur::data::CifarDataset ds(o);
    std::vector<float> img(32 * 32 * 3);
    for (int64_t i = 0; i < ds.size() && i < 4; ++i) {
      if (ds.label(i) < 0 || ds.label(i) >= ds.num_classes()) __builtin_trap();
      ds.image(i, img.data(), nullptr);
    }
  } catch (const augur::Error&) {
  }
  return 0;
}
