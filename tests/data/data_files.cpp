#include "tests/data/data_files.h"

#include <zlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <unistd.h>

namespace fs = std::filesystem;

namespace augur::test {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  const fs::path p = fs::temp_directory_path() / ("augur-data-test-" + std::to_string(::getpid()) +
                                                  "-" + std::to_string(counter++));
  fs::remove_all(p);
  fs::create_directories(p);
  path_ = p.string();
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  gzFile f = gzopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path);
  const int n = gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  if (n != static_cast<int>(bytes.size())) throw std::runtime_error("gzwrite failed: " + path);
}

std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data,
                               uint32_t magic) {
  if (magic == 0) magic = 0x800u + static_cast<uint32_t>(dims.size());
  std::vector<uint8_t> out;
  const auto put = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
  };
  put(magic);
  for (uint32_t d : dims) put(d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

uint8_t idx_pixel(int image, int p) {
  return static_cast<uint8_t>((image * 31 + p * 7) % 256);
}

void write_idx_set(const std::string& dir, const std::string& prefix, int n, int rows, int cols,
                   const std::vector<uint8_t>& labels, bool gz) {
  std::vector<uint8_t> pixels;
  for (int i = 0; i < n; ++i)
    for (int p = 0; p < rows * cols; ++p) pixels.push_back(idx_pixel(i, p));
  const std::string ext = gz ? ".gz" : "";
  const auto write = gz ? write_gzip : write_bytes;
  write(dir + "/" + prefix + "-images-idx3-ubyte" + ext,
        idx_bytes({uint32_t(n), uint32_t(rows), uint32_t(cols)}, pixels));
  write(dir + "/" + prefix + "-labels-idx1-ubyte" + ext,
        idx_bytes({uint32_t(labels.size())}, labels));
}

uint8_t cifar_pixel(int record, int channel, int p) {
  return static_cast<uint8_t>((record * 17 + channel * 85 + p * 3) % 256);
}

void write_cifar_batch(const std::string& path, const std::vector<uint8_t>& labels) {
  std::vector<uint8_t> bytes;
  for (size_t r = 0; r < labels.size(); ++r) {
    bytes.push_back(labels[r]);
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 1024; ++p) bytes.push_back(cifar_pixel(static_cast<int>(r), c, p));
  }
  write_bytes(path, bytes);
}

std::vector<uint8_t> solid_rgb(int h, int w, uint8_t r, uint8_t g, uint8_t b) {
  std::vector<uint8_t> px;
  for (int i = 0; i < h * w; ++i) px.insert(px.end(), {r, g, b});
  return px;
}

std::vector<uint8_t> pattern_rgb(int h, int w, int seed) {
  std::vector<uint8_t> px;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      px.insert(px.end(), {static_cast<uint8_t>((x * 255) / (w - 1)),
                           static_cast<uint8_t>((y * 255) / (h - 1)),
                           static_cast<uint8_t>((x * y + seed * 40) % 256)});
  return px;
}

}  // namespace augur::test
