// IDX files as the Fashion-MNIST reader takes them, plain or gzipped. The first byte chooses:
// 0, the rest is the file; 1, the rest is the file's content gzipped here (so mutations reach
// the IDX parser through zlib); otherwise the rest is taken as a gzip stream (corrupt ones).
#include <zlib.h>

#include <cstdint>
#include <vector>

#include "data/idx.h"
#include "fuzz_util.h"
#include "runtime/error.h"

namespace {

std::vector<uint8_t> gzip(const uint8_t* data, size_t size) {
  z_stream z{};
  if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) __builtin_trap();
  std::vector<uint8_t> out(deflateBound(&z, size) + 32);
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = static_cast<uInt>(size);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) __builtin_trap();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int mode = data[0] % 3;
  std::vector<uint8_t> bytes(data + 1, data + size);
  if (mode == 1) bytes = gzip(bytes.data(), bytes.size());
  const std::string path = augur::fuzz::write_file("images.idx", bytes.data(), bytes.size());
  for (int rank : {1, 3}) {
    try {
      const augur::data::IdxArray a = augur::data::read_idx(path, rank);
      size_t n = 1;
      for (int64_t d : a.dims) n *= size_t(d);
      if (a.dims.size() != size_t(rank) || a.data.size() != n) __builtin_trap();
    } catch (const augur::Error&) {
    }
  }
  return 0;
}
