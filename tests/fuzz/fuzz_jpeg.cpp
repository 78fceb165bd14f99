// JPEG decoding as the image-folder reader does it, with its size limits.
#include <cstdint>

#include "data/jpeg.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const augur::data::RgbImage im = augur::data::decode_jpeg(data, size, "fuzz.jpg");
    if (im.pixels.size() != size_t(im.h) * size_t(im.w) * 3) __builtin_trap();
  } catch (const augur::Error&) {
  }
  return 0;
}
