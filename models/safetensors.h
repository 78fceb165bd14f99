// The safetensors format, exactly: an 8-byte little-endian header length N, N bytes of JSON
// mapping each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the data area) plus an optional string-to-string "__metadata__", then the data
// area, which the tensors must cover without holes or overlaps. PyTorch, safetensors and
// Hugging Face tools read and write this format; Augur uses it for weights and checkpoints.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/dtype.h"
#include "runtime/output_file.h"

namespace augur {

struct SafetensorsEntry {
  std::string dtype;           // the file's spelling: "F32", "I64", "BF16", ...
  std::vector<int64_t> shape;  // empty for a 0-rank tensor
  uint64_t begin = 0;          // byte offsets into the data area
  uint64_t end = 0;
  uint64_t bytes() const { return end - begin; }
  int64_t numel() const;
};

// A whole file read into memory and validated. Every problem with the file (truncated,
// header length past the end, non-JSON or malformed header, unknown dtype, offsets that
// disagree with the shape, overlap, holes) is an augur::Error naming the file and the tensor.
class SafetensorsFile {
 public:
  static SafetensorsFile read(const std::string& path);
  static SafetensorsFile parse(std::vector<uint8_t> bytes, const std::string& source);

  const std::map<std::string, SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  const SafetensorsEntry& entry(const std::string& name) const;
  const uint8_t* data(const std::string& name) const;
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::vector<uint8_t> bytes_;
  uint64_t data_start_ = 0;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

class SafetensorsWriter {
 public:
  void add(const std::string& name, const std::string& dtype, std::vector<int64_t> shape,
           const void* data, size_t bytes);
  void add_metadata(const std::string& key, const std::string& value);
  // Serialised file contents (tensors in name order, header padded to 8 bytes).
  std::vector<uint8_t> serialize() const;
  // Writes a temporary file beside `path`, flushes it to disk, then renames it over `path`,
  // so a crash or a full disk never leaves a half-written file under the final name.
  void write(const std::string& path) const;

 private:
  struct Pending {
    std::string dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> data;
  };
  std::map<std::string, Pending> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Bytes per element of a safetensors dtype; throws for names the format does not define.
size_t safetensors_dtype_size(const std::string& dtype);
// Conversions between Augur's dtypes and the format's names.
std::string safetensors_dtype_name(DType t);
DType dtype_from_safetensors(const std::string& dtype);  // throws for dtypes Augur lacks

}  // namespace augur
