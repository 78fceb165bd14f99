#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <utility>

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

// The class sub-folders of a split, sorted (byte order).
std::vector<std::string> class_folders(const fs::path& folder) {
  std::vector<std::string> out;
  for (const fs::directory_entry& e : fs::directory_iterator(folder))
    if (e.is_directory()) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

ImageFolderDataset::ImageFolderDataset(const ImageFolderOptions& options) : options_(options) {
  AUGUR_ARG_CHECK(options.size > 0, "image folder: size must be > 0, got ", options.size);
  const fs::path folder =
      fs::path(options.root) / (options.split == Split::Train ? "train" : "val");
  folder_ = folder.string();
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) AUGUR_THROW(folder_, ": no such folder");
  const std::vector<std::string> here = class_folders(folder);
  if (here.empty()) AUGUR_THROW(folder_, ": no class folders");
  // The training split's classes number both splits (torchvision's one class list).
  const fs::path train = fs::path(options.root) / "train";
  classes_ =
      options.split == Split::Train || !fs::is_directory(train, ec) ? here : class_folders(train);
  for (const std::string& c : here)
    if (!std::binary_search(classes_.begin(), classes_.end(), c))
      AUGUR_THROW((folder / c).string(), ": class '", c, "' is not among the ", classes_.size(),
                  " classes of ", train.string(), " (one class list numbers both splits)");
  for (size_t k = 0; k < classes_.size(); ++k) {
    if (!std::binary_search(here.begin(), here.end(), classes_[k])) continue;  // none here
    const fs::path dir = folder / classes_[k];
    // (folder, file name) pairs: sorting them orders files as torchvision does (a sorted
    // os.walk, then sorted names), so a folder's own files precede its sub-folders'.
    std::vector<std::pair<std::string, std::string>> files;
    for (const fs::directory_entry& e :
         fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink)) {
      if (e.is_regular_file() && is_jpeg_name(e.path()))
        files.emplace_back(e.path().parent_path().string(), e.path().filename().string());
    }
    if (files.empty()) AUGUR_THROW(dir.string(), ": class folder holds no JPEG files");
    std::sort(files.begin(), files.end());
    for (const auto& [parent, file] : files)
      samples_.push_back({(fs::path(parent) / file).string(), static_cast<int64_t>(k)});
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
