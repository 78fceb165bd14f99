#include "models/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "runtime/error.h"

namespace augur {

namespace {
// The reference implementation refuses headers above 100 MB; so does Augur, so that a
// corrupt length cannot make it allocate absurd amounts.
constexpr uint64_t kMaxHeader = 100u * 1000 * 1000;

const std::map<std::string, size_t>& dtype_sizes() {
  static const std::map<std::string, size_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
      {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8}};
  return sizes;
}

[[noreturn]] void bad_file(const std::string& source, const std::string& what) {
  throw Error("safetensors file '" + source + "': " + what);
}
}  // namespace

int64_t SafetensorsEntry::numel() const {
  // A zero dimension first: the others' product alone may exceed 64 bits (parse allows that
  // only for an empty tensor).
  for (int64_t d : shape)
    if (d == 0) return 0;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

size_t safetensors_dtype_size(const std::string& dtype) {
  auto it = dtype_sizes().find(dtype);
  if (it == dtype_sizes().end()) throw Error("unknown safetensors dtype '" + dtype + "'");
  return it->second;
}

std::string safetensors_dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::BF16: return "BF16";
    case DType::F16: return "F16";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::U8: return "U8";
  }
  throw Error("dtype without a safetensors name");
}

DType dtype_from_safetensors(const std::string& dtype) {
  for (DType t :
       {DType::F32, DType::F64, DType::BF16, DType::F16, DType::I32, DType::I64, DType::U8})
    if (safetensors_dtype_name(t) == dtype) return t;
  throw Error("safetensors dtype '" + dtype + "' is not supported by Augur");
}

SafetensorsFile SafetensorsFile::read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open safetensors file '" + path + "': " + std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) throw Error("error reading safetensors file '" + path + "'");
  return parse(std::move(bytes), path);
}

SafetensorsFile SafetensorsFile::parse(std::vector<uint8_t> bytes, const std::string& source) {
  SafetensorsFile f;
  f.source_ = source;
  if (bytes.size() < 8)
    bad_file(source, "truncated: " + std::to_string(bytes.size()) +
                         " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > kMaxHeader) bad_file(source, "header length " + std::to_string(n) + " is implausible");
  if (n > bytes.size() - 8)
    bad_file(source, "header length " + std::to_string(n) + " runs past the end of the file (" +
                         std::to_string(bytes.size()) + " bytes)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + n);
  } catch (const nlohmann::json::exception& e) {
    bad_file(source, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) bad_file(source, "header is not a JSON object");
  f.data_start_ = 8 + n;
  const uint64_t data_size = bytes.size() - f.data_start_;

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) bad_file(source, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          bad_file(source, "__metadata__ value of '" + m.key() + "' is not a string");
        f.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
        !v.contains("data_offsets") || !v["dtype"].is_string() || !v["shape"].is_array() ||
        !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      bad_file(source, "tensor '" + name + "' lacks a string dtype, a shape or two data_offsets");
    SafetensorsEntry e;
    e.dtype = v["dtype"].get<std::string>();
    if (!dtype_sizes().count(e.dtype))
      bad_file(source, "tensor '" + name + "' has unknown dtype '" + e.dtype + "'");
    // Dimensions are unsigned 64-bit in the file: each must fit Augur's signed sizes, and
    // their product and byte count must not wrap (a wrapped count could pass the size check
    // below with a tiny data range).
    uint64_t numel = 1, bytes_needed = 0;
    bool wraps = false;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) bad_file(source, "tensor '" + name + "' has a bad dimension");
      const uint64_t u = d.get<uint64_t>();
      if (u > uint64_t(INT64_MAX))
        bad_file(source, "tensor '" + name + "' has dimension " + std::to_string(u) +
                             ", above the largest size Augur holds (2^63 - 1)");
      e.shape.push_back(static_cast<int64_t>(u));
      wraps |= __builtin_mul_overflow(numel, u, &numel);
    }
    wraps |= __builtin_mul_overflow(numel, safetensors_dtype_size(e.dtype), &bytes_needed);
    if (wraps || numel > uint64_t(INT64_MAX))
      bad_file(source, "tensor '" + name + "' has a shape of more elements than 64 bits count");
    const auto& off = v["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad_file(source, "tensor '" + name + "' has non-integer data_offsets");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.end < e.begin || e.end > data_size)
      bad_file(source, "tensor '" + name + "' data_offsets [" + std::to_string(e.begin) + ", " +
                           std::to_string(e.end) + ") fall outside the data area of " +
                           std::to_string(data_size) + " bytes (truncated file?)");
    if (e.bytes() != bytes_needed)
      bad_file(source, "tensor '" + name + "' spans " + std::to_string(e.bytes()) +
                           " bytes but its dtype and shape need " + std::to_string(bytes_needed));
    f.entries_[name] = e;
  }

  // The tensors must tile the data area exactly.
  std::vector<std::pair<uint64_t, std::string>> order;
  for (const auto& [name, e] : f.entries_) order.emplace_back(e.begin, name);
  std::sort(order.begin(), order.end());
  uint64_t cursor = 0;
  for (const auto& [begin, name] : order) {
    const SafetensorsEntry& e = f.entries_[name];
    if (begin < cursor)
      bad_file(source, "tensor '" + name + "' overlaps the tensor before it at byte " +
                           std::to_string(begin));
    if (begin > cursor)
      bad_file(source, "hole in the data area before tensor '" + name + "' (bytes " +
                           std::to_string(cursor) + " to " + std::to_string(begin) + ")");
    cursor = e.end;
  }
  if (cursor != data_size)
    bad_file(source, "data area has " + std::to_string(data_size - cursor) +
                         " bytes not covered by any tensor");
  f.bytes_ = std::move(bytes);
  return f;
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end())
    throw Error("safetensors file '" + source_ + "' has no tensor '" + name + "'");
  return it->second;
}

