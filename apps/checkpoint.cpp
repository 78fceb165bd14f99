#include "apps/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "models/state_dict.h"

namespace augur {

namespace {
std::string state_key(int stage, int index) {
  return "optimizer.stage" + std::to_string(stage) + ".state" + std::to_string(index);
}

// Every stage takes its own entries; keys no stage (and no optimizer entry) claims are an
// error, as are any a stage misses.
void import_all(const SafetensorsFile& f, Engine* engine) {
  std::vector<std::vector<float>> w(static_cast<size_t>(engine->stages())),
      st(static_cast<size_t>(engine->stages()));
  std::set<std::string> claimed;
  for (int r = 0; r < engine->stages(); ++r) {
    const StageNet& net = engine->stage_net(r);
    import_state_dict(net, f, &w[r], &st[r], /*allow_unexpected=*/true);
    for (const auto& e : net.params.entries()) claimed.insert(e.name);
    for (const auto& e : net.state.entries()) claimed.insert(e.name);
  }
  for (const auto& [name, entry] : f.entries()) {
    const std::string bare = name.rfind("module.", 0) == 0 ? name.substr(7) : name;
    if (!claimed.count(bare) && bare.rfind("optimizer.", 0) != 0 &&
        bare.rfind("predictor.", 0) != 0)
      throw Error("'" + f.source() + "' holds '" + name + "', which this model does not have");
  }
  engine->set_weights(w, st);
}
}  // namespace

namespace {

SafetensorsWriter checkpoint_writer(const Engine& engine, const TrainingState& state) {
  SafetensorsWriter out;
  // The model under torchvision names: every stage's parameters and buffers.
  const auto weights = engine.weights();
  const auto states = engine.states();
  for (int r = 0; r < engine.stages(); ++r) {
    export_parameters(engine.stage_net(r), weights[static_cast<size_t>(r)], &out);
    export_buffers(engine.stage_net(r), states[static_cast<size_t>(r)], &out);
  }
  for (int k = 0; k < 2; ++k) {
    const auto arenas = engine.optimizer_state(k);
    for (size_t r = 0; r < arenas.size(); ++r)
      if (!arenas[r].empty())
        out.add(state_key(static_cast<int>(r), k), "F32", {static_cast<int64_t>(arenas[r].size())},
                arenas[r].data(), arenas[r].size() * sizeof(float));
  }
  const auto last = engine.last_gradients();
  for (size_t r = 0; r < last.size(); ++r)
    if (!last[r].empty())
      out.add("predictor.stage" + std::to_string(r) + ".last_gradient", "F32",
              {static_cast<int64_t>(last[r].size())}, last[r].data(),
              last[r].size() * sizeof(float));
  out.add_metadata("format", "pt");
  out.add_metadata("augur.epoch", std::to_string(state.epoch));
  out.add_metadata("augur.steps_done", std::to_string(state.steps_done));
  out.add_metadata("augur.balance", state.balance);
  out.add_metadata("augur.model", state.model);
  out.add_metadata("augur.args", state.args_json);
  return out;
}

}  // namespace

void save_checkpoint(const std::string& path, const Engine& engine, const TrainingState& state) {
  checkpoint_writer(engine, state).write(path);
}

uint64_t checkpoint_bytes(const Engine& engine, const TrainingState& state) {
  return checkpoint_writer(engine, state).serialize().size();
}

namespace {

// A count from the metadata: digits only, at most 2^62 (room for the steps still to come).
int64_t parse_count(const std::string& path, const char* key, const std::string& text) {
  const bool digits =
      !text.empty() && text.size() <= 19 &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  const int64_t v = digits ? std::stoll(text) : -1;
  if (!digits || v > (int64_t(1) << 62))
    throw Error("'" + path + "': damaged training state: " + key + " = \"" + text +
                "\" is not a count of 0 to 2^62");
  return v;
}

// NaN or infinite weights would train (or evaluate) into garbage without a word.
void check_finite(const std::string& path, const Engine& engine) {
  const auto weights = engine.weights();
  for (size_t r = 0; r < weights.size(); ++r)
    for (float w : weights[r])
      if (!std::isfinite(w))
        throw Error("'" + path + "': the weights of stage " + std::to_string(r) +
                    " hold NaN or infinity (a run that diverged, or a damaged file)");
}

}  // namespace

TrainingState load_checkpoint(const std::string& path, Engine* engine) {
  const SafetensorsFile f = SafetensorsFile::read(path);
  auto meta = [&](const char* key) {
    auto it = f.metadata().find(key);
    if (it == f.metadata().end())
      throw Error("'" + path + "' is not an Augur training checkpoint (no metadata '" + key + "')");
    return it->second;
  };
  TrainingState s;
  s.epoch = parse_count(path, "augur.epoch", meta("augur.epoch"));
  s.steps_done = parse_count(path, "augur.steps_done", meta("augur.steps_done"));
  s.balance = meta("augur.balance");
  s.model = meta("augur.model");
  s.args_json = f.metadata().count("augur.args") ? f.metadata().at("augur.args") : "";
  import_all(f, engine);
  check_finite(path, *engine);
  for (int k = 0; k < 2; ++k) {
    std::vector<std::vector<float>> arenas;
    bool any = false;
    for (int r = 0; r < engine->stages(); ++r) {
      std::vector<float> a;
      if (f.contains(state_key(r, k))) {
        const auto& e = f.entry(state_key(r, k));
        if (e.dtype != "F32") throw Error("'" + path + "': " + state_key(r, k) + " is not F32");
        a.resize(static_cast<size_t>(e.numel()));
        std::memcpy(a.data(), f.data(state_key(r, k)), e.bytes());
        any = true;
      }
      arenas.push_back(std::move(a));
    }
    const auto expected = engine->optimizer_state(k);
    bool needed = false;
    for (const auto& a : expected) needed |= !a.empty();
    if (needed && !any) throw Error("'" + path + "' lacks the optimizer state this run needs");
    if (needed) engine->set_optimizer_state(k, arenas, s.steps_done);
  }
  // The gradient the extrapolating predictors keep between runs.
  std::vector<std::vector<float>> last(static_cast<size_t>(engine->stages()));
  for (int r = 0; r < engine->stages(); ++r) {
    const std::string key = "predictor.stage" + std::to_string(r) + ".last_gradient";
    if (!f.contains(key)) continue;
    const auto& e = f.entry(key);
    if (e.dtype != "F32") throw Error("'" + path + "': " + key + " is not F32");
    last[r].resize(static_cast<size_t>(e.numel()));
    std::memcpy(last[r].data(), f.data(key), e.bytes());
  }
  engine->set_last_gradients(last);
  // Optimizers without state still count their steps (schedules depend on them).
  const auto none = engine->optimizer_state(0);
  bool stateless = true;
  for (const auto& a : none) stateless &= a.empty();
  if (stateless) engine->set_optimizer_state(0, none, s.steps_done);
  return s;
}

void load_model_weights(const std::string& path, Engine* engine) {
  import_all(SafetensorsFile::read(path), engine);
  check_finite(path, *engine);
}

}  // namespace augur
