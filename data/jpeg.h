// JPEG decoding and encoding with libturbojpeg (TurboJPEG 2.1 API, as in Debian 12).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace augur::data {

struct RgbImage {
  std::vector<uint8_t> pixels;  // HWC, 3 channels
  int h = 0;
  int w = 0;
};

// Decodes a JPEG held in memory to RGB. Greyscale becomes three equal channels; CMYK and
// YCCK (Adobe, inverted) become RGB as PIL converts them. libjpeg's warnings about
// recoverable damage are accepted, as PIL accepts them, except a premature end of data:
// a truncated file is an error, as it is in PIL. Errors throw naming `source`.
RgbImage decode_jpeg(const uint8_t* data, size_t bytes, const std::string& source);
// Reads and decodes a file; errors name it.
RgbImage read_jpeg(const std::string& path);

// Encodes RGB (HWC) pixels as a baseline JPEG with 4:2:0 chroma subsampling.
std::vector<uint8_t> encode_jpeg(const uint8_t* rgb, int h, int w, int quality = 90);
void write_jpeg(const std::string& path, const uint8_t* rgb, int h, int w, int quality = 90);

}  // namespace augur::data
