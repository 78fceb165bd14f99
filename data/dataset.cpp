#include "data/dataset.h"

#include "runtime/error.h"

namespace augur::data {

std::string ImageShape::str() const {
  return detail::concat(h, "x", w, "x", c);
}

Split parse_split(const std::string& text) {
  if (text == "train") return Split::Train;
  if (text == "test" || text == "val") return Split::Test;
  AUGUR_THROW("unknown dataset split '", text, "' (expected train, test or val)");
}

const char* split_name(Split split) {
  return split == Split::Train ? "train" : "test";
}

Dataset::Sample Dataset::get(int64_t index, Random* rng) const {
  check_index(index);
  Sample s;
  s.image.resize(static_cast<size_t>(image_shape().numel()));
  image(index, s.image.data(), rng);
  s.label = label(index);
  return s;
}

void Dataset::check_index(int64_t index) const {
  AUGUR_ARG_CHECK(index >= 0 && index < size(), name(), ": sample ", index, " out of range [0, ",
                  size(), ")");
}

}  // namespace augur::data
