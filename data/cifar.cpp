#include "data/cifar.h"

#include <filesystem>
#include <fstream>

#include "runtime/error.h"

namespace fs = std::filesystem;

namespace augur::data {

std::vector<std::string> cifar_file_names(Split split, int train_batches) {
  if (split == Split::Test) return {"test_batch.bin"};
  std::vector<std::string> names;
  for (int i = 1; i <= train_batches; ++i)
    names.push_back(detail::concat("data_batch_", i, ".bin"));
  return names;
}

CifarDataset::CifarDataset(const CifarOptions& options)
    : SmallImageDataset(options.augment), options_(options) {
  AUGUR_ARG_CHECK(options.train_batches >= 1, "CIFAR-10: train_batches must be >= 1, got ",
                  options.train_batches);
  const std::vector<std::string> names = cifar_file_names(options.split, options.train_batches);
  fs::path dir = options.dir;
  if (!fs::exists(dir / names[0]) && fs::exists(dir / "cifar-10-batches-bin" / names[0]))
    dir /= "cifar-10-batches-bin";
  for (const std::string& n : names) {
    const fs::path p = dir / n;
    if (!fs::exists(p))
      AUGUR_THROW("CIFAR-10 file not found: ", p.string(), " (looked in ", options.dir,
                  " and its cifar-10-batches-bin/)");
    files_.push_back(p.string());
  }
  for (const std::string& f : files_) read_file(f);
}

void CifarDataset::read_file(const std::string& path) {
  std::error_code ec;
  const uintmax_t bytes = fs::file_size(path, ec);
  if (ec) AUGUR_THROW(path, ": cannot read its size (", ec.message(), ")");
  if (bytes == 0 || bytes % kRecordBytes != 0)
    AUGUR_THROW(path, ": size ", bytes, " bytes is not a positive multiple of the ", kRecordBytes,
                "-byte CIFAR-10 record (truncated or not a CIFAR-10 binary batch)");
  std::ifstream in(path, std::ios::binary);
  if (!in) AUGUR_THROW(path, ": cannot open");
  std::vector<uint8_t> buf(static_cast<size_t>(bytes));
  if (!in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(bytes)))
    AUGUR_THROW(path, ": read failed");
  const int64_t records = static_cast<int64_t>(bytes) / kRecordBytes;
  const int64_t plane = kSide * kSide;
  const size_t base = images_.size();
  images_.resize(base + static_cast<size_t>(records * 3 * plane));
  for (int64_t r = 0; r < records; ++r) {
    const uint8_t* rec = buf.data() + r * kRecordBytes;
    if (rec[0] >= 10)
      AUGUR_THROW(path, ": label ", int(rec[0]), " of record ", r, " out of range [0, 10)");
    labels_.push_back(rec[0]);
    uint8_t* dst = images_.data() + base + static_cast<size_t>(r * 3 * plane);
    for (int64_t p = 0; p < plane; ++p)
      for (int64_t c = 0; c < 3; ++c) dst[p * 3 + c] = rec[1 + c * plane + p];
  }
}

std::string CifarDataset::name() const {
  return detail::concat("cifar10 ", split_name(options_.split), " (", options_.dir, ")");
}

int64_t CifarDataset::label(int64_t index) const {
  check_index(index);
  return labels_[static_cast<size_t>(index)];
}

const uint8_t* CifarDataset::pixels(int64_t index, std::vector<uint8_t>&) const {
  return images_.data() + static_cast<size_t>(index * 3 * kSide * kSide);
}

}  // namespace augur::data