const uint8_t* SafetensorsFile::data(const std::string& name) const {
  return bytes_.data() + data_start_ + entry(name).begin;
}

void SafetensorsWriter::add(const std::string& name, const std::string& dtype,
                            std::vector<int64_t> shape, const void* data, size_t bytes) {
  AUGUR_ARG_CHECK(name != "__metadata__" && !name.empty(), "invalid tensor name '", name, "'");
  int64_t numel = 1;
  for (int64_t d : shape) {
    AUGUR_ARG_CHECK(d >= 0, "tensor '", name, "' has a negative dimension");
    AUGUR_ARG_CHECK(!__builtin_mul_overflow(numel, d, &numel), "tensor '", name,
                    "' has more elements than 64 bits count");
  }
  AUGUR_ARG_CHECK(static_cast<size_t>(numel) * safetensors_dtype_size(dtype) == bytes, "tensor '",
                  name, "': ", bytes, " bytes do not match dtype ", dtype, " and its shape");
  Pending p{dtype, std::move(shape), {}};
  const auto* b = static_cast<const uint8_t*>(data);
  p.data.assign(b, b + bytes);
  tensors_[name] = std::move(p);
}

void SafetensorsWriter::add_metadata(const std::string& key, const std::string& value) {
  metadata_[key] = value;
}

std::vector<uint8_t> SafetensorsWriter::serialize() const {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  uint64_t offset = 0;
  for (const auto& [name, p] : tensors_) {
    header[name] = {
        {"dtype", p.dtype}, {"shape", p.shape}, {"data_offsets", {offset, offset + p.data.size()}}};
    offset += p.data.size();
  }
  std::string text = header.dump();
  // Pad with spaces so the data area starts 8-byte aligned, as the reference writer does.
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  std::vector<uint8_t> out;
  out.reserve(8 + text.size() + offset);
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  out.insert(out.end(), text.begin(), text.end());
  for (const auto& [name, p] : tensors_) out.insert(out.end(), p.data.begin(), p.data.end());
  return out;
}

void SafetensorsWriter::write(const std::string& path) const {
  write_file_atomically(path, serialize());
}

}  // namespace augur
