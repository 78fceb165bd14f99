#include "pipeline/unit_profiler.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/resnet.h"
#include "runtime/context.h"
#include "runtime/host_data.h"
#include "runtime/output_file.h"
#include "runtime/random.h"
#include "runtime/stream.h"
#include "runtime/tensor.h"
#include "runtime/thread_pool.h"

namespace augur {

namespace {

constexpr const char* kFormat = "augur-unit-profile";
constexpr int kVersion = 1;

Tensor random_tensor(Shape shape, Random& rng, const Device& device, const Stream& stream) {
  std::vector<float> host(size_t(shape.numel()));
  for (float& v : host) v = float(rng.normal());
  return make_tensor(host, shape, device, stream);
}

int64_t owned_bytes(const Saved& saved) {
  int64_t n = 0;
  for (const Tensor& t : saved.owned) n += int64_t(t.bytes());
  for (const Saved& child : saved.children) n += owned_bytes(child);
  return n;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

int64_t per_sample(int64_t bytes, int64_t micro_batch) {
  return (bytes + micro_batch - 1) / micro_batch;
}

// Forward and backward times of one unit, and the bytes its forward kept.
UnitCost measure_unit(const ModelSpec& spec, size_t index, int64_t micro_batch,
                      const Device& device, const Stream& stream, int repeats, uint64_t seed) {
  const UnitSpec& unit = spec.units[index];
  const StageNet net = build_stage(spec, index, index + 1);
  std::vector<float> weights, state;
  initialize_stage(net, seed, &weights, &state);
  const Tensor w = make_tensor(weights, Shape{net.params.size()}, device, stream);
  const Tensor st = make_tensor(state, Shape{net.state.size()}, device, stream);
  const Tensor g = Tensor::zeros(Shape{net.params.size()}, DType::F32, device, stream);
  const Shape in = Shape::nhwc(micro_batch, unit.in_size, unit.in_size, unit.in_channels);
  const Shape out = net.net->output_shape(in);
  Random rng = Random::for_name(seed, "profile:" + unit.name);
  const Tensor x = random_tensor(in, rng, device, stream);
  const Tensor dy = random_tensor(out, rng, device, stream);

  const Pass pass = Pass::train(stream, w, g, st);
  // A stage's first unit still returns its input gradient unless it is the model's first.
  const bool need_input_grad = index > 0;

  UnitCost cost;
  cost.name = unit.name;
  cost.param_count = net.params.parameter_count();
  cost.input_bytes_per_sample = per_sample(int64_t(x.bytes()), micro_batch);
  cost.activation_bytes_per_sample = per_sample(int64_t(dy.bytes()), micro_batch);
  std::vector<double> forward, backward;
  for (int run = 0; run <= repeats; ++run) {  // run 0 warms up (allocator, cuDNN plans)
    Event start(device, true), mid(device, true), end(device, true);
    Saved saved;
    start.record(stream);
    (void)net.net->forward(pass, saved, x);
    mid.record(stream);
    const Tensor dx = net.net->backward(pass, saved, dy, need_input_grad);
    end.record(stream);
    end.synchronize();
    if (run == 0) {
      cost.saved_bytes_per_sample = per_sample(owned_bytes(saved), micro_batch);
      continue;
    }
    forward.push_back(start.elapsed_ms(mid));
    backward.push_back(mid.elapsed_ms(end));
  }
  cost.forward_ms = median(forward);
  cost.backward_ms = median(backward);
  return cost;
}

[[noreturn]] void profile_error(const std::string& path, const std::string& what) {
  throw Error("unit profile '" + path + "': " + what);
}

const nlohmann::json& field(const nlohmann::json& object, const char* key, const std::string& where,
                            const std::string& path) {
  if (!object.is_object() || !object.contains(key))
    profile_error(path, where + " has no field '" + key + "'");
  return object.at(key);
}

std::string string_field(const nlohmann::json& o, const char* key, const std::string& where,
                         const std::string& path) {
  const nlohmann::json& v = field(o, key, where, path);
  if (!v.is_string()) profile_error(path, where + "." + key + " must be a string");
  return v.get<std::string>();
}

int64_t count_field(const nlohmann::json& o, const char* key, const std::string& where,
                    const std::string& path) {
  const nlohmann::json& v = field(o, key, where, path);
  if (!v.is_number_integer() || v.get<int64_t>() < 0)
    profile_error(path, where + "." + key + " must be a non-negative integer, got " + v.dump());
  return v.get<int64_t>();
}

double ms_field(const nlohmann::json& o, const char* key, const std::string& where,
                const std::string& path) {
  const nlohmann::json& v = field(o, key, where, path);
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0)
    profile_error(path,
                  where + "." + key + " must be a non-negative number of ms, got " + v.dump());
  return v.get<double>();
}

}  // namespace

UnitProfile profile_units(const ModelSpec& spec, int64_t micro_batch, const Device& device,
                          int repeats, uint64_t seed) {
  AUGUR_ARG_CHECK(micro_batch >= 1, "profile_units: micro-batch must be at least 1, got ",
                  micro_batch);
  AUGUR_ARG_CHECK(repeats >= 1, "profile_units: repeats must be at least 1, got ", repeats);
  require_device(device);
  const DeviceGuard guard(device);
  const Stream stream = device.is_cpu() ? Stream::cpu() : Stream::create(device);
  UnitProfile p;
  p.model = spec.name;
  p.options = spec.options;
  p.micro_batch = micro_batch;
  p.device = device.str();
  p.device_description = device.is_cpu()
                             ? "cpu: " + std::to_string(ThreadPool::global().size()) + " threads"
                             : DeviceContext::get(device).description();
  p.repeats = repeats;
  for (size_t u = 0; u < spec.units.size(); ++u)
    p.units.push_back(measure_unit(spec, u, micro_batch, device, stream, repeats, seed));
  return p;
}

void save_profile_json(const UnitProfile& p, const std::string& path) {
  nlohmann::json units = nlohmann::json::array();
  for (const UnitCost& u : p.units) {
    units.push_back({{"name", u.name},
                     {"forward_ms", u.forward_ms},
                     {"backward_ms", u.backward_ms},
                     {"param_count", u.param_count},
                     {"input_bytes_per_sample", u.input_bytes_per_sample},
                     {"activation_bytes_per_sample", u.activation_bytes_per_sample},
                     {"saved_bytes_per_sample", u.saved_bytes_per_sample}});
  }
  const nlohmann::json j = {{"format", kFormat},
                            {"version", kVersion},
                            {"model", p.model},
                            {"num_classes", p.options.num_classes},
                            {"in_channels", p.options.in_channels},
                            {"image_size", p.options.image_size},
                            {"micro_batch", p.micro_batch},
                            {"device", p.device},
                            {"device_description", p.device_description},
                            {"repeats", p.repeats},
                            {"units", units}};
  write_file_atomically(path, j.dump(2) + "\n");
}

UnitProfile load_profile_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) profile_error(path, "cannot open for reading");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    profile_error(path, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) profile_error(path, "the top level must be a JSON object");
  if (string_field(j, "format", "the profile", path) != kFormat)
    profile_error(path, "format is not '" + std::string(kFormat) + "'");
  if (count_field(j, "version", "the profile", path) != kVersion)
    profile_error(path, "unsupported version " + j.at("version").dump() + " (this build reads " +
                            std::to_string(kVersion) + ")");
  UnitProfile p;
  p.model = string_field(j, "model", "the profile", path);
  p.options.num_classes = int(count_field(j, "num_classes", "the profile", path));
  p.options.in_channels = int(count_field(j, "in_channels", "the profile", path));
  p.options.image_size = int(count_field(j, "image_size", "the profile", path));
  p.micro_batch = count_field(j, "micro_batch", "the profile", path);
  if (p.micro_batch < 1) profile_error(path, "micro_batch must be at least 1");
  p.device = string_field(j, "device", "the profile", path);
  if (j.contains("device_description"))
    p.device_description = string_field(j, "device_description", "the profile", path);
  p.repeats = int(count_field(j, "repeats", "the profile", path));
  const nlohmann::json& units = field(j, "units", "the profile", path);
  if (!units.is_array() || units.empty()) profile_error(path, "units must be a non-empty array");
  for (size_t i = 0; i < units.size(); ++i) {
    const std::string where = "units[" + std::to_string(i) + "]";
    const nlohmann::json& e = units[i];
    if (!e.is_object()) profile_error(path, where + " must be an object");
    UnitCost u;
    u.name = string_field(e, "name", where, path);
    u.forward_ms = ms_field(e, "forward_ms", where, path);
    u.backward_ms = ms_field(e, "backward_ms", where, path);
    u.param_count = count_field(e, "param_count", where, path);
    u.input_bytes_per_sample = count_field(e, "input_bytes_per_sample", where, path);
    u.activation_bytes_per_sample = count_field(e, "activation_bytes_per_sample", where, path);
    u.saved_bytes_per_sample = count_field(e, "saved_bytes_per_sample", where, path);
    p.units.push_back(u);
  }
  return p;
}

