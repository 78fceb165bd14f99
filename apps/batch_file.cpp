#include "apps/batch_file.h"

#include <cstring>

#include "models/safetensors.h"
#include "runtime/error.h"

namespace augur {

HostBatch read_batch(const std::string& path) {
  const SafetensorsFile f = SafetensorsFile::read(path);
  for (const char* key : {"images", "labels"})
    if (!f.contains(key))
      throw Error("batch file '" + path + "' has no tensor '" + key +
                  "' (expected images F32 [N,C,H,W] and labels I64 [N])");
  const auto& im = f.entry("images");
  const auto& lb = f.entry("labels");
  if (im.dtype != "F32" || im.shape.size() != 4)
    throw Error("batch file '" + path + "': 'images' must be F32 [N, C, H, W], is " + im.dtype +
                " of rank " + std::to_string(im.shape.size()));
  if (lb.dtype != "I64" || lb.shape.size() != 1 || lb.shape[0] != im.shape[0])
    throw Error("batch file '" + path + "': 'labels' must be I64 [" + std::to_string(im.shape[0]) +
                "]");
  HostBatch b;
  b.n = im.shape[0];
  b.c = im.shape[1];
  b.h = im.shape[2];
  b.w = im.shape[3];
  if (b.n < 1) throw Error("batch file '" + path + "' holds no samples");
  if (b.c < 1 || b.h < 1 || b.w < 1)
    throw Error("batch file '" + path + "': 'images' has an empty dimension (shape [" +
                std::to_string(b.n) + ", " + std::to_string(b.c) + ", " + std::to_string(b.h) +
                ", " + std::to_string(b.w) + "])");
  std::vector<float> nchw(static_cast<size_t>(im.numel()));
  std::memcpy(nchw.data(), f.data("images"), im.bytes());
  b.images_nhwc.resize(nchw.size());
  for (int64_t n = 0; n < b.n; ++n)
    for (int64_t c = 0; c < b.c; ++c)
      for (int64_t y = 0; y < b.h; ++y)
        for (int64_t x = 0; x < b.w; ++x)
          b.images_nhwc[((n * b.h + y) * b.w + x) * b.c + c] =
              nchw[((n * b.c + c) * b.h + y) * b.w + x];
  b.labels.resize(static_cast<size_t>(b.n));
  std::memcpy(b.labels.data(), f.data("labels"), lb.bytes());
  return b;
}

}  // namespace augur
