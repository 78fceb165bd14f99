#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "data/jpeg.h"
#include "data/transforms.h"
#include "runtime/error.h"

namespace fs = std::filesystem;

namespace augur::data {

namespace {

bool is_jpeg_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg";
}

}  // namespace

ImageFolderDataset::ImageFolderDataset(const ImageFolderOptions& options) : options_(options) {
  AUGUR_ARG_CHECK(options.size > 0, "image folder: size must be > 0, got ", options.size);
  const fs::path folder =
      fs::path(options.root) / (options.split == Split::Train ? "train" : "val");
  folder_ = folder.string();
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) AUGUR_THROW(folder_, ": no such folder");
  for (const fs::directory_entry& e : fs::directory_iterator(folder)) {
    if (e.is_directory()) classes_.push_back(e.path().filename().string());
  }
  if (classes_.empty()) AUGUR_THROW(folder_, ": no class folders");
  std::sort(classes_.begin(), classes_.end());
  for (size_t k = 0; k < classes_.size(); ++k) {
    const fs::path dir = folder / classes_[k];
    std::vector<std::string> files;
    for (const fs::directory_entry& e :
         fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink)) {
      if (e.is_regular_file() && is_jpeg_name(e.path())) files.push_back(e.path().string());
    }
    if (files.empty()) AUGUR_THROW(dir.string(), ": class folder holds no JPEG files");
    std::sort(files.begin(), files.end());
    for (std::string& f : files) samples_.push_back({std::move(f), static_cast<int64_t>(k)});
  }
}

std::string ImageFolderDataset::name() const {
  return detail::concat("image folder ", split_name(options_.split), " (", folder_, ")");
}

int64_t ImageFolderDataset::label(int64_t index) const {
  check_index(index);
  return samples_[static_cast<size_t>(index)].label;
}

const std::string& ImageFolderDataset::path(int64_t index) const {
  check_index(index);
  return samples_[static_cast<size_t>(index)].path;
}

void ImageFolderDataset::image(int64_t index, float* hwc, Random* rng) const {
  const RgbImage img = read_jpeg(path(index));
  const ImageU8 src{img.pixels.data(), img.h, img.w, 3};
  if (rng) {
    random_resized_crop_flip(src, options_.size, *rng, hwc);
  } else {
    resize_center_crop(src, eval_resize_for(options_.size), options_.size, hwc);
  }
}

}  // namespace augur::data