void check_profile_matches(const UnitProfile& p, const ModelSpec& spec, int64_t micro_batch,
                           const std::string& source) {
  auto fail = [&](const std::string& what) {
    throw Error("unit profile '" + source + "' does not match " + spec.name + ": " + what);
  };
  if (p.model != spec.name) fail("it profiles " + p.model);
  const ResNetOptions& a = p.options;
  const ResNetOptions& b = spec.options;
  if (a.num_classes != b.num_classes || a.in_channels != b.in_channels ||
      a.image_size != b.image_size) {
    fail("measured with " + std::to_string(a.num_classes) + " classes, " +
         std::to_string(a.in_channels) + " input channels, " + std::to_string(a.image_size) +
         "px images; the model has " + std::to_string(b.num_classes) + ", " +
         std::to_string(b.in_channels) + ", " + std::to_string(b.image_size) + "px");
  }
  if (p.units.size() != spec.units.size())
    fail(std::to_string(p.units.size()) + " units in the profile, " +
         std::to_string(spec.units.size()) + " in the model");
  for (size_t i = 0; i < p.units.size(); ++i) {
    if (p.units[i].name != spec.units[i].name)
      fail("unit " + std::to_string(i) + " is '" + p.units[i].name + "' in the profile, '" +
           spec.units[i].name + "' in the model");
  }
  if (micro_batch > 0 && p.micro_batch != micro_batch)
    fail("measured at micro-batch " + std::to_string(p.micro_batch) + ", the run uses " +
         std::to_string(micro_batch));
}

}  // namespace augur
