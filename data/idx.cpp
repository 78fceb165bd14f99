#include "data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>

#include "runtime/error.h"

namespace augur::data {

namespace {

// gzread reads gzip streams and passes plain files through unchanged.
class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path), f_(gzopen(path.c_str(), "rb")) {
    if (!f_) AUGUR_THROW(path, ": cannot open");
    gzbuffer(f_, 1 << 18);
  }
  ~GzFile() { gzclose(f_); }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Reads up to `bytes`; returns how many were read (fewer only at the end of the data).
  size_t read(void* dst, size_t bytes) {
    size_t done = 0;
    while (done < bytes) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(bytes - done, 1u << 30));
      const int got = gzread(f_, static_cast<char*>(dst) + done, chunk);
      if (got < 0) {
        int code = 0;
        const char* msg = gzerror(f_, &code);
        AUGUR_THROW(path_, ": corrupt compressed data (", msg ? msg : "zlib error", ")");
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    // A gzip stream cut short reads as a short count plus a pending Z_BUF_ERROR.
    int code = Z_OK;
    const char* msg = gzerror(f_, &code);
    if (code != Z_OK && code != Z_STREAM_END)
      AUGUR_THROW(path_, ": truncated or corrupt compressed data (", msg ? msg : "zlib error", ")");
    return done;
  }

 private:
  std::string path_;
  gzFile f_;
};

uint32_t big_endian(const unsigned char* b) {
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
}

}  // namespace

IdxArray read_idx(const std::string& path, int rank) {
  GzFile f(path);
  unsigned char header[4];
  if (f.read(header, 4) != 4) AUGUR_THROW(path, ": truncated (no IDX header)");
  const uint32_t magic = big_endian(header);
  const uint32_t expected = 0x800u + static_cast<uint32_t>(rank);
  if (magic != expected)
    AUGUR_THROW(path, ": wrong magic number ", magic, " (expected ", expected,
                ", an IDX file of unsigned bytes with ", rank, " dimensions)");
  IdxArray a;
  int64_t total = 1;
  for (int i = 0; i < rank; ++i) {
    unsigned char b[4];
    if (f.read(b, 4) != 4) AUGUR_THROW(path, ": truncated (in the dimension sizes)");
    const int64_t d = big_endian(b);
    a.dims.push_back(d);
    // Beyond any real dataset; stops garbage sizes from asking for absurd allocations. Checked
    // before the multiplication, which two 32-bit sizes would overflow.
    const int64_t limit = int64_t(1) << 36;
    if (d != 0 && total > limit / d)
      AUGUR_THROW(path, ": implausible dimension sizes (over ", limit, " bytes of data)");
    total *= d;
  }
  // Read in geometrically growing chunks (64 KiB, then as much as is already there) so a
  // garbage size fails as truncation having allocated at most twice the bytes really present:
  // a gzipped file's decompressed size is not known before it is read.
  size_t have = 0;
  while (have < static_cast<size_t>(total)) {
    const size_t want =
        std::min(std::max<size_t>(size_t(1) << 16, have), static_cast<size_t>(total) - have);
    a.data.resize(have + want);
    const size_t got = f.read(a.data.data() + have, want);
    have += got;
    if (got < want) AUGUR_THROW(path, ": truncated: ", have, " of ", total, " data bytes present");
  }
  unsigned char extra;
  if (f.read(&extra, 1) != 0)
    AUGUR_THROW(path, ": trailing bytes after the ", total, " data bytes the header declares");
  return a;
}

std::string find_idx_file(const std::string& dir, const std::string& stem) {
  const std::filesystem::path plain = std::filesystem::path(dir) / stem;
  if (std::filesystem::exists(plain)) return plain.string();
  const std::filesystem::path gz = std::filesystem::path(dir) / (stem + ".gz");
  if (std::filesystem::exists(gz)) return gz.string();
  AUGUR_THROW("IDX file not found: neither ", plain.string(), " nor ", gz.string(), " exists");
}

IdxOptions IdxOptions::fashion_mnist(const std::string& dir, Split split) {
  IdxOptions o;
  o.dir = dir;
  o.split = split;
  return o;
}

IdxOptions IdxOptions::mnist(const std::string& dir, Split split) {
  IdxOptions o;
  o.dir = dir;
  o.split = split;
  o.kind = "mnist";
  o.normalization = mnist_normalization();
  o.augment.flip = false;
  return o;
}

IdxDataset::IdxDataset(const IdxOptions& options)
    : SmallImageDataset(options.augment), options_(options) {
  AUGUR_ARG_CHECK(options.num_classes > 0 && options.num_classes <= 256,
                  "IDX dataset: num_classes must be in [1, 256], got ", options.num_classes);
  const std::string prefix = options.split == Split::Train ? "train" : "t10k";
  images_path_ = find_idx_file(options.dir, prefix + "-images-idx3-ubyte");
  labels_path_ = find_idx_file(options.dir, prefix + "-labels-idx1-ubyte");
  IdxArray images = read_idx(images_path_, 3);
  IdxArray labels = read_idx(labels_path_, 1);
  if (images.dims[0] != labels.dims[0])
    AUGUR_THROW(images_path_, " holds ", images.dims[0], " images but ", labels_path_, " holds ",
                labels.dims[0], " labels");
  if (images.dims[1] == 0 || images.dims[2] == 0)
    AUGUR_THROW(images_path_, ": empty images (", images.dims[1], "x", images.dims[2], ")");
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] >= options.num_classes)
      AUGUR_THROW(labels_path_, ": label ", int(labels.data[i]), " of sample ", i,
                  " out of range [0, ", options.num_classes, ")");
  }
  shape_ = {images.dims[1], images.dims[2], 1};
  images_ = std::move(images.data);
  labels_ = std::move(labels.data);
}

std::string IdxDataset::name() const {
  return detail::concat(options_.kind, " ", split_name(options_.split), " (", options_.dir, ")");
}

int64_t IdxDataset::label(int64_t index) const {
  check_index(index);
  return labels_[static_cast<size_t>(index)];
}

const uint8_t* IdxDataset::pixels(int64_t index, std::vector<uint8_t>&) const {
  return images_.data() + static_cast<size_t>(index) * static_cast<size_t>(shape_.numel());
}

}  // namespace augur::data
