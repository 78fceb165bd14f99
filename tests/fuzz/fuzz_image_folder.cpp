// An image-folder data set (root/train/<class>/*.jpg, root/val/<class>/*.jpg) built from the
// input: NUL-separated pairs of a relative path and that file's bytes (paths are kept inside
// the root), then both splits opened and their first images decoded and resized.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/image_folder.h"
#include "fuzz_util.h"
#include "runtime/error.h"

namespace {

// A path from the input that cannot leave the root: no "..", no leading "/".
std::string inside_root(std::string p) {
  std::string out;
  for (const auto& part : std::filesystem::path(p)) {
    const std::string s = part.string();
    if (s.empty() || s == "/" || s == "." || s == "..") continue;
    out += (out.empty() ? "" : "/") + s;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  augur::fuzz::clear_scratch();
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0 && parts.size() < 16) {
      parts.emplace_back();
    } else {
      parts.back().push_back(static_cast<char>(data[i]));
    }
  }
  for (size_t i = 0; i + 1 < parts.size(); i += 2) {
    const std::string rel = inside_root(parts[i]);
    if (rel.empty() || rel.size() > 100) continue;
    augur::fuzz::try_write_file(
        "root/" + rel, reinterpret_cast<const uint8_t*>(parts[i + 1].data()), parts[i + 1].size());
  }
  for (auto split : {augur::data::Split::Train, augur::data::Split::Test}) {
    try {
      augur::data::ImageFolderOptions o;
      o.root = augur::fuzz::scratch_dir() + "/root";
      o.split = split;
      o.size = 16;
      const augur::data::ImageFolderDataset ds(o);
      std::vector<float> img(16 * 16 * 3);
      for (int64_t k = 0; k < ds.size() && k < 3; ++k) {
        if (ds.label(k) < 0 || ds.label(k) >= ds.num_classes()) __builtin_trap();
        ds.image(k, img.data(), nullptr);
      }
    } catch (const augur::Error&) {
    }
  }
  return 0;
}
