#include "data/jpeg.h"

#include <turbojpeg.h>

#include <fstream>
#include <iterator>

#include "runtime/error.h"
#include "runtime/limits.h"
#include "runtime/output_file.h"

namespace augur::data {

namespace {

// One handle per thread and direction: handles are not thread-safe, and creating one per
// image would cost more than small decodes.
struct Handle {
  explicit Handle(bool compress) : h(compress ? tjInitCompress() : tjInitDecompress()) {
    if (!h) AUGUR_THROW("libturbojpeg: cannot create a handle (", tjGetErrorStr2(nullptr), ")");
  }
  ~Handle() { tjDestroy(h); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  tjhandle h;
};

tjhandle decompressor() {
  thread_local Handle handle(false);
  return handle.h;
}

tjhandle compressor() {
  thread_local Handle handle(true);
  return handle.h;
}

}  // namespace

RgbImage decode_jpeg(const uint8_t* data, size_t bytes, const std::string& source) {
  tjhandle tj = decompressor();
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, data, static_cast<unsigned long>(bytes), &w, &h, &subsamp,
                          &colorspace) != 0)
    AUGUR_THROW(source, ": not a readable JPEG (", tjGetErrorStr2(tj), ")");
  if (w <= 0 || h <= 0) AUGUR_THROW(source, ": JPEG with empty size ", w, "x", h);
  // The header's size is checked before the pixels are allocated or decoded: a 1 kB file
  // may claim 65,500 x 65,500 pixels (12 GB and minutes of decoding).
  const int64_t pixels = int64_t(w) * int64_t(h);
  if (w > limits::kJpegSide || h > limits::kJpegSide || pixels > limits::kJpegPixels)
    AUGUR_THROW(source, ": JPEG of ", w, "x", h, " pixels is over the limit (at most ",
                limits::kJpegSide, " a side and ", limits::kJpegPixels, " pixels)");
  // Entropy-coded data costs at least about 2 bits per 8x8 block even for a flat image
  // (Huffman DC and end-of-block codes): far fewer bytes than that is a header claiming
  // pixels the file does not hold, which libjpeg would invent row by row.
  if (int64_t(bytes) * 4096 < pixels)
    AUGUR_THROW(source, ": JPEG header claims ", w, "x", h, " pixels but the file has only ", bytes,
                " bytes (damaged or truncated)");
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  const int channels = cmyk ? 4 : 3;
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * channels);
  if (tjDecompress2(tj, data, static_cast<unsigned long>(bytes), px.data(), w, 0, h,
                    cmyk ? TJPF_CMYK : TJPF_RGB, 0) != 0) {
    const std::string msg = tjGetErrorStr2(tj);
    // libjpeg's text for JWRN_JPEG_EOF, the one warning that means missing data.
    const bool truncated = msg.find("Premature end") != std::string::npos;
    if (tjGetErrorCode(tj) != TJERR_WARNING || truncated)
      AUGUR_THROW(source, ": cannot decode the JPEG (", msg, ")");
  }
  RgbImage out;
  out.h = h;
  out.w = w;
  if (!cmyk) {
    out.pixels = std::move(px);
    return out;
  }
  out.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (size_t i = 0; i < static_cast<size_t>(w) * h; ++i) {
    const unsigned k = px[i * 4 + 3];
    for (int c = 0; c < 3; ++c)
      out.pixels[i * 3 + c] = static_cast<uint8_t>(px[i * 4 + c] * k / 255);
  }
  return out;
}

RgbImage read_jpeg(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) AUGUR_THROW(path, ": cannot open");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  if (in.bad()) AUGUR_THROW(path, ": read failed");
  if (bytes.empty()) AUGUR_THROW(path, ": empty file, not a readable JPEG");
  return decode_jpeg(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> encode_jpeg(const uint8_t* rgb, int h, int w, int quality) {
  tjhandle tj = compressor();
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  if (tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &buf, &size, TJSAMP_420, quality, 0) != 0) {
    const std::string msg = tjGetErrorStr2(tj);
    tjFree(buf);
    AUGUR_THROW("JPEG encoding of a ", w, "x", h, " image failed (", msg, ")");
  }
  std::vector<uint8_t> out(buf, buf + size);
  tjFree(buf);
  return out;
}

void write_jpeg(const std::string& path, const uint8_t* rgb, int h, int w, int quality) {
  const std::vector<uint8_t> bytes = encode_jpeg(rgb, h, w, quality);
  write_file_atomically(path, bytes);
}

}  // namespace augur::data
