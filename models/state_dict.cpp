#include "models/state_dict.h"

#include <cmath>
#include <cstring>
#include <set>
#include <sstream>

#include "runtime/error.h"

namespace augur {

namespace {

bool is_counter(const ArenaEntry& e) {
  const std::string suffix = ".num_batches_tracked";
  return e.name.size() > suffix.size() &&
         e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

// Arena (Augur layout) -> PyTorch layout, for one entry.
std::vector<float> to_pytorch(const ArenaEntry& e, const float* src) {
  std::vector<float> out(static_cast<size_t>(e.numel()));
  if (e.shape.rank() == 4)
    krsc_to_oihw(src, out.data(), e.shape[0], e.shape[1], e.shape[2], e.shape[3]);
  else
    std::memcpy(out.data(), src, out.size() * sizeof(float));
  return out;
}

}  // namespace

void export_parameters(const StageNet& stage, const std::vector<float>& weights,
                       SafetensorsWriter* out, const std::string& prefix) {
  AUGUR_ARG_CHECK(static_cast<int64_t>(weights.size()) == stage.params.size(),
                  "export: weight arena has ", weights.size(), " elements, layout needs ",
                  stage.params.size());
  for (const ArenaEntry& e : stage.params.entries()) {
    const std::vector<float> v = to_pytorch(e, weights.data() + e.offset);
    out->add(prefix + e.name, "F32", pytorch_shape(e), v.data(), v.size() * sizeof(float));
  }
}

void export_buffers(const StageNet& stage, const std::vector<float>& state,
                    SafetensorsWriter* out) {
  AUGUR_ARG_CHECK(static_cast<int64_t>(state.size()) == stage.state.size(),
                  "export: state arena has ", state.size(), " elements, layout needs ",
                  stage.state.size());
  for (const ArenaEntry& e : stage.state.entries()) {
    if (!e.exported) continue;
    if (is_counter(e)) {
      const int64_t n = static_cast<int64_t>(std::llround(state[e.offset]));
      out->add(e.name, "I64", {}, &n, sizeof(n));
    } else {
      out->add(e.name, "F32", pytorch_shape(e), state.data() + e.offset, e.numel() * sizeof(float));
    }
  }
}

void import_state_dict(const StageNet& stage, const SafetensorsFile& file,
                       std::vector<float>* weights, std::vector<float>* state,
                       bool allow_unexpected) {
  weights->resize(static_cast<size_t>(stage.params.size()), 0.f);
  state->resize(static_cast<size_t>(stage.state.size()), 0.f);
  // Accept DataParallel's "module." prefix on every key.
  auto file_key = [&](const std::string& name) {
    if (file.contains(name)) return name;
    if (file.contains("module." + name)) return "module." + name;
    return std::string();
  };
  std::vector<std::string> problems;
  std::set<std::string> used;
  auto load = [&](const ArenaEntry& e, float* dst) {
    const std::string key = file_key(e.name);
    if (key.empty()) {
      problems.push_back("missing '" + e.name + "'");
      return;
    }
    used.insert(key);
    const SafetensorsEntry& t = file.entry(key);
    const std::vector<int64_t> want = pytorch_shape(e);
    if (is_counter(e)) {
      if (t.dtype != "I64" || !t.shape.empty()) {
        problems.push_back("'" + key + "' should be a 0-rank I64, is " + t.dtype + " " +
                           shape_str(t.shape));
        return;
      }
      int64_t n = 0;
      std::memcpy(&n, file.data(key), sizeof(n));
      *dst = static_cast<float>(n);
      return;
    }
    if (t.dtype != "F32") {
      problems.push_back("'" + key + "' has dtype " + t.dtype + ", expected F32");
      return;
    }
    if (t.shape != want) {
      problems.push_back("'" + key + "' has shape " + shape_str(t.shape) + ", expected " +
                         shape_str(want));
      return;
    }
    std::vector<float> aligned(static_cast<size_t>(e.numel()));  // file data may be unaligned
    std::memcpy(aligned.data(), file.data(key), aligned.size() * sizeof(float));
    if (e.shape.rank() == 4)
      oihw_to_krsc(aligned.data(), dst, want[0], want[1], want[2], want[3]);
    else
      std::memcpy(dst, aligned.data(), aligned.size() * sizeof(float));
  };
  for (const ArenaEntry& e : stage.params.entries()) load(e, weights->data() + e.offset);
  for (const ArenaEntry& e : stage.state.entries())
    if (e.exported) load(e, state->data() + e.offset);
  if (!allow_unexpected)
    for (const auto& [name, entry] : file.entries())
      if (!used.count(name)) problems.push_back("unexpected '" + name + "'");
  if (!problems.empty()) {
    std::ostringstream os;
    os << "cannot load '" << file.source() << "' into " << stage.spec.name << " ("
       << problems.size() << " problem" << (problems.size() > 1 ? "s" : "") << "):";
    for (const auto& p : problems) os << "\n  " << p;
    throw Error(os.str());
  }
}

}  // namespace augur
