#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "models/safetensors.h"
#include "runtime/error.h"

using namespace augur;

namespace {
std::vector<uint8_t> with_header(const std::string& json, size_t data_bytes) {
  std::vector<uint8_t> out(8 + json.size() + data_bytes, 0);
  const uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(out.data() + 8, json.data(), json.size());
  return out;
}
void expect_rejected(const std::vector<uint8_t>& bytes, const std::string& fragment) {
  INFO("expecting an error containing: " << fragment);
  CHECK_THROWS_WITH(SafetensorsFile::parse(bytes, "bad.safetensors"),
                    Catch::Contains("'bad.safetensors'") && Catch::Contains(fragment));
}
}  // namespace

TEST_CASE("safetensors round trip is bit-exact", "[models]") {
  const std::vector<float> w = {1.5f, -0.f, 3.25e-38f, 1e30f, -7.f, 0.1f};
  const int64_t count = 42;
  SafetensorsWriter writer;
  writer.add("conv1.weight", "F32", {1, 2, 3}, w.data(), w.size() * 4);
  writer.add("bn1.num_batches_tracked", "I64", {}, &count, 8);
  writer.add_metadata("format", "pt");
  const std::vector<uint8_t> bytes = writer.serialize();
  CHECK((bytes.size() - 8 - 48) % 8 == 0);  // data starts 8-aligned

  const std::string path = "roundtrip_test.safetensors";
  writer.write(path);
  const SafetensorsFile f = SafetensorsFile::read(path);
  std::remove(path.c_str());
  CHECK(f.metadata().at("format") == "pt");
  const auto& e = f.entry("conv1.weight");
  CHECK(e.dtype == "F32");
  CHECK(e.shape == std::vector<int64_t>{1, 2, 3});
  CHECK(std::memcmp(f.data("conv1.weight"), w.data(), 24) == 0);
  CHECK(f.entry("bn1.num_batches_tracked").shape.empty());
  int64_t back = 0;
  std::memcpy(&back, f.data("bn1.num_batches_tracked"), 8);
  CHECK(back == 42);
  // Serialising what was read gives the same bytes.
  SafetensorsWriter again;
  for (const auto& [name, entry] : f.entries())
    again.add(name, entry.dtype, entry.shape, f.data(name), entry.bytes());
  again.add_metadata("format", "pt");
  CHECK(again.serialize() == bytes);
}

TEST_CASE("corrupt safetensors files are rejected with clear errors", "[models]") {
  expect_rejected({1, 2, 3}, "truncated");
  expect_rejected({200, 0, 0, 0, 0, 0, 0, 0, '{', '}'}, "runs past the end");
  expect_rejected(with_header("{not json", 0), "not valid JSON");
  expect_rejected(with_header("[1,2]", 0), "not a JSON object");
  expect_rejected(with_header(R"({"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", 4),
                  "unknown dtype 'F33'");
  expect_rejected(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4),
                  "need 8");
  expect_rejected(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4),
                  "outside the data area");
  expect_rejected(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                              8),
                  "overlaps");
  expect_rejected(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
                  "hole");
  expect_rejected(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 12),
                  "not covered");
  expect_rejected(with_header(R"({"a":{"dtype":"F32","shape":[1]}})", 4), "data_offsets");
  expect_rejected(with_header(R"({"__metadata__":{"k":1}})", 0), "not a string");
}

TEST_CASE("crafted shapes whose sizes overflow 64 bits are rejected", "[models]") {
  // [2^64 - 1, 2^64 - 1] multiplies to 1 modulo 2^64; read as signed, each is -1.
  expect_rejected(with_header(R"({"a":{"dtype":"U8","shape":[18446744073709551615,)"
                              R"(18446744073709551615],"data_offsets":[0,1]}})",
                              1),
                  "dimension 18446744073709551615");
  // [2^32, 2^32] wraps to 0 elements, which an empty data range would match.
  expect_rejected(with_header(R"({"a":{"dtype":"U8","shape":[4294967296,4294967296],)"
                              R"("data_offsets":[0,0]}})",
                              0),
                  "more elements than 64 bits");
  // 2^62 F32 elements are 2^64 bytes: zero after wrapping.
  expect_rejected(with_header(R"({"a":{"dtype":"F32","shape":[4611686018427387904],)"
                              R"("data_offsets":[0,0]}})",
                              0),
                  "more elements than 64 bits");
  // A zero dimension beside a large one is an empty tensor, and is read as one.
  const auto empty = with_header(
      R"({"a":{"dtype":"F32","shape":[9223372036854775807,0],"data_offsets":[0,0]}})", 0);
  CHECK(SafetensorsFile::parse(empty, "ok.safetensors").entry("a").numel() == 0);
  const auto wide = with_header(
      R"({"a":{"dtype":"F32","shape":[4611686018427387904,2,0],"data_offsets":[0,0]}})", 0);
  CHECK(SafetensorsFile::parse(wide, "ok.safetensors").entry("a").numel() == 0);
  SafetensorsWriter w;
  CHECK_THROWS_WITH(w.add("a", "U8", {int64_t(1) << 40, int64_t(1) << 40}, nullptr, 0),
                    Catch::Contains("64 bits"));
}

TEST_CASE("a truncated copy of a valid file is rejected", "[models]") {
  const std::vector<float> w(100, 1.f);
  SafetensorsWriter writer;
  writer.add("w", "F32", {100}, w.data(), 400);
  std::vector<uint8_t> bytes = writer.serialize();
  bytes.resize(bytes.size() - 1);
  expect_rejected(bytes, "outside the data area");
}

TEST_CASE("missing files and failed writes leave clear errors", "[models]") {
  CHECK_THROWS_WITH(SafetensorsFile::read("/nonexistent/x.safetensors"),
                    Catch::Contains("/nonexistent/x.safetensors"));
  SafetensorsWriter writer;
  const float v = 1.f;
  writer.add("v", "F32", {1}, &v, 4);
  CHECK_THROWS_WITH(
      writer.write("/nonexistent/dir/x.safetensors"),
      Catch::Contains("/nonexistent/dir") && Catch::Contains("/nonexistent/dir/x.safetensors"));
  CHECK_THROWS_WITH(writer.add("w", "F32", {2}, &v, 4), Catch::Contains("'w'"));
}

// A failed write keeping the old file is tested with the writer itself
// (tests/runtime/test_output_file.cpp); here, that a checkpoint goes through it.
TEST_CASE("a checkpoint write replaces the file whole", "[models]") {
  const std::string path = "atomic_test.safetensors";
  const float v = 2.f, w[2] = {3.f, 4.f};
  SafetensorsWriter one, two;
  one.add("v", "F32", {1}, &v, 4);
  two.add("v", "F32", {1}, &v, 4);
  two.add("w", "F32", {2}, w, 8);
  one.write(path);
  two.write(path);
  CHECK(SafetensorsFile::read(path).entries().size() == 2);
  std::remove(path.c_str());
}
