// Small dataset files written by the tests: IDX (plain and gzip), CIFAR-10 batches and
// folders of JPEGs, in a temporary folder removed afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace augur::test {

// A fresh folder under the system's temporary folder, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> read_bytes(const std::string& path);
// Gzip-compresses `bytes` into `path` with zlib's gzopen/gzwrite.
void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes);

// An IDX file's bytes: magic 0x0000080<rank>, big-endian sizes, data.
std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data,
                               uint32_t magic = 0);

// Writes train/t10k images and labels of `n` rows x cols images into `dir` (gzipped or
// not); pixel p of image i is (i * 31 + p * 7) % 256, label i is labels[i].
void write_idx_set(const std::string& dir, const std::string& prefix, int n, int rows, int cols,
                   const std::vector<uint8_t>& labels, bool gz);
uint8_t idx_pixel(int image, int p);

// A CIFAR-10 binary batch of `labels.size()` records; channel c of pixel p of record r is
// cifar_pixel(r, c, p).
void write_cifar_batch(const std::string& path, const std::vector<uint8_t>& labels);
uint8_t cifar_pixel(int record, int channel, int p);

// An h x w RGB image: a solid colour, or a smooth pattern that differs between crops.
std::vector<uint8_t> solid_rgb(int h, int w, uint8_t r, uint8_t g, uint8_t b);
std::vector<uint8_t> pattern_rgb(int h, int w, int seed);

}  // namespace augur::test
